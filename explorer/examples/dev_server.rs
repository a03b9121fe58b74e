//! The explorer on a development chain, for working on the web page and for
//! its browser tests: a dev network in one process (the real state machine
//! and store, the insecure dev keys of genesis/dev.toml), filled with the
//! demo year of `shanlian_ledger::demo`, committing submitted records and a
//! donation every few seconds, served like a node serves it.
//!
//! `cargo run -p shanlian-explorer --features dev --example dev_server -- [--port 8080]
//!  [--web explorer/web/dist] [--tamper proof|certificate|short-of-power|non-validator|other-record|fork] [--quiet]`
//!
//! `--tamper` makes the server lie, to test that clients catch it:
//! `proof` flips a byte of every inclusion proof it serves (bundles and
//! trace proofs), `certificate` a byte of every commit signature, and
//! `fork` serves a different history of the same genesis (other records
//! from height 2 on), as a server showing visitors different chains would.

use shanlian_explorer::dev::{build_chain, DevServer, Kind, Tamper};
use std::time::Duration;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = arg(&args, "--port")
        .map(|p| p.parse().map_err(|_| "--port N"))
        .transpose()?
        .unwrap_or(8080);
    let web = arg(&args, "--web").map(std::path::PathBuf::from);
    let quiet = args.iter().any(|a| a == "--quiet");
    let kind = match arg(&args, "--tamper").as_deref() {
        None => Kind::Honest,
        Some("fork") => Kind::Fork,
        Some("proof") => Kind::Lying(Tamper::Proof),
        Some("certificate") => Kind::Lying(Tamper::Certificate),
        Some("short-of-power") => Kind::Lying(Tamper::ShortOfPower),
        Some("non-validator") => Kind::Lying(Tamper::NonValidator),
        Some("other-record") => Kind::Lying(Tamper::OtherRecord),
        Some(other) => {
            return Err(format!(
                "--tamper {other}: proof, certificate, short-of-power, non-validator, other-record or fork"
            ))
        }
    };
    let net = build_chain(kind == Kind::Fork, false)?;
    // A block every two seconds: the pool, and a donation now and then.
    let server = DevServer::serve(net, kind, web, Duration::from_secs(2), true, Some(port))?;
    let url = &server.url;
    if quiet {
        println!("{url}");
    } else {
        let (receipt, identity, salt) = shanlian_ledger::demo::first_donor();
        println!("explorer: {url}/  (API {url}/api/v1/status, docs {url}/api/docs/)");
        println!(
            "a demo donor: receipt {receipt}, identity {identity}, salt {}",
            hex::encode(salt)
        );
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // Serve until killed.
    loop {
        std::thread::park();
    }
}
