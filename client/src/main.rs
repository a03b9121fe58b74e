//! `shanlian`: see [`shanlian_client`].
fn main() -> std::process::ExitCode {
    shanlian_client::cli::main()
}
