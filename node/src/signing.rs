//! The engine's `Signer` and `Verifier`, over the ledger's sign-bytes, with
//! double-signing protection ([`SignGuard`]) and a seam for keeping the key
//! outside the node ([`ConsensusKey`]).
//!
//! Votes sign `VoteBody::sign_bytes`, proposals `ProposalBody::sign_bytes`
//! (domain-separated, with the genesis hash), under the ledger's
//! Ed25519 rule (SPEC §4, ZIP-215). Vote extensions and validator proofs are not used.

use crate::ctx::{Ctx, Proposal, Vote};
use async_trait::async_trait;
use malachitebft_app_channel::app::types::core::{
    SignedMessage, ValidatorProof, VoteExtensionScope,
};
use malachitebft_signing::{Error, Signer, VerificationResult, Verifier};
use shanlian_ledger::block::{ProposalBody, VoteBody, VoteKind};
use shanlian_ledger::crypto::{self, Keypair};
use shanlian_ledger::types::{Hash32, PublicKey, Signature};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why the signer refused.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("a vote or proposal with a nil round cannot be signed")]
    NilRound,
    #[error("vote extensions are disabled in Shanlian")]
    Extensions,
    #[error("validator proofs are not used in Shanlian")]
    ValidatorProofs,
    #[error("REFUSED TO SIGN a {step} for height {height} round {round}: this validator already signed a different one there (double signing)")]
    Conflict {
        step: &'static str,
        height: u64,
        round: u32,
    },
    #[error("REFUSED TO SIGN a {step} for height {height} round {round}: this validator has signed a {step} for height {last_height} round {last_round} (a restart from an old copy of its files?)")]
    Regression {
        step: &'static str,
        height: u64,
        round: u32,
        last_height: u64,
        last_round: u32,
    },
    #[error("signing is stopped: {0}")]
    Stopped(String),
    #[error("watching the network for {0} ms before the first signature, for another process signing with this validator's key")]
    Watching(u64),
    #[error("signer state {path}: {reason}")]
    State { path: String, reason: String },
    #[error("remote signer: {0}")]
    Remote(String),
}

/// The seam for keeping a validator's key out of the node: whatever signs
/// the consensus sign-bytes of SPEC §3 (`VoteBody`, `ProposalBody`, with
/// the genesis hash and domain). Today's only implementation is
/// [`LocalKey`], the member key file; a remote signer (an HSM, a
/// tmkms-like service reached over a socket) implements the same two
/// methods. Double-signing protection ([`SignGuard`]) applies whatever the
/// backend.
pub trait ConsensusKey: Send + Sync {
    fn public_key(&self) -> PublicKey;
    fn sign_vote(&self, body: &VoteBody, genesis_hash: &Hash32) -> Result<Signature, SignError>;
    fn sign_proposal(
        &self,
        body: &ProposalBody,
        genesis_hash: &Hash32,
    ) -> Result<Signature, SignError>;
}

/// The member key, from its file, in this process.
pub struct LocalKey(pub Arc<Keypair>);

impl ConsensusKey for LocalKey {
    fn public_key(&self) -> PublicKey {
        self.0.public()
    }
    fn sign_vote(&self, body: &VoteBody, genesis_hash: &Hash32) -> Result<Signature, SignError> {
        Ok(body.sign(&self.0, genesis_hash))
    }
    fn sign_proposal(
        &self,
        body: &ProposalBody,
        genesis_hash: &Hash32,
    ) -> Result<Signature, SignError> {
        Ok(body.sign(&self.0, genesis_hash))
    }
}

/// Which kind of message a signature is for, in signing order within a
/// round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Proposal = 0,
    Prevote = 1,
    Precommit = 2,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Proposal => "proposal",
            Step::Prevote => "prevote",
            Step::Precommit => "precommit",
        }
    }
}

/// The last message signed for one step: (height, round, value).
type Last = Option<(u64, u32, Option<Hash32>)>;

/// The file's first bytes: a name and a version.
const STATE_MAGIC: &[u8; 8] = b"SHLSIGN1";
/// One step's record: height u64 LE, round u32 LE, has-value u8, value.
const RECORD: usize = 8 + 4 + 1 + 32;

