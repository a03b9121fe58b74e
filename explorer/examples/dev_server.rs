//! The explorer on a development chain, for working on the web page and for
//! its browser tests: a dev network in one process (the real state machine
//! and store, the insecure dev keys of genesis/dev.toml), filled with the
//! demo year of `shanlian_ledger::demo`, committing submitted records and a
//! donation every few seconds, served like a node serves it.
//!
//! `cargo run -p shanlian-explorer --example dev_server -- [--port 8080]
//!  [--web explorer/web/dist] [--tamper proof|certificate|fork] [--quiet]`
//!
//! `--tamper` makes the server lie, to test that clients catch it:
//! `proof` flips a byte of every inclusion proof it serves (bundles and
//! trace proofs), `certificate` a byte of every commit signature, and
//! `fork` serves a different history of the same genesis (other records
//! from height 2 on), as a server showing visitors different chains would.

use async_trait::async_trait;
use shanlian_explorer::submit::{NotTaken, Pending, Submitter};
use shanlian_explorer::{Explorer, Settings};
use shanlian_ledger::block::{
    BlockData, CommitCertificate, Header, SignedCheckpoint, ValidatorSet,
};
use shanlian_ledger::bundle::{ReceiptBundle, ValidatorStep};
use shanlian_ledger::demo::{self, Actor, DemoSink};
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::merkle::{ConsistencyProof, InclusionProof};
use shanlian_ledger::proofs::{Committed, ProofBuildError};
use shanlian_ledger::record::{Payload, Record};
use shanlian_ledger::state::*;
use shanlian_ledger::store::query::{LedgerReader, Listed, Page};
use shanlian_ledger::store::{Store, StoreError, Tip};
use shanlian_ledger::testkit::DevNet;
use shanlian_ledger::tracing::{Direction, TraceProof};
use shanlian_ledger::types::*;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct NetSink<'a> {
    net: &'a mut DevNet,
    queue: Vec<Record>,
}

fn label(a: Actor) -> &'static str {
    match a {
        Actor::Bureau => "bureau",
        Actor::Charity => "charity-federation",
        Actor::OtherCharity => "red-cross",
        Actor::Lottery => "lottery-centre",
        Actor::Auditor => "auditor",
    }
}

impl DemoSink for NetSink<'_> {
    type Error = String;
    fn address(&self, who: Actor) -> Address {
        self.net.address(label(who))
    }
    fn send(&mut self, who: Actor, payload: Payload) -> Result<RecordId, String> {
        let r = self.net.sign(label(who), payload);
        let id = r.id;
        self.queue.push(r);
        Ok(id)
    }
    fn settle(&mut self) -> Result<(), String> {
        let q = std::mem::take(&mut self.queue);
        self.net.commit_all(&q).map_err(|e| e.to_string())
    }
    fn checkpoint(&mut self) -> Result<(u64, u64, Hash32), String> {
        let h = self.net.state.height;
        let header = self
            .net
            .store
            .header(h)
            .map_err(|e| e.to_string())?
            .ok_or("no header")?;
        Ok((h, header.log_size, header.log_root))
    }
}

/// The dev chain, its pool of submitted records, and the explorer's
/// notifier.
struct Chain {
    net: DevNet,
    pool: Vec<Record>,
    pooled: HashSet<RecordId>,
    refused: std::collections::HashMap<RecordId, (String, String)>,
}

struct DevSubmitter(Arc<Mutex<Chain>>);

#[async_trait]
impl Submitter for DevSubmitter {
    async fn submit(&self, records: Vec<Record>) -> Result<Vec<Result<(), NotTaken>>, NotTaken> {
        let mut c = self.0.lock().map_err(|_| NotTaken {
            status: 500,
            code: "node.fault".into(),
            message: "lock".into(),
        })?;
        let ok = shanlian_ledger::chain::verify_record_signatures(&c.net.genesis_hash, &records);
        let now = c.net.clock;
        let mut out = Vec::new();
        for (r, ok) in records.into_iter().zip(ok) {
            if c.pooled.contains(&r.id) {
                out.push(Ok(()));
                continue;
            }
            match c.net.state.admit_checked(&r, now, ok) {
                Ok(()) => {
                    c.pooled.insert(r.id);
                    c.pool.push(r);
                    out.push(Ok(()));
                }
                Err(e) => out.push(Err(NotTaken {
                    status: 400,
                    code: e.code().into(),
                    message: e.to_string(),
                })),
            }
        }
        Ok(out)
    }
    fn status(&self, id: &RecordId) -> Pending {
        let Ok(c) = self.0.lock() else {
            return Pending::Unknown;
        };
        if c.pooled.contains(id) {
            Pending::Pending
        } else if let Some((code, message)) = c.refused.get(id) {
            Pending::Refused {
                code: code.clone(),
                message: message.clone(),
            }
        } else {
            Pending::Unknown
        }
    }
}

