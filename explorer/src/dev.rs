//! A development chain served by the explorer, in one process: a dev
//! network (the real state machine and store, the insecure dev keys of
//! genesis/dev.toml) filled with the demo year of `shanlian_ledger::demo`,
//! committing submitted records every block, and — to test that clients
//! catch a lying server — readers that tamper with what they serve. Behind
//! the `dev` feature: never in a node.
//!
//! The `dev_server` example serves it for the web page and its browser
//! tests; the client's tests start it in-process ([`DevServer::start`]).

use crate::submit::{NotTaken, Pending, Submitter};
use crate::{Explorer, Settings};
use async_trait::async_trait;
use shanlian_ledger::block::{
    BlockData, CommitCertificate, Header, SignedCheckpoint, ValidatorSet,
};
use shanlian_ledger::bundle::{ReceiptBundle, ValidatorStep};
use shanlian_ledger::demo::{self, Actor, DemoSink};
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::merkle::{ConsistencyProof, InclusionProof};
use shanlian_ledger::proofs::{Committed, ProofBuildError};
use shanlian_ledger::record::Record;
use shanlian_ledger::state::*;
use shanlian_ledger::store::query::{LedgerReader, Listed, Page};
use shanlian_ledger::store::{Store, StoreError, Tip};
use shanlian_ledger::testkit::DevNet;
use shanlian_ledger::testkit::NetSink;
use shanlian_ledger::tracing::{Direction, TraceProof};
use shanlian_ledger::types::*;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The dev chain, its pool of submitted records, and the explorer's
/// notifier.
pub struct Chain {
    pub net: DevNet,
    pub pool: Vec<Record>,
    pub pooled: HashSet<RecordId>,
    pub refused: std::collections::HashMap<RecordId, (String, String)>,
}

/// Admission on the dev chain (the ledger's record-level rules at its clock).
pub struct DevSubmitter(pub Arc<Mutex<Chain>>);

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// A flipped byte in every inclusion proof (bundles, trace proofs).
    Proof,
    /// A flipped byte of a commit signature in every checkpoint.
    Certificate,
    /// Certificates short of power: all signatures but one dropped.
    ShortOfPower,
    /// A signature moved to an address that is no validator.
    NonValidator,
    /// Bundles carry another record's bytes in place of the proven one.
    OtherRecord,
}

/// A reader that serves the store's answers, with its proofs tampered.
pub struct Lying {
    pub store: Store,
    pub how: Tamper,
}