/// Double-signing protection, as CometBFT's `priv_validator_state` and
/// Ethereum clients' doppelganger detection:
///
/// * for each step (proposal, prevote, precommit) the last `(height,
///   round, value)` signed is written to a state file, and synced, before
///   a signature leaves the process; a new signature must be for a later
///   `(height, round)` than the last of its step, or exactly the same
///   message (re-signing it gives the same Ed25519 signature). The file
///   lives beside the member key, not in the data folder, so restoring an
///   old copy of the data folder does not rewind it; an exclusive lock on
///   it keeps a second process on the same files from signing at all;
/// * a node started from a *copy* of a validator's files has a stale state
///   file and its own lock. So the guard watches the network: it signs
///   nothing for a while after start, and whenever it sees a vote with this
///   validator's address that it did not sign — one that conflicts with its
///   own, or one later than anything it signed — another process has the
///   key, and signing stops for good (logged, and reported by `/health`).
pub struct SignGuard {
    path: PathBuf,
    file: Mutex<std::fs::File>,
    last: Mutex<[Last; 3]>,
    stopped: Mutex<Option<String>>,
    watch_until: Instant,
    watch_ms: u64,
}

impl SignGuard {
    /// Opens (or creates, owner-only) the state file at `path` and locks
    /// it; signs nothing for `watch` after this.
    pub fn open(path: &Path, watch: Duration) -> Result<SignGuard, SignError> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let err = |reason: String| SignError::State {
            path: path.display().to_string(),
            reason,
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| err(e.to_string()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(err("another process is signing with this validator's key and state (it holds the lock); two nodes must never sign for one validator".into()))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(err(e.to_string())),
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| err(e.to_string()))?;
        let mut last: [Last; 3] = [None; 3];
        if !bytes.is_empty() {
            if bytes.len() != 8 + 3 * RECORD || &bytes[..8] != STATE_MAGIC {
                return Err(err("not a signer state file (or damaged): restore it from its backup, never delete it while the validator may have signed".into()));
            }
            for (i, slot) in last.iter_mut().enumerate() {
                let r = &bytes[8 + i * RECORD..8 + (i + 1) * RECORD];
                let height = u64::from_le_bytes(r[..8].try_into().unwrap_or_default());
                let round = u32::from_le_bytes(r[8..12].try_into().unwrap_or_default());
                let value = (r[12] == 1).then(|| r[13..45].try_into().unwrap_or_default());
                if height > 0 {
                    *slot = Some((height, round, value));
                }
            }
        }
        Ok(SignGuard {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            last: Mutex::new(last),
            stopped: Mutex::new(None),
            watch_until: Instant::now() + watch,
            watch_ms: watch.as_millis() as u64,
        })
    }

    /// Why signing stopped, if it did.
    pub fn stopped(&self) -> Option<String> {
        lock(&self.stopped).clone()
    }

    /// The highest height this validator has signed anything at.
    pub fn last_height(&self) -> u64 {
        lock(&self.last)
            .iter()
            .flatten()
            .map(|(h, _, _)| *h)
            .max()
            .unwrap_or(0)
    }

    /// Stops signing for good (the first reason is kept).
    pub fn stop(&self, why: String) {
        let mut s = lock(&self.stopped);
        if s.is_none() {
            *s = Some(why);
        }
    }

    /// Checks a signature about to be made and records it durably first.
    pub fn check(
        &self,
        step: Step,
        height: u64,
        round: u32,
        value: Option<Hash32>,
    ) -> Result<(), SignError> {
        if let Some(why) = self.stopped() {
            return Err(SignError::Stopped(why));
        }
        if Instant::now() < self.watch_until {
            return Err(SignError::Watching(self.watch_ms));
        }
        let mut last = lock(&self.last);
        match last[step as usize] {
            Some(l) if l == (height, round, value) => return Ok(()),
            Some((h, r, _)) if (h, r) == (height, round) => {
                let e = SignError::Conflict {
                    step: step.name(),
                    height,
                    round,
                };
                tracing::error!(%e, "DOUBLE SIGNING PREVENTED");
                return Err(e);
            }
            Some((h, r, _)) if (h, r) > (height, round) => {
                let e = SignError::Regression {
                    step: step.name(),
                    height,
                    round,
                    last_height: h,
                    last_round: r,
                };
                tracing::error!(%e, "DOUBLE SIGNING PREVENTED");
                return Err(e);
            }
            _ => {}
        }
        let mut next = *last;
        next[step as usize] = Some((height, round, value));
        self.persist(&next)?;
        *last = next;
        Ok(())
    }

    fn persist(&self, state: &[Last; 3]) -> Result<(), SignError> {
        use std::os::unix::fs::FileExt;
        let mut bytes = STATE_MAGIC.to_vec();
        for slot in state {
            let (h, r, v) = slot.unwrap_or((0, 0, None));
            bytes.extend_from_slice(&h.to_le_bytes());
            bytes.extend_from_slice(&r.to_le_bytes());
            bytes.push(u8::from(v.is_some()));
            bytes.extend_from_slice(&v.unwrap_or([0; 32]));
        }
        let f = lock(&self.file);
        f.write_all_at(&bytes, 0)
            .and_then(|()| f.sync_data())
            .map_err(|e| SignError::State {
                path: self.path.display().to_string(),
                reason: format!("cannot record the signature before making it: {e}"),
            })
    }

