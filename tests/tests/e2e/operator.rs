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
    // A running node has transparent huge pages off (docs/OPERATING.md,
    // "Memory"): the kernel says so for the process.
    #[cfg(target_os = "linux")]
    for i in 0..4 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", net.pid(i))).unwrap();
        assert!(
            status.lines().any(|l| l == "THP_enabled:\t0"),
            "node {i}: {}",
            status
                .lines()
                .find(|l| l.starts_with("THP"))
                .unwrap_or("no THP_enabled line")
        );
    }
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

/// A data folder written before fjall (a sled store) converts in place:
/// `convert-store` copies it, verifies the copy from genesis, swaps the
/// folders and keeps the old one; the node restarts on the new store and
/// goes on committing with the network. A second run has nothing to do.
#[tokio::test(flavor = "multi_thread")]
async fn a_sled_store_converts_to_fjall_and_the_node_goes_on() {
    use shanlian_ledger::store::{kv::SledKv, Store};
    let mut net = Net::new(4, 0);
    net.start_all(0..4).await;
    let first = net.donations("convert-a", 10);
    net.submit(0, &first).await;
    net.wait_committed(3, &first, 60).await;
    net.stop(3);
    let data = net.path().join("node-3/data");
    let store = data.join("store");
    // What an earlier version left: the same entries, on sled (no flusher
    // thread, so the database is closed when dropped).
    {
        let fjall = Store::open(&store).unwrap();
        let db = sled::Config::new()
            .path(data.join("store-sled"))
            .flush_every_ms(None)
            .open()
            .unwrap();
        let sled = Store::on(std::sync::Arc::new(SledKv::open(db).unwrap()));
        let n = fjall.copy_into(&sled).unwrap();
        assert!(n > 20, "{n} entries");
    }
    std::fs::remove_dir_all(&store).unwrap();
    std::fs::rename(data.join("store-sled"), &store).unwrap();
    assert!(Store::is_sled(&store));

    let config = net.path().join("node-3/config.toml");
    let convert = || {
        let out = Command::new(BIN)
            .args(["convert-store", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, out) = convert();
    assert!(ok, "{out}");
    assert!(out.contains("converted to fjall"), "{out}");
    assert!(out.contains("the copy verifies from genesis"), "{out}");
    assert!(!Store::is_sled(&store), "the store is fjall's now");
    assert!(
        Store::is_sled(&data.join("store.sled")),
        "the old store is kept"
    );
    let (ok, out) = convert();
    assert!(ok, "{out}");
    assert!(out.contains("already a fjall store"), "{out}");

    // As if a conversion stopped between its two renames: the node refuses
    // to start on a new empty store beside its chain.
    std::fs::rename(&store, data.join("store.aside")).unwrap();
    net.start(3, &[]);
    let status = net.wait_exit(3, 30);
    let log = net.log(3);
    assert!(!status.success(), "{log}");
    assert!(log.contains("convert-store` was interrupted"), "{log}");
    assert!(!store.exists(), "an empty store was created");
    std::fs::rename(data.join("store.aside"), &store).unwrap();

    net.start(3, &[]);
    let more = net.donations("convert-b", 10);
    net.submit(0, &more).await;
    net.wait_committed(3, &more, 60).await;
}

/// A node that finds its own store wrong says so and stops voting:
/// - a fund balance altered on one validator's disk: the other three commit
///   the next donation to it; that validator's checks fail on a block the
///   network certified, so it stops consensus, `/health` answers 503 with
///   the reason and what to do, submissions are refused with `node.fault`,
///   and it exits with an error when stopped;
/// - a record's bytes altered in an older block on another validator: the
///   on-demand check of recent blocks (`/health?check=N`) finds it, and the
///   block is never served (`store.corrupt`), only an error.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_that_finds_its_own_store_wrong_stops_and_says_so() {
    use shanlian_ledger::keys as t;
    use shanlian_ledger::values::FundState;
    let mut net = Net::new(4, 0);
    net.start_all(0..4).await;
    let first = net.donations("own-store-a", 20);
    net.submit(0, &first).await;
    net.wait_committed(3, &first, 60).await;
    let h = net.height(0).await;
    net.wait_height(2, h + 6, 60).await;

    // 1. A fund balance altered on node 3's disk.
    net.stop(3);
    {
        let store =
            shanlian_ledger::store::Store::open(&net.path().join("node-3/data/store")).unwrap();
        // charity-a's general fund, which `Net::donations` give to.
        let charity =
            shanlian_ledger::types::Address::of_key(&net.key("keys/charity-a.pem").public());
        let key = t::state_key(t::FUNDS, &shanlian_ledger::types::FundRef::General(charity));
        let value = store.raw(&key).unwrap().unwrap();
        let mut fund: FundState = shanlian_ledger::codec::decode(&value).unwrap();
        fund.inflow += 1;
        store
            .put_raw(&key, &shanlian_ledger::codec::encode(&fund))
            .unwrap();
        store.flush().unwrap();
    }
    net.start(3, &[]);
    net.wait_up(3).await;
    let next = net.donations("own-store-b", 5);
    net.submit(0, &next).await;
    net.wait_committed(0, &next, 60).await;
    let health = wait_fault(&net, 3, 60).await;
    let message = health["message"].as_str().unwrap();
    assert!(
        message
            .contains("more than two thirds of the validators committed, fails this node's checks")
            && message.contains("not the network"),
        "{health}"
    );
    assert!(
        health["remedy"]
            .as_str()
            .unwrap()
            .contains("shanlian-node verify"),
        "{health}"
    );
    let refused = reqwest::Client::new()
        .post(format!("{}/v1/records", net.http(3)))
        .body(net.donations("own-store-c", 1)[0].bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    let v: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(v["code"], "node.fault", "{v}");
    assert!(net.log(3).contains("this node found its own store wrong"));
    let status = net.stop(3);
    assert!(
        !status.success(),
        "a node that stopped on a fault exits with an error"
    );

    // 2. A record's bytes altered in an older block of node 2.
    let ok = get_json(&format!("{}/health?check=1000", net.http(2))).await;
    assert_eq!(ok.1["self_check"]["ok"], true, "{}", ok.1);
    assert_eq!(ok.0, 200);
    net.stop(2);
    let old;
    {
        let store =
            shanlian_ledger::store::Store::open(&net.path().join("node-2/data/store")).unwrap();
        // The block holding the first donations, well below the tip (the
        // check at start covers the tip and the three blocks below it).
        old = store.location(&first[0].id).unwrap().unwrap().height;
        assert!(old + 4 < store.tip().unwrap().unwrap().height);
        let key = t::height_key(t::BLOCKS, old);
        let mut body = store.raw(&key).unwrap().unwrap();
        let last = body.len() - 1;
        body[last] ^= 0x01;
        store.put_raw(&key, &body).unwrap();
        store.flush().unwrap();
    }
    net.start(2, &[]);
    net.wait_up(2).await;
    let (code, checked) = get_json(&format!("{}/health?check=1000", net.http(2))).await;
    assert_eq!(code, 503, "{checked}");
    assert_eq!(checked["status"], "fault", "{checked}");
    assert_eq!(checked["self_check"]["ok"], false, "{checked}");
    assert!(
        checked["self_check"]["error"]
            .as_str()
            .unwrap()
            .contains(&format!("block {old}: its records do not match")),
        "{checked}"
    );
    let (code, block) = get_json(&format!("{}/v1/blocks/{old}", net.http(2))).await;
    assert_eq!(code, 500, "{block}");
    assert_eq!(block["code"], "store.corrupt", "{block}");
    assert!(
        block["message"].as_str().unwrap().contains("record root"),
        "{block}"
    );
    assert!(!net.stop(2).success());
    net.stop_all();
}

async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let r = reqwest::get(url).await.unwrap();
    let code = r.status().as_u16();
    (code, r.json().await.unwrap())
}

/// Polls node `i`'s /health until it reports a fault.
async fn wait_fault(net: &Net, i: usize, secs: u64) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let (code, v) = get_json(&format!("{}/health", net.http(i))).await;
        if v["status"] == "fault" {
            assert_eq!(code, 503, "{v}");
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "node {i} never reported its fault: {v}\n{}",
            net.log(i)
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
