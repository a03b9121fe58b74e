//! A dev-network harness for tests, benchmarks and tools: the demo genesis
//! with its INSECURE dev keys, record builders, and block production that
//! proposes, certifies with the dev validators' keys and commits. It uses
//! only the public API, exactly as a node would.

use crate::block::{BlockData, CommitCertificate};
use crate::chain;
use crate::crypto::Keypair;
use crate::fault::ChainError;
use crate::genesis::{dev_genesis, DevMember, Genesis};
use crate::record::*;
use crate::state::{State, Transition};
use crate::store::{Store, StoreError};
use crate::types::*;
use crate::Refusal;

/// Why the dev network could not commit what a test asked for.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("refused: {0}")]
    Refused(Refusal),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fault(#[from] crate::fault::Fault),
}

/// A dev network on one store.
pub struct DevNet {
    pub genesis: Genesis,
    pub genesis_hash: Hash32,
    pub members: Vec<DevMember>,
    pub store: Store,
    pub state: State,
    /// The next block's time.
    pub clock: Timestamp,
    nonce: u64,
}

impl DevNet {
    /// A fresh dev network in a temporary store.
    pub fn new() -> Result<DevNet, StoreError> {
        DevNet::on(Store::temporary()?)
    }

    /// A dev network on the given store (initialised or reopened).
    pub fn on(store: Store) -> Result<DevNet, StoreError> {
        DevNet::with_genesis(store, |_| {})
    }

    /// A dev network whose genesis is the dev genesis changed by `edit`
    /// (other parameters, say); the dev keys stay the same.
    pub fn with_genesis(
        store: Store,
        edit: impl FnOnce(&mut Genesis),
    ) -> Result<DevNet, StoreError> {
        let (mut genesis, members) = dev_genesis();
        edit(&mut genesis);
        let state = store.open_state(&genesis)?;
        let clock = Timestamp(state.time.0 + 1_000);
        // Nonces and receipt numbers stay unique across reopenings.
        let nonce = state.height << 24;
        Ok(DevNet {
            genesis_hash: genesis.hash(),
            genesis,
            members,
            store,
            state,
            clock,
            nonce,
        })
    }

    pub fn key(&self, label: &str) -> &Keypair {
        self.members
            .iter()
            .find(|m| m.label == label)
            .map(|m| &m.key)
            .unwrap_or_else(|| panic!("no dev member {label}"))
    }

    pub fn address(&self, label: &str) -> Address {
        Address::of_key(&self.key(label).public())
    }

    /// Signs a payload as `label`, created at the clock, valid 10 minutes.
    pub fn sign(&mut self, label: &str, payload: Payload) -> Record {
        let body = self.body(payload);
        let key = self.key(label);
        Record::new(SignedRecord::sign(body, key, &self.genesis_hash))
    }

    /// Signs a payload with any key (a member admitted after genesis).
    pub fn sign_with(&mut self, key: &Keypair, payload: Payload) -> Record {
        let body = self.body(payload);
        Record::new(SignedRecord::sign(body, key, &self.genesis_hash))
    }

    fn body(&mut self, payload: Payload) -> RecordBody {
        self.nonce += 1;
        RecordBody {
            created: self.clock,
            expires: Timestamp(self.clock.0 + 600_000),
            nonce: self.nonce,
            payload,
        }
    }

    /// `n` donations of `label` into `fund`, signed in parallel on all
    /// cores, each with a fresh receipt number and `amount(i)` fen.
    pub fn sign_donations(
        &mut self,
        label: &str,
        fund: &FundRef,
        n: usize,
        amount: impl Fn(usize) -> u64 + Sync,
    ) -> Vec<Record> {
        use rayon::prelude::*;
        let bodies: Vec<RecordBody> = (0..n)
            .map(|i| {
                let receipt = self.receipt();
                self.body(payloads::donation(
                    receipt,
                    fund.clone(),
                    amount(i),
                    (i % 251) as u8,
                ))
            })
            .collect();
        let key = self.key(label);
        let gh = self.genesis_hash;
        bodies
            .into_par_iter()
            .map(|b| Record::new(SignedRecord::sign(b, key, &gh)))
            .collect()
    }

    /// Proposes a block from `records` (refused ones left out, returned),
    /// certifies it with the four dev validators and commits it.
    pub fn commit(&mut self, records: &[Record]) -> Result<Vec<(RecordId, Refusal)>, NetError> {
        self.commit_with(records, &[])
    }