    /// A vote with this validator's address seen on the network, or a
    /// precommit of it in a decided block's certificate: if this process
    /// did not sign it, another one has the key, and signing stops.
    pub fn observe(&self, step: Step, height: u64, round: u32, value: Option<Hash32>) {
        let last = lock(&self.last)[step as usize];
        let foreign = match last {
            Some(l) if l == (height, round, value) => false,
            Some((h, r, _)) if (h, r) == (height, round) => true,
            Some((h, r, _)) => (height, round) > (h, r),
            // Nothing signed yet: any vote of ours at all is someone else's,
            // unless it is older than this process (a peer replaying gossip).
            None => true,
        };
        if foreign {
            let why = format!(
                "another process is signing with this validator's key: its {} for height {height} round {round} was not signed here (or this node's signer state was lost). Stop one of the two nodes; then restart this one only if it is the only one with the key",
                step.name()
            );
            tracing::error!(%why, "SIGNING STOPPED");
            self.stop(why);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Signs this node's votes and proposals: the key behind [`ConsensusKey`],
/// every signature checked by the [`SignGuard`] first.
pub struct NodeSigner {
    key: Arc<dyn ConsensusKey>,
    guard: Arc<SignGuard>,
    genesis_hash: Hash32,
}

impl NodeSigner {
    pub fn new(key: Arc<dyn ConsensusKey>, guard: Arc<SignGuard>, genesis_hash: Hash32) -> Self {
        NodeSigner {
            key,
            guard,
            genesis_hash,
        }
    }

    /// The double-signing guard.
    pub fn guard(&self) -> &SignGuard {
        &self.guard
    }

    /// Signs a proposal body (the engine's proposals and the app's
    /// proposal streams go through here).
    pub fn proposal(&self, body: &ProposalBody) -> Result<Signature, SignError> {
        self.guard
            .check(Step::Proposal, body.height, body.round, Some(body.value))?;
        self.key.sign_proposal(body, &self.genesis_hash)
    }

    /// Signs a vote body.
    pub fn vote(&self, body: &VoteBody) -> Result<Signature, SignError> {
        let step = match body.kind {
            VoteKind::Prevote => Step::Prevote,
            VoteKind::Precommit => Step::Precommit,
        };
        self.guard
            .check(step, body.height, body.round, body.value)?;
        self.key.sign_vote(body, &self.genesis_hash)
    }
}

/// The engine's signer: a shared [`NodeSigner`].
///
/// The engine cannot be told "no" (a signing error stops its consensus
/// actor), so a refusal never returns: during the start-up watch the
/// signer waits for the window to end; once the guard has stopped signing
/// (another process has the key, or the message would be a double
/// signature) it parks for good — this node takes no further part in
/// consensus until an operator has looked, while `/health` says why and
/// the other validators carry on.
pub struct EngineSigner(pub Arc<NodeSigner>);

impl EngineSigner {
    async fn sign(&self, mut attempt: impl FnMut() -> Result<Signature, SignError>) -> Signature {
        loop {
            match attempt() {
                Ok(s) => return s,
                Err(SignError::Watching(_)) => {
                    let wait = self
                        .0
                        .guard
                        .watch_until
                        .saturating_duration_since(Instant::now());
                    tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
                }
                Err(e) => {
                    tracing::error!(%e, "this node will not sign: it takes no further part in consensus until restarted");
                    self.0.guard.stop(e.to_string());
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

#[async_trait]
impl Signer<Ctx> for EngineSigner {
    async fn sign_vote(&self, vote: Vote) -> Result<SignedMessage<Ctx, Vote>, Error> {
        let body = vote
            .body()
            .ok_or_else(|| Error::from_source(SignError::NilRound))?;
        let signature = self.sign(|| self.0.vote(&body)).await;
        Ok(SignedMessage::new(vote, signature))
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedMessage<Ctx, Proposal>, Error> {
        let body = proposal
            .body()
            .ok_or_else(|| Error::from_source(SignError::NilRound))?;
        let signature = self.sign(|| self.0.proposal(&body)).await;
        Ok(SignedMessage::new(proposal, signature))
    }

    async fn sign_vote_extension(
        &self,
        _scope: VoteExtensionScope<Ctx>,
        _extension: (),
    ) -> Result<SignedMessage<Ctx, ()>, Error> {
        Err(Error::from_source(SignError::Extensions))
    }

    async fn sign_validator_proof(
        &self,
        _public_key: Vec<u8>,
        _peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<Ctx>, Error> {
        Err(Error::from_source(SignError::ValidatorProofs))
    }
}

/// Verifies votes and proposals under the ledger's rule, caching parsed keys.
pub struct NodeVerifier {
    genesis_hash: Hash32,
    keys: Mutex<HashMap<PublicKey, Option<crypto::Verifier>>>,
}

impl NodeVerifier {
    pub fn new(genesis_hash: Hash32) -> Self {
        NodeVerifier {
            genesis_hash,
            keys: Mutex::new(HashMap::new()),
        }
    }

    fn check(&self, msg: Option<Vec<u8>>, sig: &Signature, key: &PublicKey) -> VerificationResult {
        let Some(msg) = msg else {
            return VerificationResult::Invalid;
        };
        let verifier = {
            let mut keys = match self.keys.lock() {
                Ok(k) => k,
                Err(poisoned) => poisoned.into_inner(),
            };
            keys.entry(*key)
                .or_insert_with(|| crypto::Verifier::parse(key).ok())
                .clone()
        };
        VerificationResult::from_bool(verifier.is_some_and(|v| v.verify_message(&msg, sig).is_ok()))
    }
}

#[async_trait]
impl Verifier<Ctx> for NodeVerifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &Signature,
        key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        if vote.extension.is_some() {
            return Ok(VerificationResult::Invalid);
        }
        Ok(self.check(
            vote.body().map(|b| b.sign_bytes(&self.genesis_hash)),
            signature,
            key,
        ))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &Signature,
        key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        Ok(self.check(
            proposal.body().map(|b| b.sign_bytes(&self.genesis_hash)),
            signature,
            key,
        ))
    }

    async fn verify_signed_vote_extension(
        &self,
        _scope: &VoteExtensionScope<Ctx>,
        _extension: &(),
        _signature: &Signature,
        _key: &PublicKey,
    ) -> Result<VerificationResult, Error> {
        Ok(VerificationResult::Invalid)
    }

    async fn verify_validator_proof(
        &self,
        _proof: &ValidatorProof<Ctx>,
    ) -> Result<VerificationResult, Error> {
        Ok(VerificationResult::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctx::{Address, BlockHash, Height, ValidatorSet};
    use malachitebft_app_channel::app::types::core::{
        CommitCertificate, CommitSignature, Context, NilOrVal, Round,
    };
    use malachitebft_signing::VerifierExt;
    use shanlian_ledger::genesis::dev_genesis;

    /// The heart of the design: a certificate the engine's own verifier
    /// accepts is one the ledger (and so a light client) accepts, and a
    /// tampered one is refused by both.
    #[tokio::test]
    async fn engine_and_ledger_agree_on_certificates() {
        let (genesis, members) = dev_genesis();
        let gh = genesis.hash();
        let (state, _) = shanlian_ledger::state::State::from_genesis(genesis);
        let ledger_set = state.validator_set(1);
        let set = ValidatorSet::from(&ledger_set);
        let ctx = Ctx { genesis_hash: gh };
        let verifier = NodeVerifier::new(gh);
        let value = BlockHash([7; 32]);
        let mut sigs = Vec::new();
        for m in &members {
            let a = Address(shanlian_ledger::types::Address::of_key(&m.key.public()));
            if ledger_set.get(&a.0).is_none() {
                continue;
            }
            let dir = tempfile::tempdir().unwrap();
            let guard = SignGuard::open(&dir.path().join("state"), Duration::ZERO).unwrap();
            let key = LocalKey(Arc::new(shanlian_ledger::crypto::Keypair::from_seed(
                m.key.seed(),
            )));
            let signer = EngineSigner(Arc::new(NodeSigner::new(
                Arc::new(key),
                Arc::new(guard),
                gh,
            )));
            let vote = ctx.new_precommit(Height(5), Round::new(2), NilOrVal::Val(value), a);
            let signed = signer.sign_vote(vote).await.unwrap();
            sigs.push(CommitSignature::new(a, signed.signature));
        }
        assert_eq!(sigs.len(), 4);
        let cert = CommitCertificate {
            height: Height(5),
            round: Round::new(2),
            value_id: value,
            commit_signatures: sigs,
        };
        verifier
            .verify_commit_certificate(&ctx, &cert, &set, Default::default())
            .await
            .unwrap();
        let ours = crate::app::to_ledger(&cert);
        assert_eq!((ours.height, ours.round, ours.header_hash), (5, 2, value.0));
        ours.verify(&gh, 5, &value.0, &ledger_set).unwrap();

        let mut bad = cert.clone();
        bad.commit_signatures[0].signature.0[10] ^= 1;
        assert!(verifier
            .verify_commit_certificate(&ctx, &bad, &set, Default::default())
            .await
            .is_err());
        let mut ours_bad = ours.clone();
        ours_bad.signatures[0].signature.0[10] ^= 1;
        assert!(ours_bad.verify(&gh, 5, &value.0, &ledger_set).is_err());
    }

    fn body(kind: VoteKind, height: u64, round: u32, value: Option<Hash32>) -> VoteBody {
        VoteBody {
            kind,
            height,
            round,
            value,
            validator: shanlian_ledger::types::Address([1; 20]),
        }
    }

    fn signer(path: &Path, watch: Duration) -> Result<NodeSigner, SignError> {
        let guard = SignGuard::open(path, watch)?;
        let key = LocalKey(Arc::new(shanlian_ledger::crypto::Keypair::generate()));
        Ok(NodeSigner::new(Arc::new(key), Arc::new(guard), [0; 32]))
    }

    /// A signer never signs two different messages for one (height, round,
    /// step), across restarts; re-signing the same message is allowed.
    #[test]
    fn no_double_signing_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("member.pem.signer-state");
        let s = signer(&path, Duration::ZERO).unwrap();
        let x = Some([1; 32]);
        s.vote(&body(VoteKind::Prevote, 5, 0, x)).unwrap();
        s.vote(&body(VoteKind::Prevote, 5, 0, x)).unwrap(); // the same: fine
        let err = s.vote(&body(VoteKind::Prevote, 5, 0, None)).unwrap_err();
        assert!(
            matches!(
                err,
                SignError::Conflict {
                    height: 5,
                    round: 0,
                    ..
                }
            ),
            "{err}"
        );
        s.vote(&body(VoteKind::Precommit, 5, 0, x)).unwrap();
        s.vote(&body(VoteKind::Prevote, 5, 1, None)).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        // The same files in a second process: the lock refuses it.
        let err = signer(&path, Duration::ZERO).err().unwrap().to_string();
        assert!(err.contains("another process is signing"), "{err}");
        drop(s);
        // After a restart, the state holds: no going back, no conflict.
        let s = signer(&path, Duration::ZERO).unwrap();
        let err = s.vote(&body(VoteKind::Prevote, 4, 9, x)).unwrap_err();
        assert!(
            matches!(
                err,
                SignError::Regression {
                    last_height: 5,
                    last_round: 1,
                    ..
                }
            ),
            "{err}"
        );
        assert!(matches!(
            s.vote(&body(VoteKind::Precommit, 5, 0, None)),
            Err(SignError::Conflict { .. })
        ));
        s.vote(&body(VoteKind::Precommit, 5, 0, x)).unwrap();
        s.vote(&body(VoteKind::Precommit, 6, 0, None)).unwrap();
        // A damaged state file is refused, not reset.
        drop(s);
        std::fs::write(&path, b"garbage").unwrap();
        assert!(signer(&path, Duration::ZERO).is_err());
    }

    /// A vote of this validator seen on the network that this process did
    /// not sign stops signing for good; so does the start-up watch window.
    #[test]
    fn a_twin_stops_signing() {
        let dir = tempfile::tempdir().unwrap();
        let s = signer(&dir.path().join("state"), Duration::from_millis(200)).unwrap();
        let x = Some([1; 32]);
        assert!(matches!(
            s.vote(&body(VoteKind::Prevote, 1, 0, x)),
            Err(SignError::Watching(200))
        ));
        std::thread::sleep(Duration::from_millis(250));
        s.vote(&body(VoteKind::Prevote, 7, 0, x)).unwrap();
        // Its own vote echoed back: nothing happens.
        s.guard.observe(Step::Prevote, 7, 0, x);
        assert!(s.guard.stopped().is_none());
        // Older than anything signed here: a replay, not a twin.
        s.guard.observe(Step::Prevote, 6, 3, None);
        assert!(s.guard.stopped().is_none());
        // A later vote it did not sign: another process has the key.
        s.guard.observe(Step::Precommit, 7, 0, x);
        let why = s.guard.stopped().unwrap();
        assert!(why.contains("another process is signing"), "{why}");
        assert!(matches!(
            s.vote(&body(VoteKind::Prevote, 8, 0, x)),
            Err(SignError::Stopped(_))
        ));
    }
}
