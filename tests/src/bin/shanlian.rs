//! `shanlian`, built inside the test package so the end-to-end tests can
//! run it (see Cargo.toml).

fn main() -> std::process::ExitCode {
    shanlian_client::cli::main()
}