    /// As [`DevNet::commit`], with `verified[i]` saying record `i`'s
    /// signature was already checked (as a node's pool does at admission).
    pub fn commit_with(
        &mut self,
        records: &[Record],
        verified: &[bool],
    ) -> Result<Vec<(RecordId, Refusal)>, NetError> {
        let time = self.clock;
        self.clock = Timestamp(self.clock.0 + 1_000);
        let proposer = self.address("bureau");
        let (block, tr, refused) = chain::propose(
            &mut self.state,
            time,
            proposer,
            records,
            verified,
            &self.store,
        )?;
        let cert = self.certify(&block);
        chain::commit(&mut self.state, &self.store, &block, &cert, &tr)?;
        Ok(refused)
    }

    /// Commits exactly `records`, failing if any is refused.
    pub fn commit_all(&mut self, records: &[Record]) -> Result<(), NetError> {
        match self.commit(records)?.into_iter().next() {
            Some((_, r)) => Err(NetError::Refused(r)),
            None => Ok(()),
        }
    }

    /// Proposes without committing (the block stays open in the state).
    pub fn propose(&mut self, records: &[Record]) -> Result<(BlockData, Transition), ChainError> {
        let proposer = self.address("bureau");
        let (block, tr, _) = chain::propose(
            &mut self.state,
            self.clock,
            proposer,
            records,
            &[],
            &self.store,
        )?;
        Ok((block, tr))
    }

    /// A certificate for a block from the validators of its height.
    pub fn certify(&self, block: &BlockData) -> CommitCertificate {
        let set = self.state.validator_set(block.header.height);
        let signers: Vec<&Keypair> = self
            .members
            .iter()
            .filter(|m| {
                set.get(&Address::of_key(&m.key.public()))
                    .map(|v| v.public_key)
                    == Some(m.key.public())
            })
            .map(|m| &m.key)
            .collect();
        CommitCertificate::sign_with(
            &self.genesis_hash,
            block.header.height,
            0,
            block.header.hash(),
            &signers,
        )
    }

    /// A fresh receipt number.
    pub fn receipt(&mut self) -> ReceiptNo {
        self.nonce += 1;
        ReceiptNo(format!("R{:08}", self.nonce))
    }
}

/// Payload builders with plausible defaults.
pub mod payloads {
    use super::*;

    pub fn project(id: &str, start: Timestamp, end: Timestamp) -> Payload {
        Payload::RegisterProject(RegisterProject {
            project: ProjectId(id.into()),
            title: format!("Project {id}"),
            category: ProjectCategory::Elderly,
            target: Fen(100_000_000),
            start,
            end,
            public_fundraising_ref: None,
        })
    }

    pub fn donation(receipt: ReceiptNo, fund: FundRef, amount: u64, donor: u8) -> Payload {
        Payload::RecordDonation(RecordDonation {
            receipt,
            donor: crate::crypto::commitment(&format!("donor-{donor}"), &[donor; 32]),
            amount: Fen(amount),
            channel: Channel::DigitalRmb,
            fund,
            restricted: false,
            pledge: None,
        })
    }

    pub fn disbursement(fund: FundRef, amount: u64) -> Payload {
        Payload::RecordDisbursement(RecordDisbursement {
            fund,
            amount: Fen(amount),
            category: SpendingCategory::CharitableActivity,
            recipient: Recipient::Organisation {
                name: "某养老院".into(),
                uscc: None,
            },
            purpose: "meals for residents".into(),
            evidence: vec![Evidence {
                kind: EvidenceKind::Invoice,
                hash: [7; 32],
            }],
            milestone: None,
        })
    }

    pub fn refund(receipt: ReceiptNo, amount: u64) -> Payload {
        Payload::RecordRefund(RecordRefund {
            receipt,
            amount: Fen(amount),
            reason: "donor asked".into(),
        })
    }

    pub fn grant(from: FundRef, to: &str, amount: u64) -> Payload {
        Payload::TransferGrant(TransferGrant {
            from,
            to: ProjectId(to.into()),
            amount: Fen(amount),
            purpose: "joint programme".into(),
        })
    }

    pub fn sales(game: &str, period: &str, amount: u64) -> Payload {
        Payload::RecordLotterySales(RecordLotterySales {
            game: GameId(game.into()),
            period: period.into(),
            region: "440300".into(),
            sales: Fen(amount),
        })
    }

    pub fn allocate(amount: u64, purpose: WelfarePurpose, project: Option<&str>) -> Payload {
        Payload::AllocateWelfareFund(AllocateWelfareFund {
            amount: Fen(amount),
            purpose,
            recipient: match project {
                Some(p) => WelfareRecipient::Project(ProjectId(p.into())),
                None => WelfareRecipient::Programme("社区长者食堂".into()),
            },
        })
    }
}

