//! Keys kept as a validator's should be: key files are owner-only, a node
//! refuses readable ones, and a second process with a copy of a validator's
//! files never signs beside the first.

use crate::net::{free_base, Net, BIN};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// `testnet` writes every private key owner-only in an owner-only folder,
/// and `run` refuses a key others can read, saying how to fix it.
#[test]
fn key_files_are_private_and_readable_ones_are_refused() {
    let net = Net::new(1, 0);
    for f in ["node-0/member.pem", "node-0/node.pem", "keys/charity-a.pem"] {
        assert_eq!(mode(&net.path().join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&net.path().join("node-0")), 0o700);
    let key = net.path().join("node-0/member.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(BIN)
        .args(["run", "--config"])
        .arg(net.path().join("node-0/config.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("can be read by other users")
            && err.contains(&format!("chmod 600 {}", key.display())),
        "{err}"
    );
}

/// Copies node 1's home while it runs: frozen with SIGSTOP for the copy
/// (so the store is crash-consistent), then continued.
fn copy_home(net: &Net, node: u32, to: &std::path::Path) {
    let stop = |sig: &str| {
        let s = Command::new("kill")
            .args([sig, &node.to_string()])
            .status()
            .unwrap();
        assert!(s.success());
    };
    stop("-STOP");
    let status = Command::new("cp")
        .arg("-a")
        .arg(net.path().join("node-1"))
        .arg(to)
        .status()
        .unwrap();
    stop("-CONT");
    assert!(status.success());
}

/// Starts a copy of node 1 on other ports; returns its process and its
/// health URL.
fn start_twin(net: &Net, twin: &std::path::Path, log: &str) -> (std::process::Child, String) {
    let base = free_base(1);
    let config = twin.join("config.toml");
    let mut cfg: toml::Table = std::fs::read_to_string(&config).unwrap().parse().unwrap();
    cfg.insert("listen".into(), format!("/ip4/127.0.0.1/tcp/{base}").into());
    cfg.insert(
        "gossip_listen".into(),
        format!("/ip4/127.0.0.1/tcp/{}", base + 50).into(),
    );
    cfg.insert("http".into(), format!("127.0.0.1:{}", base + 100).into());
    cfg.remove("metrics");
    cfg.remove("explorer");
    cfg.insert(
        "genesis".into(),
        net.path().join("genesis.toml").display().to_string().into(),
    );
    // The default watch (5 s): long enough to sync the blocks the copy
    // missed and find the original's precommits in their certificates.
    cfg.remove("signer_watch_ms");
    std::fs::write(&config, toml::to_string(&cfg).unwrap()).unwrap();
    let log = std::fs::File::create(net.path().join(log)).unwrap();
    let child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn,shanlian_node=info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    (child, format!("http://127.0.0.1:{}/health", base + 100))
}

/// Waits until a node's `/health` says its signer stopped; returns why.
async fn signer_stopped(net: &Net, health: &str, log: &str) -> String {
    match signer_stopped_within(net, health, 90).await {
        Some(why) => why,
        None => panic!(
            "the copy never said it will not sign:\n{}",
            std::fs::read_to_string(net.path().join(log)).unwrap_or_default()
        ),
    }
}

/// The signer's stop reason, if `/health` reports it within `secs`.
async fn signer_stopped_within(net: &Net, health: &str, secs: u64) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        let v: serde_json::Value = match net.client.get(health).send().await {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        };
        if v["signer"]["status"] == "stopped" {
            return Some(
                v["signer"]["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// A careless failover: a second process started from a copy of a running
/// validator's whole home (keys, config, signer state and store). It finds
/// the original's votes (or its precommits in decided certificates) that it
/// did not sign, stops signing and says why; no validator ever receives two
/// conflicting votes from that validator; the chain goes on and the
/// original keeps signing. A copy whose store was left behind (an emptied
/// data folder) is behind its own key's signatures: it syncs as a full
/// node, signs nothing, and says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_copy_of_a_validators_home_never_signs() {
    let mut net = Net::new(4, 0);
    // Blocks as fast as consensus allows, as before the heartbeat: the copy
    // is caught by the original's votes, and this test is about those, not
    // about an idle network (a 500 ms heartbeat gives it few to see, which
    // made it flaky under load).
    for i in 0..4 {
        let path = net.path().join(format!("node-{i}/config.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace(
            "empty_block_interval_ms = 500",
            "empty_block_interval_ms = 0",
        );
        assert!(text.contains("empty_block_interval_ms = 0"));
        std::fs::write(&path, text).unwrap();
    }
    net.start_all(0..4).await;
    net.wait_height(0, 3, 120).await;
    let pid = net.pid(1);

    let twin = net.path().join("twin");
    copy_home(&net, pid, &twin);
    let state_at_copy = std::fs::read(twin.join("member.pem.signer-state")).unwrap();
    // The copy has the original's peer id too, so whether the network
    // lets it sync (and so see the original's precommits) is a race it can
    // lose under load; a copy that neither syncs nor says anything is
    // started once more (it has signed nothing: no peer took its messages).
    let (mut child, mut health) = start_twin(&net, &twin, "twin.log");
    let why = match signer_stopped_within(&net, &health, 45).await {
        Some(why) => why,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            let (c, h2) = start_twin(&net, &twin, "twin-again.log");
            child = c;
            health = h2;
            signer_stopped(&net, &health, "twin-again.log").await
        }
    };
    let _ = &health;
    assert!(
        why.contains("another process is signing with this validator's key"),
        "{why}"
    );
    let log = std::fs::read_to_string(net.path().join("twin.log")).unwrap()
        + &std::fs::read_to_string(net.path().join("twin-again.log")).unwrap_or_default();
    assert!(log.contains("SIGNING STOPPED"), "{log}");
    // The chain goes on, and the original validator still signs.
    let h = net.height(0).await;
    net.wait_height(0, h + 5, 60).await;
    assert_eq!(net.health(1).await["signer"]["status"], "ok");
    let _ = child.kill();
    let _ = child.wait();
    let _ = state_at_copy;

    // A copy with an emptied data folder, started in place of the original
    // (a failover onto a fresh disk): behind its own key, it only syncs.
    // (The original is stopped first: two processes with one peer id make
    // the other nodes' sync answers go to either, a race the copy can lose.)
    let twin2 = net.path().join("twin2");
    copy_home(&net, pid, &twin2);
    assert!(net.stop(1).success());
    std::fs::remove_dir_all(twin2.join("data")).unwrap();
    let state_at_copy = std::fs::read(twin2.join("member.pem.signer-state")).unwrap();
    let (mut child, health) = start_twin(&net, &twin2, "twin2.log");
    let why = signer_stopped(&net, &health, "twin2.log").await;
    assert!(why.contains("syncs as a full node"), "{why}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v: serde_json::Value = match net.client.get(&health).send().await {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(e) => panic!(
                "the full node is gone ({e}):\n{}",
                std::fs::read_to_string(net.path().join("twin2.log")).unwrap_or_default()
            ),
        };
        if v["height"].as_u64().unwrap_or(0) >= h {
            break;
        }
        assert!(Instant::now() < deadline, "the full node did not sync: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        std::fs::read(twin2.join("member.pem.signer-state")).unwrap(),
        state_at_copy
    );
    let _ = child.kill();
    let _ = child.wait();
    // No validator ever received two conflicting votes from one validator.
    for i in 0..4 {
        let log = net.log(i);
        assert!(
            !log.contains("equivocating vote"),
            "node {i} saw equivocation:\n{log}"
        );
    }
    net.stop_all();
    net.check_stores(&[0, 1, 2, 3]);
}
