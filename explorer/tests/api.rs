//! The explorer's API on a store filled through the real state machine:
//! every route answers what the ledger holds, every proof it serves
//! verifies against the genesis alone, and bad input of every kind gets a
//! `{code, message}` error and never a 5xx.

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use serde_json::{json, Value};
use shanlian_explorer::submit::{NotTaken, Pending, Submitter};
use shanlian_explorer::{Explorer, Settings};
use shanlian_ledger::bundle::{verify, CheckpointProof, ReceiptBundle};
use shanlian_ledger::record::*;
use shanlian_ledger::state::State;
use shanlian_ledger::testkit::payloads as p;
use shanlian_ledger::testkit::trace_vectors::{trace_chain, TraceChain};
use shanlian_ledger::tracing::TraceProof;
use shanlian_ledger::types::*;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use tower::ServiceExt;

/// The ledger's own admission (SPEC §8.2 rules 1–10) on a copy of the
/// state, as a node applies it.
struct LedgerSubmitter {
    state: Mutex<State>,
    pool: Mutex<HashSet<RecordId>>,
    genesis_hash: Hash32,
    now: Timestamp,
}

#[async_trait]
impl Submitter for LedgerSubmitter {
    async fn submit(&self, records: Vec<Record>) -> Result<Vec<Result<(), NotTaken>>, NotTaken> {
        let ok = shanlian_ledger::chain::verify_record_signatures(&self.genesis_hash, &records);
        let mut state = self.state.lock().unwrap();
        let mut pool = self.pool.lock().unwrap();
        Ok(records
            .iter()
            .zip(ok)
            .map(|(r, ok)| {
                if pool.contains(&r.id) {
                    return Ok(());
                }
                state.admit_checked(r, self.now, ok).map_err(|e| NotTaken {
                    status: 400,
                    code: e.code().into(),
                    message: e.to_string(),
                })?;
                pool.insert(r.id);
                Ok(())
            })
            .collect())
    }
    fn status(&self, id: &RecordId) -> Pending {
        if self.pool.lock().unwrap().contains(id) {
            Pending::Pending
        } else {
            Pending::Unknown
        }
    }
}

struct Fixture {
    chain: TraceChain,
    explorer: Explorer,
    correction: RecordId,
    finding: RecordId,
    attestation: RecordId,
}

/// The trace-vector chain, with a correction, a finding, an attestation,
/// a listing and a prize payout on top.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut chain = trace_chain().unwrap();
        let net = &mut chain.net;
        let c = net.sign(
            "charity-federation",
            Payload::Correction(Correction {
                target: chain.donation,
                field: "channel".into(),
                corrected: "BankTransfer".into(),
                reason: "entered wrongly".into(),
            }),
        );
        let f = net.sign(
            "auditor",
            Payload::Finding(Finding {
                target: chain.x,
                severity: Severity::Minor,
                text: "invoice hash checked against the paper original".into(),
            }),
        );
        let h = net.store.header(5).unwrap().unwrap();
        let a = net.sign(
            "auditor",
            Payload::AuditAttestation(AuditAttestation {
                height: 5,
                log_size: h.log_size,
                log_root: h.log_root,
                scope: "full replay and conservation of every fund".into(),
                findings: 1,
                report: [9; 32],
            }),
        );
        let prize = net.sign(
            "lottery-centre",
            Payload::RecordPrizePayout(RecordPrizePayout {
                game: GameId("SSQ".into()),
                period: "2026001".into(),
                amount: Fen(100_000),
            }),
        );
        net.commit_all(&[c.clone(), f.clone(), a.clone(), prize])
            .unwrap();
        // The demo's reward draw, opened to settled (SPEC §15).
        shanlian_ledger::demo::run_draw(&mut shanlian_ledger::testkit::NetSink {
            net,
            queue: Vec::new(),
        })
        .unwrap();
        let submitter = LedgerSubmitter {
            state: Mutex::new(net.state.clone()),
            pool: Mutex::new(HashSet::new()),
            genesis_hash: net.genesis_hash,
            now: net.clock,
        };
        let explorer = Explorer::new(
            Arc::new(net.store.clone()),
            Some(Arc::new(submitter)),
            net.genesis.clone(),
            Settings::default(),
        );
        Fixture {
            chain,
            explorer,
            correction: c.id,
            finding: f.id,
            attestation: a.id,
        }
    })
}

