//! The engine's `Signer` and `Verifier`, over the ledger's sign-bytes.
//!
//! Votes sign `VoteBody::sign_bytes`, proposals `ProposalBody::sign_bytes`
//! (domain-separated, with the genesis hash), under the ledger's strict
//! Ed25519 rule. Vote extensions and validator proofs are not used.

use crate::ctx::{Ctx, Proposal, Vote};
use async_trait::async_trait;
use malachitebft_app_channel::app::types::core::{
    SignedMessage, ValidatorProof, VoteExtensionScope,
};
use malachitebft_signing::{Error, Signer, VerificationResult, Verifier};
use shanlian_ledger::crypto::{self, Keypair};
use shanlian_ledger::types::{Hash32, PublicKey, Signature};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Why the signer refused.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("a vote or proposal with a nil round cannot be signed")]
    NilRound,
    #[error("vote extensions are disabled in Shanlian")]
    Extensions,
    #[error("validator proofs are not used in Shanlian")]
    ValidatorProofs,
}

/// Signs this node's votes and proposals with its member key.
pub struct NodeSigner {
    key: Arc<Keypair>,
    genesis_hash: Hash32,
}

impl NodeSigner {
    pub fn new(key: Arc<Keypair>, genesis_hash: Hash32) -> Self {
        NodeSigner { key, genesis_hash }
    }
}

#[async_trait]
impl Signer<Ctx> for NodeSigner {
    async fn sign_vote(&self, vote: Vote) -> Result<SignedMessage<Ctx, Vote>, Error> {
        let body = vote
            .body()
            .ok_or_else(|| Error::from_source(SignError::NilRound))?;
        let signature = body.sign(&self.key, &self.genesis_hash);
        Ok(SignedMessage::new(vote, signature))
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedMessage<Ctx, Proposal>, Error> {
        let body = proposal
            .body()
            .ok_or_else(|| Error::from_source(SignError::NilRound))?;
        let signature = body.sign(&self.key, &self.genesis_hash);
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

/// Verifies votes and proposals under the strict rule, caching parsed keys.
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
            let signer = NodeSigner::new(
                Arc::new(shanlian_ledger::crypto::Keypair::from_seed(m.key.seed())),
                gh,
            );
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
}