pub mod fuzz;
pub mod trace_vectors;
pub mod vectors;

/// The fixed examples docs/SPEC.md lists (label, lowercase hex). A test
/// checks every one appears in the spec verbatim.
pub fn spec_vectors() -> Vec<(&'static str, String)> {
    use crate::block::{Header, VoteBody, VoteKind};
    use crate::codec::encode;
    let (genesis, members) = dev_genesis();
    let gh = genesis.hash();
    fn dev<'a>(members: &'a [DevMember], label: &str) -> &'a Keypair {
        members
            .iter()
            .find(|m| m.label == label)
            .map(|m| &m.key)
            .unwrap_or_else(|| panic!("no dev member {label}"))
    }
    let key = |l: &str| dev(&members, l);
    let t0 = Timestamp(1_767_225_601_000);
    let body = |nonce, payload| RecordBody {
        created: t0,
        expires: Timestamp(t0.0 + 600_000),
        nonce,
        payload,
    };
    let fed = Address::of_key(&key("charity-federation").public());
    let salt = [0x11u8; 32];
    let donor = crate::crypto::commitment("110101199001011234", &salt);
    let donation = SignedRecord::sign(
        body(
            1,
            Payload::RecordDonation(RecordDonation {
                receipt: ReceiptNo("SZCF-2026-000001".into()),
                donor,
                amount: Fen(10_000),
                channel: Channel::DigitalRmb,
                fund: FundRef::General(fed),
                restricted: false,
                pledge: None,
            }),
        ),
        key("charity-federation"),
        &gh,
    );
    let disbursement = SignedRecord::sign(
        body(2, payloads::disbursement(FundRef::General(fed), 2_500)),
        key("charity-federation"),
        &gh,
    );
    let sales = SignedRecord::sign(
        body(3, payloads::sales("SSQ", "2026001", 1_000_000)),
        key("lottery-centre"),
        &gh,
    );
    let mut v: Vec<(&'static str, String)> = vec![
        ("genesis-hash", hex::encode(gh)),
        ("commitment", hex::encode(donor.0)),
        ("donation-body", hex::encode(encode(&donation.body))),
        (
            "donation-signing-message",
            hex::encode(crate::crypto::signing_message(
                crate::crypto::Domain::Record,
                &gh,
                &encode(&donation.body),
            )),
        ),
        ("donation-record", hex::encode(donation.to_bytes())),
        ("donation-signature", hex::encode(donation.signature.0)),
        ("donation-id", hex::encode(donation.id().0)),
        ("disbursement-record", hex::encode(disbursement.to_bytes())),
        ("disbursement-id", hex::encode(disbursement.id().0)),
        ("sales-record", hex::encode(sales.to_bytes())),
        ("sales-id", hex::encode(sales.id().0)),
    ];
    let leaf =
        <crate::merkle::Blake3Hasher as crate::merkle::MerkleHasher>::hash_leaf(&donation.id().0);
    v.push(("leaf-hash", hex::encode(leaf)));
    let mut f = crate::merkle::Frontier::<crate::merkle::Blake3Hasher>::new();
    for r in [&donation, &disbursement, &sales] {
        let _ = f.push(&r.id().0);
    }
    v.push(("log-root-3", hex::encode(f.root())));
    let header = Header {
        chain_id: genesis.chain_id.clone(),
        height: 1,
        time: Timestamp(t0.0 + 1_000),
        prev_hash: gh,
        log_size: 3,
        log_root: f.root(),
        record_root: f.root(),
        state_hash: [0x22; 32],
        proposer: Address::of_key(&key("bureau").public()),
        validator_set_hash: [0x33; 32],
    };
    v.push(("header", hex::encode(encode(&header))));
    v.push(("header-hash", hex::encode(header.hash())));
    let vote = VoteBody {
        kind: VoteKind::Precommit,
        height: 1,
        round: 0,
        value: Some(header.hash()),
        validator: Address::of_key(&key("bureau").public()),
    };
    v.push(("precommit-sign-bytes", hex::encode(vote.sign_bytes(&gh))));
    v.push((
        "precommit-signature",
        hex::encode(vote.sign(key("bureau"), &gh).0),
    ));
    let proposal = crate::block::ProposalBody {
        height: 1,
        round: 0,
        pol_round: None,
        value: header.hash(),
        proposer: Address::of_key(&key("bureau").public()),
    };
    v.push(("proposal-sign-bytes", hex::encode(proposal.sign_bytes(&gh))));
    v.push((
        "proposal-signature",
        hex::encode(proposal.sign(key("bureau"), &gh).0),
    ));
    let writes = vec![(vec![0x01, 0xaa], Some(vec![0x05])), (vec![0x02], None)];
    let leaves = crate::writeset::leaf_hashes(&writes);
    v.push(("write-set-leaf-0", hex::encode(leaves[0])));
    v.push(("write-set-leaf-1", hex::encode(leaves[1])));
    v.push((
        "write-set-root",
        hex::encode(crate::writeset::root(&leaves)),
    ));
    v.push((
        "state-hash",
        hex::encode(crate::writeset::next_state_hash(&[0x44; 32], 7, &writes)),
    ));
    let (key, value) = hole_group();
    v.push(("hole-group-key", hex::encode(key)));
    v.push(("hole-group-value", hex::encode(value)));
    v
}