async fn call_raw(
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = fixture()
        .explorer
        .router()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
        .await
        .unwrap();
    (status, headers, bytes.to_vec())
}

async fn get(uri: &str) -> (StatusCode, Value) {
    let (s, _, b) = call_raw("GET", uri, None, Vec::new()).await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

async fn ok(uri: &str) -> Value {
    let (s, v) = get(uri).await;
    assert_eq!(s, StatusCode::OK, "{uri}: {v}");
    v
}

async fn err(uri: &str, status: StatusCode, code: &str) {
    let (s, v) = get(uri).await;
    assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{uri}: {v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
}

fn fed() -> Address {
    fixture().chain.net.address("charity-federation")
}

#[tokio::test]
async fn status_and_genesis() {
    let f = fixture();
    let v = ok("/api/v1/status").await;
    assert_eq!(v["chain_id"], "shanlian-dev");
    assert_eq!(v["genesis_hash"], hex::encode(f.chain.net.genesis_hash));
    assert_eq!(v["height"], f.chain.net.state.height);
    assert!(!v["validators"].as_array().unwrap().is_empty());
    let g = ok("/api/v1/genesis").await;
    let genesis =
        shanlian_ledger::genesis::Genesis::from_toml(g["toml"].as_str().unwrap()).unwrap();
    assert_eq!(hex::encode(genesis.hash()), g["hash"]);
}

#[tokio::test]
async fn blocks_list_and_lookups() {
    let f = fixture();
    let tip = f.chain.net.state.height;
    let v = ok("/api/v1/blocks?limit=5").await;
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[0]["height"], tip);
    let next = v["next"].as_str().unwrap();
    let v2 = ok(&format!("/api/v1/blocks?limit=5&before={next}")).await;
    assert_eq!(v2["items"][0]["height"], tip - 5);
    let b = ok("/api/v1/blocks/2").await;
    assert_eq!(b["records_list"].as_array().unwrap().len(), 4);
    assert_eq!(b["records_list"][1]["id"], f.chain.donation.to_hex());
    assert_eq!(
        b["records_list"][1]["signer"]["name"],
        "深圳市慈善会 (demo)"
    );
    let by_hash = ok(&format!(
        "/api/v1/blocks/hash/{}",
        b["hash"].as_str().unwrap()
    ))
    .await;
    assert_eq!(by_hash["height"], 2);
    err(
        "/api/v1/blocks/999999",
        StatusCode::NOT_FOUND,
        "block.unknown",
    )
    .await;
    err(
        "/api/v1/blocks/x",
        StatusCode::BAD_REQUEST,
        "request.bad_height",
    )
    .await;
    err(
        "/api/v1/blocks/hash/zz",
        StatusCode::BAD_REQUEST,
        "request.bad_hash",
    )
    .await;
    let (_, h, _) = call_raw("GET", "/api/v1/blocks/2", None, vec![]).await;
    assert!(h["cache-control"].to_str().unwrap().contains("immutable"));
    let (_, h, _) = call_raw("GET", "/api/v1/status", None, vec![]).await;
    assert_eq!(h["cache-control"], "no-cache");
}

#[tokio::test]
async fn records_with_their_proofs() {
    let f = fixture();
    let id = f.chain.donation.to_hex();
    let r = ok(&format!("/api/v1/records/{id}")).await;
    assert_eq!(r["kind"], "RecordDonation");
    assert_eq!(r["height"], 2);
    assert_eq!(r["payload"]["RecordDonation"]["amount"], 30_000);
    let bytes = hex::decode(r["bytes"].as_str().unwrap()).unwrap();
    assert_eq!(RecordId::of_bytes(&bytes), f.chain.donation);
    // The bundle verifies against the genesis alone, at its block and
    // extended to the newest checkpoint.
    let g = &f.chain.net.genesis;
    let b = ok(&format!("/api/v1/records/{id}/bundle")).await;
    let p = verify(g, &ReceiptBundle::from_json(&b).unwrap()).unwrap();
    assert_eq!((p.id, p.height), (f.chain.donation, 2));
    let b = ok(&format!("/api/v1/records/{id}/bundle?to=latest")).await;
    let p = verify(g, &ReceiptBundle::from_json(&b).unwrap()).unwrap();
    assert_eq!(p.checkpoint.height, f.chain.net.state.height);
    // The inclusion proof checks against the log root of that size.
    let tip = f
        .chain
        .net
        .store
        .header(f.chain.net.state.height)
        .unwrap()
        .unwrap();
    let inc = ok(&format!("/api/v1/records/{id}/inclusion")).await;
    let inc: shanlian_ledger::merkle::InclusionProof = serde_json::from_value(inc).unwrap();
    inc.verify(&f.chain.donation.0, &tip.log_root).unwrap();
    err(
        &format!("/api/v1/records/{id}/inclusion?size=1"),
        StatusCode::NOT_FOUND,
        "proof.not_in_log",
    )
    .await;
    // The trace proof verifies to the flow the donation view shows.
    let t = ok(&format!("/api/v1/records/{id}/trace")).await;
    let proved = shanlian_ledger::tracing::verify(g, &TraceProof::from_json(&t).unwrap()).unwrap();
    let d = ok(&format!(
        "/api/v1/donations/{}/{}",
        fed().to_hex(),
        receipt_of(&r)
    ))
    .await;
    assert_eq!(d["flow"], serde_json::to_value(&proved.steps).unwrap());
    let t = ok(&format!(
        "/api/v1/records/{}/trace?direction=reverse",
        f.chain.g1.to_hex()
    ))
    .await;
    let proved = shanlian_ledger::tracing::verify(g, &TraceProof::from_json(&t).unwrap()).unwrap();
    assert_eq!(proved.sources.len(), 3);
    err(
        &format!("/api/v1/records/{id}/trace?direction=reverse"),
        StatusCode::NOT_FOUND,
        "trace.not_traceable",
    )
    .await;
    err(
        &format!("/api/v1/records/{id}/trace?direction=sideways"),
        StatusCode::BAD_REQUEST,
        "request.bad_direction",
    )
    .await;
    // Annotations sit beside the record they name.
    let a = ok(&format!("/api/v1/records/{id}/annotations")).await;
    assert_eq!(a["corrections"][0]["id"], f.correction.to_hex());
    let a = ok(&format!(
        "/api/v1/records/{}/annotations",
        f.chain.x.to_hex()
    ))
    .await;
    assert_eq!(a["findings"][0]["id"], f.finding.to_hex());
    err(
        &format!("/api/v1/records/{}", "ab".repeat(32)),
        StatusCode::NOT_FOUND,
        "record.unknown",
    )
    .await;
    err(
        "/api/v1/records/nothex",
        StatusCode::BAD_REQUEST,
        "request.bad_id",
    )
    .await;
}

fn receipt_of(record: &Value) -> String {
    record["payload"]["RecordDonation"]["receipt"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn checkpoints_move_forward_with_proof() {
    let f = fixture();
    let g = &f.chain.net.genesis;
    let tip = f.chain.net.state.height;
    let v = ok("/api/v1/checkpoints/proof?from=3").await;
    let p: CheckpointProof = serde_json::from_value(v).unwrap();
    let (old, new) = shanlian_ledger::bundle::verify_checkpoints(g, &p).unwrap();
    assert_eq!((old.height, new.height), (3, tip));
    assert_eq!(
        old.header_hash,
        f.chain.net.store.header(3).unwrap().unwrap().hash()
    );
    // A forked old checkpoint does not verify.
    let mut forked = p.clone();
    forked.old.header.log_root[0] ^= 1;
    assert!(shanlian_ledger::bundle::verify_checkpoints(g, &forked).is_err());
    let c = ok("/api/v1/checkpoints/latest").await;
    assert_eq!(c["header"]["height"], tip);
    let c = ok(&format!(
        "/api/v1/proofs/consistency?from=1&to={}",
        new.log_size
    ))
    .await;
    assert_eq!(c["new_size"], new.log_size);
    err(
        "/api/v1/proofs/consistency?from=0&to=3",
        StatusCode::BAD_REQUEST,
        "proof.bad_sizes",
    )
    .await;
    err(
        "/api/v1/checkpoints/proof?from=9999",
        StatusCode::BAD_REQUEST,
        "proof.bad_heights",
    )
    .await;
    err(
        "/api/v1/checkpoints/proof?from=1&to=9999",
        StatusCode::NOT_FOUND,
        "block.unknown",
    )
    .await;
}

#[tokio::test]
async fn donations_donors_projects_charities() {
    let f = fixture();
    let r = ok(&format!("/api/v1/records/{}", f.chain.donation.to_hex())).await;
    let receipt = receipt_of(&r);
    let d = ok(&format!("/api/v1/donations/{}/{receipt}", fed().to_hex())).await;
    assert_eq!(d["amount"], 30_000);
    let rv = ok(&format!("/api/v1/receipts/{}/{receipt}", fed().to_hex())).await;
    assert_eq!(rv["id"], f.chain.donation.to_hex());
    verify(
        &f.chain.net.genesis,
        &ReceiptBundle::from_json(&rv["bundle"]).unwrap(),
    )
    .unwrap();
    let outflows: Vec<&str> = d["outflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["record"]["id"].as_str().unwrap())
        .collect();
    for o in [f.chain.x, f.chain.g1, f.chain.y, f.chain.g2, f.chain.z] {
        assert!(outflows.contains(&o.to_hex().as_str()), "{o}");
    }
    // Each outflow's bundle verifies on its own.
    for o in d["outflows"].as_array().unwrap() {
        verify(
            &f.chain.net.genesis,
            &ReceiptBundle::from_json(&o["bundle"]).unwrap(),
        )
        .unwrap();
    }
    assert_eq!(
        d["annotations"]["corrections"][0]["id"],
        f.correction.to_hex()
    );
    err(
        &format!("/api/v1/donations/{}/NO-SUCH", fed().to_hex()),
        StatusCode::NOT_FOUND,
        "donation.unknown",
    )
    .await;
    // By donor commitment: the testkit's donor 2 gave the traced donation.
    let commitment = r["payload"]["RecordDonation"]["donor"].as_str().unwrap();
    let v = ok(&format!("/api/v1/donors/{commitment}/donations")).await;
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["record"]["id"] == f.chain.donation.to_hex()));
    err(
        "/api/v1/donors/12/donations",
        StatusCode::BAD_REQUEST,
        "request.bad_commitment",
    )
    .await;
    // Projects.
    let v = ok("/api/v1/projects?status=active").await;
    let ids: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"SZRC-TRACE-P") && ids.contains(&"OF-TRACE-Q"));
    let v = ok("/api/v1/projects?limit=1").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let next = v["next"].as_str().unwrap();
    let v2 = ok(&format!("/api/v1/projects?limit=1&after={next}")).await;
    assert_ne!(v2["items"][0]["id"], v["items"][0]["id"]);
    let p = ok("/api/v1/projects/SZRC-TRACE-P").await;
    assert_eq!(p["breakdown"]["grants_in"], 45_000);
    assert_eq!(p["breakdown"]["welfare_allocations_in"], 50_000);
    assert_eq!(p["breakdown"]["charitable_activity"], 50_000);
    assert_eq!(p["breakdown"]["grants_out"], 20_000);
    assert_eq!(p["money"]["balance"], 95_000 - 70_000);
    err(
        "/api/v1/projects/NOPE",
        StatusCode::NOT_FOUND,
        "project.unknown",
    )
    .await;
    err(
        "/api/v1/projects?status=maybe",
        StatusCode::BAD_REQUEST,
        "request.bad_status",
    )
    .await;
    // Charities, with art. 60 ratios.
    let c = ok(&format!("/api/v1/charities/{}", fed().to_hex())).await;
    assert_eq!(c["member"]["name"], "深圳市慈善会 (demo)");
    let year = &c["years"][0];
    assert_eq!(year["totals"]["donations"], 70_000);
    assert!(year["art60"]["management"]["verdict"].is_string());
    let all = ok("/api/v1/charities").await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    err(
        &format!(
            "/api/v1/charities/{}",
            f.chain.net.address("bureau").to_hex()
        ),
        StatusCode::NOT_FOUND,
        "charity.unknown",
    )
    .await;
    let raw = ok("/api/v1/blocks/2/raw").await;
    let b: shanlian_ledger::block::BlockData =
        shanlian_ledger::codec::decode(&hex::decode(raw["block"].as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(b.header, f.chain.net.store.header(2).unwrap().unwrap());
    // A run of raw blocks: consecutive from `from`, each as the single
    // endpoint answers it, cut at the tip; bad bounds are refused.
    let tip = ok("/api/v1/status").await["height"].as_u64().unwrap();
    assert!(tip >= 3);
    let run = ok("/api/v1/blocks/raw?from=2&limit=2").await;
    assert_eq!(run["tip"], tip);
    let blocks = run["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0], raw);
    assert_eq!(blocks[1], ok("/api/v1/blocks/3/raw").await);
    let all = ok("/api/v1/blocks/raw?from=1&limit=200").await;
    let heights: Vec<u64> = all["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, (1..=tip).collect::<Vec<_>>());
    let beyond = ok(&format!("/api/v1/blocks/raw?from={}", tip + 1)).await;
    assert_eq!(beyond["blocks"].as_array().unwrap().len(), 0);
    for (uri, code) in [
        ("/api/v1/blocks/raw?from=0", "request.bad_height"),
        ("/api/v1/blocks/raw?from=1&limit=0", "request.bad_limit"),
        ("/api/v1/blocks/raw?from=1&limit=201", "request.bad_limit"),
        (
            "/api/v1/blocks/raw?from=9007199254740992",
            "request.bad_query",
        ),
        ("/api/v1/blocks/raw?from=one", "request.bad_query"),
        ("/api/v1/blocks/raw", "request.bad_query"),
    ] {
        err(uri, StatusCode::BAD_REQUEST, code).await;
    }
    let mr = ok(&format!(
        "/api/v1/members/{}/records?limit=2",
        fed().to_hex()
    ))
    .await;
    assert_eq!(mr["items"].as_array().unwrap().len(), 2);
    assert!(mr["next"].is_string());
    let m = ok("/api/v1/members").await;
    assert!(m.as_array().unwrap().len() >= 6);
}

#[tokio::test]
async fn lottery_audits_search() {
    let f = fixture();
    let l = ok("/api/v1/lottery").await;
    let ssq = l["games"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "SSQ")
        .unwrap();
    assert_eq!(ssq["totals"]["sales"], 1_000_000);
    assert_eq!(ssq["totals"]["prizes_paid"], 100_000);
    assert_eq!(l["years"][0]["elderly"], 50_000);
    assert_eq!(l["years"][0]["elderly_share"]["share"]["verdict"], "pass");
    let s = ok("/api/v1/lottery/sales?game=SSQ").await;
    assert_eq!(s["items"].as_array().unwrap().len(), 1);
    assert_eq!(s["items"][0]["id"], f.chain.sales.to_hex());
    let all = ok("/api/v1/lottery/sales").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "sales only");
    let all = ok("/api/v1/lottery/records").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    let payouts = ok("/api/v1/lottery/records?kind=payouts").await;
    assert_eq!(payouts["items"][0]["kind"], "RecordPrizePayout");
    err(
        "/api/v1/lottery/records?kind=x",
        StatusCode::BAD_REQUEST,
        "request.bad_kind",
    )
    .await;
    let a = ok("/api/v1/audits").await;
    let ids: Vec<&str> = a["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![f.finding.to_hex(), f.attestation.to_hex()]);
    // Search by receipt, id, project title, charity name, height.
    let r = ok(&format!("/api/v1/records/{}", f.chain.donation.to_hex())).await;
    let hits = ok(&format!("/api/v1/search?q={}", receipt_of(&r))).await;
    assert_eq!(hits[0]["kind"], "donation");
    let hits = ok(&format!("/api/v1/search?q={}", f.chain.x.to_hex())).await;
    assert_eq!(hits[0]["kind"], "record");
    let hits = ok("/api/v1/search?q=trace-p").await;
    assert_eq!(hits[0]["id"], "SZRC-TRACE-P");
    let hits = ok("/api/v1/search?q=%E7%BA%A2%E5%8D%81%E5%AD%97").await;
    assert_eq!(hits[0]["kind"], "member");
    let hits = ok("/api/v1/search?q=3").await;
    assert_eq!(hits[0]["kind"], "block");
    err(
        "/api/v1/search?q=%20",
        StatusCode::BAD_REQUEST,
        "request.bad_query",
    )
    .await;
    let o = ok("/api/v1/overview").await;
    assert_eq!(o["charities"], 3);
}

#[tokio::test]
async fn submission_single_batch_and_status() {
    let f = fixture();
    // A fresh record signed by a copy of the chain's dev keys.
    let mut net =
        shanlian_ledger::testkit::DevNet::on(shanlian_ledger::store::Store::memory()).unwrap();
    net.clock = f.chain.net.clock;
    let fund = FundRef::General(fed());
    let good = net.sign(
        "charity-federation",
        p::donation(ReceiptNo("API-1".into()), fund.clone(), 500, 3),
    );
    let (s, _, b) = call_raw(
        "POST",
        "/api/v1/records",
        Some("application/octet-stream"),
        good.bytes.clone(),
    )
    .await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::ACCEPTED, Some("pending")),
        "{v}"
    );
    let st = ok(&format!("/api/v1/records/{}/status", good.id.to_hex())).await;
    assert_eq!(st["status"], "pending");
    let st = ok(&format!("/api/v1/records/{}/status", f.chain.x.to_hex())).await;
    assert_eq!(
        (st["status"].as_str(), st["height"].as_u64()),
        (Some("committed"), Some(3))
    );
    // JSON form; a refused record names its rule.
    let wrong = net.sign(
        "auditor",
        p::donation(ReceiptNo("API-2".into()), fund.clone(), 500, 3),
    );
    let body = serde_json::to_vec(&json!({"record": hex::encode(&wrong.bytes)})).unwrap();
    let (s, _, b) = call_raw("POST", "/api/v1/records", Some("application/json"), body).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("signer.role"))
    );
    let (s, _, b) = call_raw(
        "POST",
        "/api/v1/records",
        Some("application/json"),
        b"{".to_vec(),
    )
    .await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("request.bad_json"))
    );
    let (s, _, b) = call_raw("POST", "/api/v1/records", None, b"junk".to_vec()).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("record.malformed"))
    );
    // Too large for one record: refused before it is read.
    let (s, _, b) = call_raw("POST", "/api/v1/records", None, vec![0; 64 * 1024]).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("request.too_large"))
    );
    // A batch: good, malformed, refused — each reported by index.
    let good2 = net.sign(
        "charity-federation",
        p::donation(ReceiptNo("API-3".into()), fund.clone(), 700, 3),
    );
    let mut framed = Vec::new();
    for b in [&good2.bytes[..], b"nope", &wrong.bytes[..]] {
        framed.extend_from_slice(&(b.len() as u32).to_le_bytes());
        framed.extend_from_slice(b);
    }
    let (s, _, b) = call_raw("POST", "/api/v1/records/batch", None, framed).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["accepted"], 1);
    assert_eq!(v["ids"][0], good2.id.to_hex());
    let refused: Vec<(u64, &str)> = v["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(refused, vec![(1, "record.malformed"), (2, "signer.role")]);
    let body = serde_json::to_vec(&json!({"records": [hex::encode(&good2.bytes)]})).unwrap();
    let (s, _, b) = call_raw(
        "POST",
        "/api/v1/records/batch",
        Some("application/json"),
        body,
    )
    .await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        (s, v["accepted"].as_u64()),
        (StatusCode::OK, Some(1)),
        "resubmitting is harmless"
    );
    let (s, _, b) = call_raw("POST", "/api/v1/records/batch", None, vec![9, 0, 0, 0, 1]).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("request.bad_framing"))
    );
    let mut many = Vec::new();
    for _ in 0..10_001 {
        many.extend_from_slice(&0u32.to_le_bytes());
    }
    let (s, _, _) = call_raw("POST", "/api/v1/records/batch", None, many).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);

    // Many statuses in one request, in the order asked.
    let unknown = RecordId([7; 32]);
    let ask = |ids: Vec<String>| {
        let body = serde_json::to_vec(&json!({ "ids": ids })).unwrap();
        call_raw(
            "POST",
            "/api/v1/records/status",
            Some("application/json"),
            body,
        )
    };
    let (s, _, b) = ask(vec![
        f.chain.x.to_hex(),
        good2.id.to_hex(),
        unknown.to_hex(),
        wrong.id.to_hex(),
    ])
    .await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(s, StatusCode::OK, "{v}");
    let got: Vec<(&str, &str)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["id"].as_str().unwrap(), x["status"].as_str().unwrap()))
        .collect();
    let (x, g, u, w) = (
        f.chain.x.to_hex(),
        good2.id.to_hex(),
        unknown.to_hex(),
        wrong.id.to_hex(),
    );
    assert_eq!(
        got,
        vec![
            (x.as_str(), "committed"),
            (g.as_str(), "pending"),
            (u.as_str(), "unknown"),
            // Refused at admission: never pooled, so this node has no record of it.
            (w.as_str(), "unknown"),
        ]
    );
    assert_eq!(v[0]["height"], 3);
    for (ids, status, code) in [
        (
            vec!["zz".to_string()],
            StatusCode::BAD_REQUEST,
            "request.bad_id",
        ),
        (vec![], StatusCode::BAD_REQUEST, "request.no_ids"),
        (
            vec![unknown.to_hex(); 10_001],
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.too_many_ids",
        ),
    ] {
        let (s, _, b) = ask(ids).await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{v}");
    }
    let (s, _, b) = call_raw(
        "POST",
        "/api/v1/records/status",
        Some("application/json"),
        b"[1]".to_vec(),
    )
    .await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("request.bad_json"))
    );
}