impl Lying {
    fn checkpoint(&self, mut c: SignedCheckpoint) -> SignedCheckpoint {
        let sigs = &mut c.certificate.signatures;
        match self.how {
            Tamper::Certificate => {
                if let Some(s) = sigs.first_mut() {
                    s.signature.0[7] ^= 0x20;
                }
            }
            Tamper::ShortOfPower => sigs.truncate(1),
            Tamper::NonValidator => {
                if let Some(s) = sigs.first_mut() {
                    s.validator = Address([0xaa; 20]);
                }
            }
            Tamper::Proof | Tamper::OtherRecord => {}
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
            Tamper::OtherRecord => {
                // The record at the next log index, same block or not.
                let i = b.record.proof.leaf_index;
                let other = (1..=self.store.tip().ok().flatten().map_or(0, |t| t.height))
                    .find_map(|h| {
                        let from = self.store.log_size_at(h - 1).ok()?;
                        let to = self.store.log_size_at(h).ok()?;
                        (i + 1 >= from && i + 1 < to)
                            .then(|| {
                                self.store
                                    .committed_at(h, (i + 1 - from) as u32)
                                    .ok()
                                    .flatten()
                            })
                            .flatten()
                    })
                    .and_then(|id| self.store.committed(&id).ok().flatten());
                if let Some(o) = other {
                    b.record.record = o.record.bytes;
                }
            }
            _ => {
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
        fn draw(&self, id: &DrawId) -> Result<Option<Draw>, StoreError>;
        fn draws(&self) -> Result<Vec<(DrawId, Draw)>, StoreError>;
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
        for e in b.extensions.iter_mut().skip(before) {
            e.checkpoint = self.checkpoint(e.checkpoint.clone());
        }
        Ok(())
    }
    fn signed_checkpoint(&self, height: u64) -> Result<SignedCheckpoint, ProofBuildError> {
        Ok(self.checkpoint(self.store.signed_checkpoint(height)?))
    }
    fn trace_proof(&self, id: &RecordId, d: Direction) -> Result<TraceProof, ProofBuildError> {
        let mut t = self.store.trace_proof(id, d)?;
        match self.how {
            Tamper::Proof | Tamper::OtherRecord => {
                if let Some(h) = t.rows.first_mut().and_then(|r| r.proof.path.first_mut()) {
                    h[0] ^= 1;
                }
            }
            _ => {
                for b in &mut t.blocks {
                    b.checkpoint = self.checkpoint(b.checkpoint.clone());
                }
            }
        }
        Ok(t)
    }
}

/// What kind of server to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Honest,
    /// Another history of the same genesis.
    Fork,
    Lying(Tamper),
}

/// A dev chain with the demo year, served on loopback.
pub struct DevServer {
    pub url: String,
    pub chain: Arc<Mutex<Chain>>,
    pub genesis: Genesis,
    _rt: Option<tokio::runtime::Runtime>,
}

impl Drop for DevServer {
    fn drop(&mut self) {
        if let Some(rt) = self._rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Builds the dev chain (the demo year; for a fork, another history),
/// starting at the genesis time, or now (so that records a client signs now
/// are in time).
pub fn build_chain(fork: bool, at_now: bool) -> Result<DevNet, String> {
    let mut net = DevNet::on(Store::memory()).map_err(|e| e.to_string())?;
    if at_now {
        net.clock = net.clock.max(wall_clock());
    }
    let start = net.clock;
    if fork {
        let mut sink = NetSink {
            net: &mut net,
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
    } else {
        demo::run_year(
            &mut NetSink {
                net: &mut net,
                queue: Vec::new(),
            },
            start,
        )?;
    }
    Ok(net)
}

/// Commits the pool every `every`, and, if `donations`, a demo donation
/// every third block; notifies the explorer.
pub fn keep_committing(
    chain: Arc<Mutex<Chain>>,
    notifier: crate::Notifier,
    every: Duration,
    donations: bool,
) {
    std::thread::spawn(move || {
        let mut n = 10_000u64;
        loop {
            std::thread::sleep(every);
            let Ok(mut c) = chain.lock() else { return };
            let mut records = std::mem::take(&mut c.pool);
            c.pooled.clear();
            // Block time follows the wall clock (never backwards).
            c.net.clock = c.net.clock.max(wall_clock());
            if donations && n.is_multiple_of(3) {
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
            if records.is_empty() && !donations {
                continue;
            }
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
}

/// Now, in UTC milliseconds.
pub fn wall_clock() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    )
}

impl DevServer {
    /// Starts a dev server on 127.0.0.1 (a free port) in the background, on
    /// its own runtime; the demo year is dated now, and the pool is
    /// committed every 100 ms.
    pub fn start(kind: Kind) -> Result<DevServer, String> {
        let net = build_chain(kind == Kind::Fork, true)?;
        Self::serve(net, kind, None, Duration::from_millis(100), false, None)
    }

    /// As [`DevServer::start`], with the demo year dated from the genesis
    /// time: every such server holds the same blocks (a fork differs from
    /// height 2), so a receipt from one can be checked against another.
    pub fn start_at_genesis(kind: Kind) -> Result<DevServer, String> {
        let net = build_chain(kind == Kind::Fork, false)?;
        Self::serve(net, kind, None, Duration::from_millis(100), false, None)
    }

    /// Serves a dev chain. With `runtime` none, a runtime of its own is
    /// made and kept.
    pub fn serve(
        net: DevNet,
        kind: Kind,
        web: Option<std::path::PathBuf>,
        every: Duration,
        donations: bool,
        port: Option<u16>,
    ) -> Result<DevServer, String> {
        let store = net.store.clone();
        let genesis = net.genesis.clone();
        let reader: Arc<dyn LedgerReader> = match kind {
            Kind::Lying(how) => Arc::new(Lying {
                store: store.clone(),
                how,
            }),
            _ => Arc::new(store.clone()),
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
            genesis.clone(),
            Settings {
                web_dir: web,
                rate_per_second: 0,
                ..Settings::default()
            },
        );
        keep_committing(chain.clone(), explorer.notifier(), every, donations);
        let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
        let listener = rt
            .block_on(tokio::net::TcpListener::bind((
                "127.0.0.1",
                port.unwrap_or(0),
            )))
            .map_err(|e| format!("port: {e}"))?;
        let url = format!(
            "http://{}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        rt.spawn(async move {
            let _ = explorer.serve(listener, std::future::pending()).await;
        });
        Ok(DevServer {
            url,
            chain,
            genesis,
            _rt: Some(rt),
        })
    }
}