/// The trace-row group of refund holes written by one block that refunds
/// two donations of one fund, the later-refunded one first: the rows are in
/// commit order (positions 130, then 70), keyed by the first (SPEC §9.1).
fn hole_group() -> (Vec<u8>, Vec<u8>) {
    let Ok(mut net) = DevNet::on(Store::memory()) else {
        return (Vec::new(), Vec::new());
    };
    let fund = FundRef::General(net.address("charity-federation"));
    let (r1, r2) = (ReceiptNo("HOLE-1".into()), ReceiptNo("HOLE-2".into()));
    let d1 = net.sign(
        "charity-federation",
        payloads::donation(r1.clone(), fund.clone(), 100, 1),
    );
    let d2 = net.sign(
        "charity-federation",
        payloads::donation(r2.clone(), fund.clone(), 50, 2),
    );
    let f2 = net.sign("charity-federation", payloads::refund(r2, 20));
    let f1 = net.sign("charity-federation", payloads::refund(r1, 30));
    if net.commit_all(&[d1, d2]).is_err() || net.commit_all(&[f2, f1]).is_err() {
        return (Vec::new(), Vec::new());
    }
    let prefix = crate::keys::fund_prefix(crate::keys::TRACE_HOLES, &fund);
    let end = crate::keys::fund_pos_key(crate::keys::TRACE_HOLES, &fund, u64::MAX);
    let first = net.store.scan_range(&prefix, &end).next();
    first.and_then(Result::ok).unwrap_or_default()
}

/// A memory backend whose reads can be made to fail, to show that a broken
/// store is a fault and never a verdict.
#[derive(Default)]
pub struct FlakyKv {
    inner: crate::store::kv::MemKv,
    pub fail_reads: std::sync::atomic::AtomicBool,
}

impl FlakyKv {
    fn failing(&self) -> bool {
        self.fail_reads.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn injected() -> StoreError {
        StoreError::Backend("injected read failure".into())
    }
}

impl crate::store::kv::Kv for FlakyKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if self.failing() {
            return Err(Self::injected());
        }
        self.inner.get(key)
    }
    fn range<'a>(&'a self, from: &[u8], to: &[u8]) -> crate::store::kv::KvIter<'a> {
        if self.failing() {
            return Box::new(std::iter::once(Err(Self::injected())));
        }
        self.inner.range(from, to)
    }
    fn last_in(
        &self,
        from: &[u8],
        to: &[u8],
    ) -> Result<Option<crate::store::kv::Entry>, StoreError> {
        if self.failing() {
            return Err(Self::injected());
        }
        self.inner.last_in(from, to)
    }
    fn apply(&self, batch: crate::store::kv::WriteBatch<'_>) -> Result<(), StoreError> {
        self.inner.apply(batch)
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush()
    }
}

// --- The demo script on a dev network -------------------------------------------------------

use crate::demo::{Actor, DemoSink};

/// The demo script's sink on a dev network: each `settle` commits a block.
pub struct NetSink<'a> {
    pub net: &'a mut DevNet,
    pub queue: Vec<Record>,
}

/// The dev-genesis member that plays each actor.
pub fn label(a: Actor) -> &'static str {
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
    fn wait_height(&mut self, height: u64) -> Result<(), String> {
        while self.net.state.height < height {
            self.net.commit(&[]).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
    fn block_hash(&mut self, height: u64) -> Result<Hash32, String> {
        Ok(self
            .net
            .store
            .header(height)
            .map_err(|e| e.to_string())?
            .ok_or("no header")?
            .hash())
    }
}
