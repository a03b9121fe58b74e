//! `shanlian-node`: run a Shanlian node, or make a local network. See
//! `shanlian_node::cli`.

/// mimalloc: see the workspace Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    shanlian_node::cli::main()
}