/// How the server lies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tamper {
    Proof,
    Certificate,
}

/// A reader that serves the store's answers, with its proofs tampered.
struct Lying {
    store: Store,
    how: Tamper,
}

impl Lying {
    fn checkpoint(&self, mut c: SignedCheckpoint) -> SignedCheckpoint {
        if self.how == Tamper::Certificate {
            if let Some(s) = c.certificate.signatures.first_mut() {
                s.signature.0[7] ^= 0x20;
            }
        }
        c
    }
    fn bundle(&self, mut b: ReceiptBundle) -> ReceiptBundle {
        match self.how {
            Tamper::Proof => {
                if let Some(h) = b.record.proof.path.first_mut() {
                    h[0] ^= 1;
                }
            }
            Tamper::Certificate => {
                b.block.checkpoint = self.checkpoint(b.block.checkpoint.clone());
                for e in &mut b.extensions {
                    e.checkpoint = self.checkpoint(e.checkpoint.clone());
                }
            }
        }
        b
    }
}

macro_rules! pass {
    ($( fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*) => {
        $( fn $name(&self $(, $arg: $ty)*) -> $ret { self.store.$name($($arg),*) } )*
    };
}

impl LedgerReader for Lying {
    pass! {
        fn tip(&self) -> Result<Option<Tip>, StoreError>;
        fn genesis(&self) -> Result<Option<Genesis>, StoreError>;
        fn header(&self, height: u64) -> Result<Option<Header>, StoreError>;
        fn block(&self, height: u64) -> Result<Option<BlockData>, StoreError>;
        fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>, StoreError>;
        fn height_of(&self, hash: &Hash32) -> Result<Option<u64>, StoreError>;
        fn committed(&self, id: &RecordId) -> Result<Option<Committed>, StoreError>;
        fn record_at(&self, at: Location) -> Result<Option<Record>, StoreError>;
        fn validator_set_at(&self, height: u64) -> Result<ValidatorSet, StoreError>;
        fn consistency_proof(&self, old: u64, new: u64) -> Result<ConsistencyProof, StoreError>;
        fn validator_evidence(&self, until: u64) -> Result<Vec<ValidatorStep>, ProofBuildError>;
        fn member(&self, address: &Address) -> Result<Option<Member>, StoreError>;
        fn key_owner(&self, key: &PublicKey) -> Result<Option<Address>, StoreError>;
        fn members(&self) -> Result<Vec<(Address, Member)>, StoreError>;
        fn project(&self, id: &ProjectId) -> Result<Option<Project>, StoreError>;
        fn projects(&self) -> Result<Vec<(ProjectId, Project)>, StoreError>;
        fn fund(&self, fund: &FundRef) -> Result<Option<FundState>, StoreError>;
        fn donation(&self, charity: &Address, receipt: &ReceiptNo) -> Result<Option<Donation>, StoreError>;
        fn charity_years(&self, charity: &Address) -> Result<Vec<(u32, CharityYear)>, StoreError>;
        fn game(&self, id: &GameId) -> Result<Option<GameTotals>, StoreError>;
        fn welfare_years(&self) -> Result<Vec<(u32, WelfareYear)>, StoreError>;
        fn listings(&self) -> Result<Vec<Listed>, StoreError>;
        fn records_of_fund(&self, fund: &FundRef, after: Option<Location>, limit: usize) -> Result<Page<Location>, StoreError>;
        fn records_of_member(&self, member: &Address, after: Option<Location>, limit: usize) -> Result<Page<Location>, StoreError>;
        fn donations_by_donor(&self, donor: &Commitment, after: Option<Location>, limit: usize) -> Result<Page<Location>, StoreError>;
        fn trace_positions(&self, id: &RecordId) -> Result<Vec<(u8, FundRef, u64)>, StoreError>;
        fn annotations(&self, id: &RecordId) -> Result<Vec<Location>, StoreError>;
        fn follow(&self, fund: &FundRef, start: u64, amount: u64) -> Result<Vec<shanlian_ledger::tracing::Step>, StoreError>;
    }
    fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, StoreError> {
        let mut p = self.store.inclusion_proof(index, size)?;
        if self.how == Tamper::Proof {
            if let Some(h) = p.path.first_mut() {
                h[0] ^= 1;
            }
        }
        Ok(p)
    }
    fn receipt_bundle(&self, id: &RecordId) -> Result<ReceiptBundle, ProofBuildError> {
        Ok(self.bundle(self.store.receipt_bundle(id)?))
    }
    fn extend_bundle(&self, b: &mut ReceiptBundle, to: u64) -> Result<(), ProofBuildError> {
        // The bundle came from `receipt_bundle`, already tampered: lie only
        // about what the extension adds (a second flip would undo the first).
        let before = b.extensions.len();
        self.store.extend_bundle(b, to)?;
        if self.how == Tamper::Certificate {
            for e in b.extensions.iter_mut().skip(before) {
                e.checkpoint = self.checkpoint(e.checkpoint.clone());
            }
        }
        Ok(())
    }
    fn signed_checkpoint(&self, height: u64) -> Result<SignedCheckpoint, ProofBuildError> {
        Ok(self.checkpoint(self.store.signed_checkpoint(height)?))
    }
    fn trace_proof(&self, id: &RecordId, d: Direction) -> Result<TraceProof, ProofBuildError> {
        let mut t = self.store.trace_proof(id, d)?;
        match self.how {
            Tamper::Proof => {
                if let Some(h) = t.rows.first_mut().and_then(|r| r.proof.path.first_mut()) {
                    h[0] ^= 1;
                }
            }
            Tamper::Certificate => {
                for b in &mut t.blocks {
                    b.checkpoint = self.checkpoint(b.checkpoint.clone());
                }
            }
        }
        Ok(t)
    }
}

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
    let tamper = arg(&args, "--tamper");
    let quiet = args.iter().any(|a| a == "--quiet");

    let mut net = DevNet::on(Store::memory()).map_err(|e| e.to_string())?;
    let start = net.clock;
    demo::run_year(
        &mut NetSink {
            net: &mut net,
            queue: Vec::new(),
        },
        start,
    )?;
    if tamper.as_deref() == Some("fork") {
        // Another history of the same genesis: the same validators (their
        // dev keys) certify different blocks from height 2 on.
        let mut fork = DevNet::on(Store::memory()).map_err(|e| e.to_string())?;
        let mut sink = NetSink {
            net: &mut fork,
            queue: Vec::new(),
        };
        let r = sink.net.receipt();
        let fed = FundRef::General(sink.net.address("charity-federation"));
        sink.send(
            Actor::Charity,
            demo::donation(&r.0, fed, 999_999, 77, Channel::Cash, None),
        )?;
        sink.settle()?;
        demo::run_year(&mut sink, start)?;
        net = fork;
    }
    let store = net.store.clone();
    let genesis = net.genesis.clone();
    let reader: Arc<dyn LedgerReader> = match tamper.as_deref() {
        Some("proof") => Arc::new(Lying {
            store: store.clone(),
            how: Tamper::Proof,
        }),
        Some("certificate") => Arc::new(Lying {
            store: store.clone(),
            how: Tamper::Certificate,
        }),
        None | Some("fork") => Arc::new(store.clone()),
        Some(other) => return Err(format!("--tamper {other}: proof, certificate or fork")),
    };
    let chain = Arc::new(Mutex::new(Chain {
        net,
        pool: Vec::new(),
        pooled: HashSet::new(),
        refused: Default::default(),
    }));
    let explorer = Explorer::new(
        reader,
        Some(Arc::new(DevSubmitter(chain.clone()))),
        genesis,
        Settings {
            web_dir: web,
            rate_per_second: 0,
            ..Settings::default()
        },
    );
    let notifier = explorer.notifier();
    // A block every two seconds: the pool, and a donation now and then.
    std::thread::spawn(move || {
        let mut n = 10_000u64;
        loop {
            std::thread::sleep(Duration::from_secs(2));
            let Ok(mut c) = chain.lock() else { return };
            let mut records = std::mem::take(&mut c.pool);
            c.pooled.clear();
            if n.is_multiple_of(3) {
                let fund = FundRef::Project(ProjectId(demo::PROJECTS[0].0.into()));
                let p = demo::donation(
                    &demo::receipt(n),
                    fund,
                    10_000 + n % 90_000,
                    n,
                    Channel::OnlinePlatform,
                    None,
                );
                records.push(c.net.sign("charity-federation", p));
            }
            n += 1;
            match c.net.commit(&records) {
                Ok(refused) => {
                    for (id, r) in refused {
                        c.refused.insert(id, (r.code().into(), r.to_string()));
                    }
                    notifier.committed(c.net.state.height);
                }
                Err(e) => eprintln!("commit failed: {e}"),
            }
        }
    });
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("port {port}: {e}"))?;
        let url = format!(
            "http://{}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        if !quiet {
            let (receipt, identity, salt) = demo::first_donor();
            println!("explorer: {url}/  (API {url}/api/v1/status, docs {url}/api/docs/)");
            println!(
                "a demo donor: receipt {receipt}, identity {identity}, salt {}",
                hex::encode(salt)
            );
        } else {
            println!("{url}");
        }
        explorer
            .serve(listener, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| e.to_string())
    })
}
