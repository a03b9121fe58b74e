//! Errors that tell an operator what to fix: a port in use, a key that
//! belongs to no member, a broken config, another chain's store.

use crate::net::{Net, BIN};
use std::process::Command;

/// A blocking GET over a plain TCP connection (the tests' HTTP client is
/// async; this one is for a synchronous test).
mod probe {
    pub fn blocking_get(url: &str) -> Result<(), std::io::Error> {
        use std::io::{Read, Write};
        let rest = url.trim_start_matches("http://");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut s = std::net::TcpStream::connect(host)?;
        write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        if out.starts_with("HTTP/1.0 200") || out.starts_with("HTTP/1.1 200") {
            Ok(())
        } else {
            Err(std::io::Error::other("not ready"))
        }
    }
}

fn run(config: &std::path::Path) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn bad_setups_are_refused_with_what_to_fix() {
    let net = Net::new(1, 0);
    let config = net.path().join("node-0/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let mut cfg: toml::Table = text.parse().unwrap();

    // The HTTP port is taken.
    let http = cfg["http"].as_str().unwrap().to_string();
    let squatter = std::net::TcpListener::bind(&http).unwrap();
    let (ok, err) = run(&config);
    assert!(!ok);
    assert!(
        err.contains("`http`") && err.contains("is the port in use?"),
        "{err}"
    );
    drop(squatter);

    // A member key that belongs to no member.
    let stranger = net.path().join("stranger.pem");
    shanlian_ledger::keyfile::write_new(
        &stranger,
        shanlian_ledger::crypto::Keypair::generate()
            .to_pkcs8_pem()
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let mut c = cfg.clone();
    c.insert("member_key".into(), stranger.display().to_string().into());
    let other = net.path().join("node-0/stranger.toml");
    std::fs::write(&other, toml::to_string(&c).unwrap()).unwrap();
    let (ok, err) = run(&other);
    assert!(!ok);
    assert!(
        err.contains("belongs to no member") && err.contains("joining"),
        "{err}"
    );

    // A config with a setting misspelt.
    cfg.insert("listen_adress".into(), "x".into());
    std::fs::write(&other, toml::to_string(&cfg).unwrap()).unwrap();
    let (ok, err) = run(&other);
    assert!(!ok);
    assert!(err.contains("listen_adress"), "{err}");
    cfg.remove("listen_adress");

    // A store of another chain under this genesis.
    let (ok, _) = {
        // Make the store with this genesis, then point the node at another.
        let mut c = cfg.clone();
        c.insert(
            "genesis".into(),
            net.path().join("genesis.toml").display().to_string().into(),
        );
        std::fs::write(&other, toml::to_string(&c).unwrap()).unwrap();
        let mut child = Command::new(BIN)
            .args(["run", "--config"])
            .arg(&other)
            .env("RUST_LOG", "error")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait until it answers on its HTTP endpoint: it has opened (and
        // so initialised) the store.
        let url = format!("http://{}/health", c["http"].as_str().unwrap());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while probe::blocking_get(&url).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the node never answered"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        (status.success(), ())
    };
    assert!(ok, "the node did not start and stop cleanly");
    let mut g = net.genesis.clone();
    g.chain_id = "another-chain".into();
    let g_path = net.path().join("other-genesis.toml");
    std::fs::write(&g_path, g.to_toml()).unwrap();
    cfg.insert("genesis".into(), g_path.display().to_string().into());
    std::fs::write(&other, toml::to_string(&cfg).unwrap()).unwrap();
    let (ok, err) = run(&other);
    assert!(!ok);
    // The mismatch itself, with both genesis hashes.
    let stored = hex::encode(net.genesis.hash());
    let given = hex::encode(g.hash());
    assert!(
        err.contains(&format!(
            "store holds chain {stored} but genesis {given} was given"
        )),
        "{err}"
    );
}

/// `shanlian-node verify` on a stopped validator's store: it verifies; with
/// one stored state value altered on disk it does not, names the damage and
/// says what to do; restored, it verifies again.
#[tokio::test(flavor = "multi_thread")]
async fn verify_a_stopped_nodes_store() {
    let mut net = Net::new(4, 0);
    net.start_all(0..4).await;
    net.wait_height(0, 4, 60).await;
    net.stop(3);
    let config = net.path().join("node-3/config.toml");
    let verify = |extra: &[&str]| {
        let out = Command::new(BIN)
            .args(["verify", "--config"])
            .arg(&config)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, out) = verify(&["--json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true, "{out}");
    assert!(v["height"].as_u64().unwrap() >= 4);
    // Alter a member's stored state (a byte of its value) behind the node's back.
    let dir = net.path().join("node-3/data/store");
    let key;
    let original;
    {
        let store = shanlian_ledger::store::Store::open(&dir).unwrap();
        let member = shanlian_ledger::types::Address::of_key(&net.genesis.members[0].public_key);
        key = shanlian_ledger::keys::state_key(shanlian_ledger::keys::MEMBERS, &member);
        original = store.raw(&key).unwrap().unwrap();
        let mut bad = original.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x01;
        store.put_raw(&key, &bad).unwrap();
        store.flush().unwrap();
    }
    let (code, out) = verify(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does NOT verify"), "{out}");
    assert!(
        out.contains("what to do: the store on this disk is damaged"),
        "{out}"
    );
    {
        let store = shanlian_ledger::store::Store::open(&dir).unwrap();
        store.put_raw(&key, &original).unwrap();
        store.flush().unwrap();
    }
    let (code, out) = verify(&["--shallow"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("verifies"), "{out}");
}