#[tokio::test]
async fn draws_carry_what_recomputes_them() {
    use shanlian_ledger::draw;
    let list = ok("/api/v1/lottery/draws").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let id = shanlian_ledger::demo::DRAW_ID;
    let d = ok(&format!("/api/v1/lottery/draws/{id}")).await;
    assert_eq!(d["status"], "settled");
    assert_eq!(d["kind"], "reward");
    assert_eq!(d["owner"]["role"], "lottery_centre");
    // The beacon block's header: hash it here, not trust the node's hash.
    let header_bytes = hex::decode(d["beacon_block"]["header"].as_str().unwrap()).unwrap();
    let header: shanlian_ledger::block::Header =
        shanlian_ledger::codec::decode_canonical(&header_bytes).unwrap();
    assert_eq!(header.height, d["closes"].as_u64().unwrap() + 1);
    let hex32 = |v: &Value| -> Hash32 {
        hex::decode(v.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    };
    let mut revealed = Vec::new();
    for s in d["seeds"].as_array().unwrap() {
        let seed = hex32(&s["seed"]);
        assert_eq!(draw::seed_commitment(id, &seed), hex32(&s["commitment"]));
        revealed.push((
            Address::from_hex(s["member"]["address"].as_str().unwrap()).unwrap(),
            seed,
        ));
    }
    let (entries, winners) = (
        d["entries"].as_u64().unwrap(),
        d["winners"].as_u64().unwrap() as u32,
    );
    let beacon = draw::beacon(&draw::BeaconInput {
        draw: id,
        entries_root: hex32(&d["entries_root"]),
        entries,
        winners,
        block_hash: header.hash(),
        revealed,
    });
    assert_eq!(hex32(&d["outcome"]["beacon"]), beacon);
    let got: Vec<u64> = d["outcome"]["winners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_u64().unwrap())
        .collect();
    assert_eq!(got, draw::winners(&beacon, entries, winners));
    err(
        "/api/v1/lottery/draws/NO-SUCH",
        StatusCode::NOT_FOUND,
        "draw.unknown",
    )
    .await;
    err(
        "/api/v1/lottery/draws/a%20b",
        StatusCode::BAD_REQUEST,
        "request.bad_draw",
    )
    .await;
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json() {
    err(
        "/api/v1/nothing",
        StatusCode::NOT_FOUND,
        "request.not_found",
    )
    .await;
    err("/api/v2/status", StatusCode::NOT_FOUND, "request.not_found").await;
    let (s, _, b) = call_raw("DELETE", "/api/v1/status", None, vec![]).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        (s, v["code"].as_str()),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            Some("request.method_not_allowed")
        )
    );
    err(
        "/api/v1/blocks?limit=notanumber",
        StatusCode::BAD_REQUEST,
        "request.bad_query",
    )
    .await;
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let v = ok("/api/openapi.json").await;
    assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = v["paths"].as_object().unwrap();
    for p in [
        "/api/v1/status",
        "/api/v1/blocks/{height}",
        "/api/v1/records/{id}/bundle",
        "/api/v1/records/{id}/trace",
        "/api/v1/donations/{charity}/{receipt}",
        "/api/v1/records",
        "/api/v1/records/batch",
        "/api/v1/records/status",
        "/api/v1/events",
        "/api/v1/search",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn the_block_stream_sends_committed_blocks() {
    use futures_util::StreamExt;
    let f = fixture();
    let tip = f.chain.net.state.height;
    let req = Request::builder()
        .uri(format!("/api/v1/events?from={}", tip - 1))
        .body(Body::empty())
        .unwrap();
    let resp = f.explorer.router().oneshot(req).await.unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body().into_data_stream();
    let mut text = String::new();
    while !text.contains(&format!("id: {tip}")) {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), body.next())
            .await
            .expect("an event in time")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: block"));
    assert!(text.contains(&format!("id: {}", tip - 1)));
    // A notified height arrives live.
    f.explorer.notifier().committed(tip);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Any path under /api/v1 with any segments and query answers without
    /// a 5xx, and every error is `{code, message}`.
    #[test]
    fn no_input_breaks_a_route(
        template in 0usize..18,
        seg in "[ -~]{0,70}|[0-9]{1,25}|[0-9a-f]{64}|[0-9a-f]{40}",
        query in "[a-z_]{1,10}=[ -~]{0,30}",
    ) {
        let seg = urlencode(&seg);
        let query = urlencode_query(&query);
        let path = match template {
            0 => format!("/api/v1/blocks/{seg}"),
            1 => format!("/api/v1/blocks/hash/{seg}"),
            2 => format!("/api/v1/records/{seg}"),
            3 => format!("/api/v1/records/{seg}/bundle"),
            4 => format!("/api/v1/records/{seg}/trace"),
            5 => format!("/api/v1/records/{seg}/inclusion"),
            6 => format!("/api/v1/donations/{seg}/{seg}"),
            7 => format!("/api/v1/donors/{seg}/donations"),
            8 => format!("/api/v1/projects/{seg}"),
            9 => format!("/api/v1/charities/{seg}"),
            10 => format!("/api/v1/checkpoints/{seg}"),
            11 => "/api/v1/blocks".to_string(),
            12 => "/api/v1/projects".to_string(),
            13 => "/api/v1/search".to_string(),
            14 => "/api/v1/checkpoints/proof".to_string(),
            15 => "/api/v1/proofs/consistency".to_string(),
            16 => "/api/v1/lottery/sales".to_string(),
            _ => format!("/api/v1/{seg}"),
        };
        let uri = format!("{path}?{query}");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (s, _, b) = rt.block_on(call_raw("GET", &uri, None, vec![]));
        prop_assert!(!s.is_server_error(), "{uri}: {s}");
        if !s.is_success() {
            let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
            prop_assert!(v["code"].is_string() && v["message"].is_string(), "{uri}: {s} {v}");
        }
    }

    /// Any bytes posted as a record or a batch are refused with a code,
    /// never a 5xx.
    #[test]
    fn no_bytes_break_submission(body in proptest::collection::vec(any::<u8>(), 0..600), batch in any::<bool>(), json in any::<bool>()) {
        let uri = if batch { "/api/v1/records/batch" } else { "/api/v1/records" };
        let ct = json.then_some("application/json");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (s, _, b) = rt.block_on(call_raw("POST", uri, ct, body));
        prop_assert!(!s.is_server_error(), "{s}");
        if !s.is_success() {
            let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
            prop_assert!(v["code"].is_string(), "{s} {v}");
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn urlencode_query(q: &str) -> String {
    let (k, v) = q.split_once('=').unwrap_or((q, ""));
    format!("{k}={}", urlencode(v))
}

/// A record or block altered on the explorer's disk is never served: the
/// answer is 500 `store.corrupt` (ask another node), not the altered data.
#[tokio::test]
async fn altered_stored_data_is_an_error_not_an_answer() {
    let mut net = shanlian_ledger::testkit::DevNet::new().unwrap();
    let fund = shanlian_ledger::types::FundRef::General(net.address("charity-federation"));
    let r = net.receipt();
    let d = net.sign(
        "charity-federation",
        shanlian_ledger::testkit::payloads::donation(r, fund, 1_000, 1),
    );
    net.commit_all(std::slice::from_ref(&d)).unwrap();
    let h = net.store.location(&d.id).unwrap().unwrap().height;
    let explorer = Explorer::new(
        Arc::new(net.store.clone()),
        None,
        net.genesis.clone(),
        Settings::default(),
    );
    let get = |uri: String| {
        let router = explorer.router();
        async move {
            let resp = router
                .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };
    let (s, _) = get(format!("/api/v1/records/{}", d.id.to_hex())).await;
    assert_eq!(s, StatusCode::OK);
    let key = shanlian_ledger::keys::height_key(shanlian_ledger::keys::BLOCKS, h);
    let mut body = net.store.raw(&key).unwrap().unwrap();
    let last = body.len() - 1;
    body[last] ^= 0x01;
    net.store.put_raw(&key, &body).unwrap();
    for uri in [
        format!("/api/v1/records/{}", d.id.to_hex()),
        format!("/api/v1/blocks/{h}"),
    ] {
        let (s, v) = get(uri.clone()).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::INTERNAL_SERVER_ERROR, Some("store.corrupt")),
            "{uri}: {v}"
        );
    }
}
