//! `shanlian-node`: run a Shanlian node, or make a local network. See
//! `shanlian_node::cli`.

fn main() -> std::process::ExitCode {
    shanlian_node::cli::main()
}
