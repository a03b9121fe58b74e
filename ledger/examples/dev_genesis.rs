//! Prints the demo network's genesis TOML (genesis/dev.toml is this
//! output; a unit test checks they agree):
//! `cargo run -p shanlian-ledger --example dev_genesis > genesis/dev.toml`
//!
//! With `--keys DIR` it also writes each member's and node's INSECURE dev
//! key as PKCS#8 PEM (genesis/dev-keys/ holds them).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (g, members) = shanlian_ledger::genesis::dev_genesis();
    let args: Vec<String> = std::env::args().collect();
    if let Some(dir) = args
        .iter()
        .position(|a| a == "--keys")
        .and_then(|i| args.get(i + 1))
    {
        // Owner-only, never over an existing file, like every key file
        // the project writes (git keeps no permissions: after a checkout,
        // `chmod 600 genesis/dev-keys/*.pem` before a node uses one).
        use shanlian_ledger::keyfile::write_new;
        for m in &members {
            let path = std::path::PathBuf::from(format!("{dir}/{}.pem", m.label));
            write_new(&path, m.key.to_pkcs8_pem()?.as_bytes())?;
            let path = std::path::PathBuf::from(format!("{dir}/{}.node.pem", m.label));
            write_new(&path, m.node_key.to_pkcs8_pem()?.as_bytes())?;
        }
    }
    println!("# The Shanlian demo network. INSECURE: every key here is derived from a");
    println!("# public label (see genesis/README.md). Never use these keys for real money.");
    println!("#");
    for m in &members {
        println!(
            "# {:<20} member key seed label \"dev/{}\", node key \"dev/{}/node\"",
            m.label, m.label, m.label
        );
    }
    println!();
    print!("{}", g.to_toml());
    Ok(())
}
