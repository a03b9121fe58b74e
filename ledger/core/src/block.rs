//! Blocks, validator sets, vote sign-bytes, commit certificates and
//! checkpoints: everything a light client needs to check that a header
//! was decided, with no consensus code.

use crate::codec;
use crate::crypto::{Domain, Keypair, Verifier};
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// A block header. Its hash is `blake3(encode(header))`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub chain_id: String,
    pub height: u64,
    /// Block time (UTC ms): strictly after the previous block's.
    pub time: Timestamp,
    /// Hash of the previous header; for height 1, the genesis hash.
    #[serde(with = "crate::hexser::hash32")]
    pub prev_hash: Hash32,
    /// Size and root of the record log after this block.
    pub log_size: u64,
    #[serde(with = "crate::hexser::hash32")]
    pub log_root: Hash32,
    /// Merkle root (same tree rules, blake3) over this block's record ids.
    #[serde(with = "crate::hexser::hash32")]
    pub record_root: Hash32,
    /// The state hash after applying this block.
    #[serde(with = "crate::hexser::hash32")]
    pub state_hash: Hash32,
    pub proposer: Address,
    /// Hash of the validator set that decides this height.
    #[serde(with = "crate::hexser::hash32")]
    pub validator_set_hash: Hash32,
}

impl Header {
    pub fn hash(&self) -> Hash32 {
        *blake3::hash(&codec::encode(self)).as_bytes()
    }
}

/// A block as stored and gossiped: the header and the canonical bytes of
/// each record in order.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct BlockData {
    pub header: Header,
    pub records: Vec<Vec<u8>>,
}

/// [`BlockData::record_offsets`] from the records' lengths, in order.
pub fn record_offsets(lengths: impl ExactSizeIterator<Item = usize>) -> Vec<u8> {
    let mut out = Vec::with_capacity(lengths.len() * 4);
    let mut at = 0u64;
    for len in lengths {
        out.extend_from_slice(&(at.min(u64::from(u32::MAX)) as u32).to_le_bytes());
        at += 8 + len as u64;
    }
    out
}

impl BlockData {
    /// Where each record's length prefix starts, counted from the first
    /// record's (the `0x3d` index value: u32 LE each).
    pub fn record_offsets(&self) -> Vec<u8> {
        record_offsets(self.records.iter().map(Vec::len))
    }

    /// The bytes of record `index` in an encoded block, given where its
    /// length prefix starts after the first record's (`record_offsets`).
    pub fn record_at_offset(bytes: &[u8], offset: usize) -> Result<&[u8], codec::DecodeError> {
        let bad = || codec::DecodeError::Malformed("block record offset".into());
        let (_, head) = codec::decode_prefix::<Header>(bytes)?;
        let at = head.checked_add(8 + offset).ok_or_else(bad)?;
        let len = bytes.get(at..at + 8).ok_or_else(bad)?;
        let len = usize::try_from(u64::from_le_bytes(len.try_into().map_err(|_| bad())?))
            .map_err(|_| bad())?;
        let end = (at + 8).checked_add(len).ok_or_else(bad)?;
        bytes.get(at + 8..end).ok_or_else(bad)
    }

    /// The bytes of record `index` inside an encoded block, found without
    /// decoding the other records (`None` past the last one).
    pub fn record_in(bytes: &[u8], index: usize) -> Result<Option<&[u8]>, codec::DecodeError> {
        let bad = || codec::DecodeError::Malformed("block records".into());
        let (_, mut at) = codec::decode_prefix::<Header>(bytes)?;
        let read_u64 = |at: usize| -> Result<u64, codec::DecodeError> {
            let b = bytes.get(at..at + 8).ok_or_else(bad)?;
            Ok(u64::from_le_bytes(b.try_into().map_err(|_| bad())?))
        };
        let count = read_u64(at)?;
        at += 8;
        if index as u64 >= count {
            return Ok(None);
        }
        for i in 0..=index {
            let len = usize::try_from(read_u64(at)?).map_err(|_| bad())?;
            at += 8;
            let end = at.checked_add(len).ok_or_else(bad)?;
            if i == index {
                return bytes.get(at..end).map(Some).ok_or_else(bad);
            }
            at = end;
        }
        Ok(None)
    }
}

/// One validator: address, current key and voting power.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validator {
    pub address: Address,
    pub public_key: PublicKey,
    pub power: u64,
}

/// The validators of one height, sorted by address. Hash:
/// `blake3(encode(ValidatorSet))`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSet {
    pub validators: Vec<Validator>,
}

impl ValidatorSet {
    /// Builds a set, sorted by address, leaving out zero power.
    pub fn new(mut validators: Vec<Validator>) -> ValidatorSet {
        validators.retain(|v| v.power > 0);
        validators.sort_by_key(|v| v.address);
        validators.dedup_by(|a, b| a.address == b.address);
        ValidatorSet { validators }
    }
    pub fn hash(&self) -> Hash32 {
        *blake3::hash(&codec::encode(self)).as_bytes()
    }
    pub fn total_power(&self) -> u64 {
        self.validators.iter().map(|v| v.power).sum()
    }
    pub fn get(&self, a: &Address) -> Option<&Validator> {
        self.validators
            .binary_search_by(|v| v.address.cmp(a))
            .ok()
            .map(|i| &self.validators[i])
    }
    /// Whether `power` is more than two thirds of the total.
    pub fn is_quorum(&self, power: u64) -> bool {
        3 * power as u128 > 2 * self.total_power() as u128
    }
}

/// Prevote or precommit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub enum VoteKind {
    Prevote,
    Precommit,
}

/// The signed content of a consensus vote. Only fields the consensus
/// engine can rebuild from a certificate are here. Signed message:
/// `"shanlian/vote/v1" || 0x00 || genesis_hash || encode(VoteBody)`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct VoteBody {
    pub kind: VoteKind,
    pub height: u64,
    pub round: u32,
    /// The header hash voted for; `None` is a nil vote.
    pub value: Option<Hash32>,
    pub validator: Address,
}

impl VoteBody {
    pub fn sign_bytes(&self, genesis: &Hash32) -> Vec<u8> {
        crate::crypto::signing_message(Domain::Vote, genesis, &codec::encode(self))
    }
    pub fn sign(&self, key: &Keypair, genesis: &Hash32) -> Signature {
        key.sign(Domain::Vote, genesis, &codec::encode(self))
    }
}

/// The signed content of a block proposal: the proposer's claim that
/// `value` (a header hash) is its proposal for `(height, round)`.
/// `pol_round` is the proof-of-lock round, `None` when there is none.
/// Signed message: `"shanlian/proposal/v1" || 0x00 || genesis_hash ||
/// encode(ProposalBody)`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ProposalBody {
    pub height: u64,
    pub round: u32,
    pub pol_round: Option<u32>,
    pub value: Hash32,
    pub proposer: Address,
}

impl ProposalBody {
    pub fn sign_bytes(&self, genesis: &Hash32) -> Vec<u8> {
        crate::crypto::signing_message(Domain::Proposal, genesis, &codec::encode(self))
    }
    pub fn sign(&self, key: &Keypair, genesis: &Hash32) -> Signature {
        key.sign(Domain::Proposal, genesis, &codec::encode(self))
    }
}

/// One precommit in a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitSignature {
    pub validator: Address,
    pub signature: Signature,
}

/// Precommits for one header hash from more than two thirds of the voting
/// power of the validator set of that height.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitCertificate {
    pub height: u64,
    pub round: u32,
    #[serde(with = "crate::hexser::hash32")]
    pub header_hash: Hash32,
    pub signatures: Vec<CommitSignature>,
}

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("certificate is for height {got}, expected {expected}")]
    WrongHeight { expected: u64, got: u64 },
    #[error("certificate is for another header")]
    WrongHeader,
    #[error("signer {0} is not a validator at this height")]
    UnknownValidator(Address),
    #[error("validator {0} signed twice")]
    DuplicateSigner(Address),
    #[error("signature of validator {0} does not verify")]
    BadSignature(Address),
    #[error("validator key of {0} is invalid")]
    InvalidKey(Address),
    #[error("signers hold {power} of {total} voting power, not more than two thirds")]
    NoQuorum { power: u64, total: u64 },
}

impl CertificateError {
    /// A stable, machine-readable name of the failed check (SPEC §7.2).
    pub fn code(&self) -> &'static str {
        match self {
            CertificateError::WrongHeight { .. } => "certificate.wrong_height",
            CertificateError::WrongHeader => "certificate.wrong_header",
            CertificateError::UnknownValidator(_) => "certificate.unknown_validator",
            CertificateError::DuplicateSigner(_) => "certificate.duplicate_signer",
            CertificateError::BadSignature(_) => "certificate.bad_signature",
            CertificateError::InvalidKey(_) => "certificate.invalid_key",
            CertificateError::NoQuorum { .. } => "certificate.no_quorum",
        }
    }
}

impl CommitCertificate {
    /// Checks the certificate for header `header_hash` at `height` against
    /// the validator set of that height. Every signature present must be
    /// valid (not only a quorum of them).
    pub fn verify(
        &self,
        genesis: &Hash32,
        height: u64,
        header_hash: &Hash32,
        set: &ValidatorSet,
    ) -> Result<(), CertificateError> {
        self.verify_prechecked(genesis, height, header_hash, set, |_, _| false)
    }

    /// [`verify`](Self::verify), taking as valid the signatures already
    /// verified elsewhere (in a batch ahead of the replay): `prechecked(i,
    /// key)` says that signature `i` of this certificate was verified, over
    /// the vote [`sign_bytes`](VoteBody::sign_bytes) this height, round,
    /// header hash and validator make, under `key`. Every other check is
    /// made here: the key must be the one the set gives the validator.
    /// A `prechecked` that vouches for a signature nobody verified makes
    /// this accept a forgery: only [`crate::crypto`] verdicts may back it.
    pub fn verify_prechecked(
        &self,
        genesis: &Hash32,
        height: u64,
        header_hash: &Hash32,
        set: &ValidatorSet,
        prechecked: impl Fn(usize, &PublicKey) -> bool,
    ) -> Result<(), CertificateError> {
        if self.height != height {
            return Err(CertificateError::WrongHeight {
                expected: height,
                got: self.height,
            });
        }
        if &self.header_hash != header_hash {
            return Err(CertificateError::WrongHeader);
        }
        let mut seen = std::collections::HashSet::new();
        let mut power = 0u64;
        for (i, s) in self.signatures.iter().enumerate() {
            let v = set
                .get(&s.validator)
                .ok_or(CertificateError::UnknownValidator(s.validator))?;
            if !seen.insert(s.validator) {
                return Err(CertificateError::DuplicateSigner(s.validator));
            }
            if prechecked(i, &v.public_key) {
                power += v.power;
                continue;
            }
            let body = VoteBody {
                kind: VoteKind::Precommit,
                height,
                round: self.round,
                value: Some(*header_hash),
                validator: s.validator,
            };
            let verifier = Verifier::parse(&v.public_key)
                .map_err(|_| CertificateError::InvalidKey(s.validator))?;
            verifier
                .verify_message(&body.sign_bytes(genesis), &s.signature)
                .map_err(|_| CertificateError::BadSignature(s.validator))?;
            power += v.power;
        }
        if !set.is_quorum(power) {
            return Err(CertificateError::NoQuorum {
                power,
                total: set.total_power(),
            });
        }
        Ok(())
    }

    /// Builds a certificate from the given validators' keys (tests, tools).
    pub fn sign_with(
        genesis: &Hash32,
        height: u64,
        round: u32,
        header_hash: Hash32,
        signers: &[&Keypair],
    ) -> CommitCertificate {
        let signatures = signers
            .iter()
            .map(|k| {
                let validator = Address::of_key(&k.public());
                let body = VoteBody {
                    kind: VoteKind::Precommit,
                    height,
                    round,
                    value: Some(header_hash),
                    validator,
                };
                CommitSignature {
                    validator,
                    signature: body.sign(k, genesis),
                }
            })
            .collect();
        CommitCertificate {
            height,
            round,
            header_hash,
            signatures,
        }
    }
}

/// A log checkpoint: what the log looked like after a decided block.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub log_size: u64,
    #[serde(with = "crate::hexser::hash32")]
    pub log_root: Hash32,
    #[serde(with = "crate::hexser::hash32")]
    pub header_hash: Hash32,
    pub height: u64,
}

impl Checkpoint {
    pub fn of(header: &Header) -> Checkpoint {
        Checkpoint {
            log_size: header.log_size,
            log_root: header.log_root,
            header_hash: header.hash(),
            height: header.height,
        }
    }
    /// Bytes a witness signs: `"shanlian/witness/v1" || 0x00 || genesis || encode(self)`.
    pub fn witness_bytes(&self, genesis: &Hash32) -> Vec<u8> {
        crate::crypto::signing_message(Domain::Witness, genesis, &codec::encode(self))
    }
}

/// A witness's co-signature on a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessSignature {
    pub witness: PublicKey,
    pub signature: Signature,
}

/// A checkpoint with the header it summarises, its commit certificate and
/// optional witness co-signatures. Verifiable against the validator set of
/// its height.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub header: Header,
    pub certificate: CommitCertificate,
    pub witnesses: Vec<WitnessSignature>,
}

impl SignedCheckpoint {
    /// Verifies header ↔ checkpoint consistency, the certificate, and every
    /// witness signature present.
    pub fn verify(&self, genesis: &Hash32, set: &ValidatorSet) -> Result<(), CertificateError> {
        if Checkpoint::of(&self.header) != self.checkpoint
            || self.header.validator_set_hash != set.hash()
        {
            return Err(CertificateError::WrongHeader);
        }
        self.certificate.verify(
            genesis,
            self.checkpoint.height,
            &self.checkpoint.header_hash,
            set,
        )?;
        let msg = self.checkpoint.witness_bytes(genesis);
        for w in &self.witnesses {
            let v = Verifier::parse(&w.witness)
                .map_err(|_| CertificateError::InvalidKey(Address::of_key(&w.witness)))?;
            v.verify_message(&msg, &w.signature)
                .map_err(|_| CertificateError::BadSignature(Address::of_key(&w.witness)))?;
        }
        Ok(())
    }
}

/// The Merkle root (RFC 9162 shape, blake3) over a block's record ids.
pub fn record_root(ids: &[RecordId]) -> Hash32 {
    let mut f = crate::merkle::Frontier::<crate::merkle::Blake3Hasher>::new();
    for id in ids {
        // A block holds far fewer than 2^64 records.
        let _ = f.push(&id.0);
    }
    f.root()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(keys: &[Keypair], powers: &[u64]) -> ValidatorSet {
        ValidatorSet::new(
            keys.iter()
                .zip(powers)
                .map(|(k, p)| Validator {
                    address: Address::of_key(&k.public()),
                    public_key: k.public(),
                    power: *p,
                })
                .collect(),
        )
    }

    #[test]
    fn one_record_is_found_in_an_encoded_block() {
        let b = BlockData {
            header: Header {
                chain_id: "c".into(),
                height: 3,
                time: Timestamp(5),
                prev_hash: [1; 32],
                log_size: 3,
                log_root: [2; 32],
                record_root: [3; 32],
                state_hash: [4; 32],
                proposer: Address([5; 20]),
                validator_set_hash: [6; 32],
            },
            records: vec![b"a".to_vec(), Vec::new(), b"xyz".to_vec()],
        };
        let bytes = codec::encode(&b);
        for (i, r) in b.records.iter().enumerate() {
            assert_eq!(BlockData::record_in(&bytes, i).unwrap(), Some(&r[..]));
        }
        assert_eq!(BlockData::record_in(&bytes, 3).unwrap(), None);
        let offsets = b.record_offsets();
        for (i, r) in b.records.iter().enumerate() {
            let o = u32::from_le_bytes(offsets[4 * i..4 * i + 4].try_into().unwrap());
            assert_eq!(
                BlockData::record_at_offset(&bytes, o as usize).unwrap(),
                &r[..]
            );
        }
        assert!(BlockData::record_at_offset(&bytes, 1_000).is_err());
        assert!(BlockData::record_in(&bytes[..bytes.len() - 1], 2).is_err());
        assert!(BlockData::record_in(b"junk", 0).is_err());
    }

    fn four_validators() -> Vec<Keypair> {
        (0..4)
            .map(|i| Keypair::insecure_dev(&format!("v{i}")))
            .collect()
    }

    #[test]
    fn certificate_needs_more_than_two_thirds() {
        let keys = four_validators();
        let vs = set(&keys, &[1, 1, 1, 1]);
        let g = [9u8; 32];
        let h = [3u8; 32];
        let three = CommitCertificate::sign_with(&g, 5, 0, h, &[&keys[0], &keys[1], &keys[2]]);
        assert_eq!(three.verify(&g, 5, &h, &vs), Ok(()));
        let two = CommitCertificate::sign_with(&g, 5, 0, h, &[&keys[0], &keys[1]]);
        assert_eq!(
            two.verify(&g, 5, &h, &vs),
            Err(CertificateError::NoQuorum { power: 2, total: 4 })
        );
        assert_eq!(
            three.verify(&g, 6, &h, &vs),
            Err(CertificateError::WrongHeight {
                expected: 6,
                got: 5
            })
        );
        assert_eq!(
            three.verify(&g, 5, &[4; 32], &vs),
            Err(CertificateError::WrongHeader)
        );
        assert!(three.verify(&[8; 32], 5, &h, &vs).is_err(), "other chain");
        let mut dup = three.clone();
        dup.signatures.push(dup.signatures[0].clone());
        assert!(matches!(
            dup.verify(&g, 5, &h, &vs),
            Err(CertificateError::DuplicateSigner(_))
        ));
        let mut bad = three.clone();
        bad.round = 1;
        assert!(matches!(
            bad.verify(&g, 5, &h, &vs),
            Err(CertificateError::BadSignature(_))
        ));
        let outsider = Keypair::insecure_dev("outsider");
        let out = CommitCertificate::sign_with(&g, 5, 0, h, &[&keys[0], &keys[1], &outsider]);
        assert!(matches!(
            out.verify(&g, 5, &h, &vs),
            Err(CertificateError::UnknownValidator(_))
        ));
        // Power-weighted: one heavy validator alone is not enough at 3/6.
        let heavy = set(&keys, &[3, 1, 1, 1]);
        let c = CommitCertificate::sign_with(&g, 5, 0, h, &[&keys[0]]);
        assert!(c.verify(&g, 5, &h, &heavy).is_err());
        let c = CommitCertificate::sign_with(&g, 5, 0, h, &[&keys[0], &keys[1]]);
        assert!(
            c.verify(&g, 5, &h, &heavy).is_err(),
            "4 of 6 is exactly 2/3"
        );
        let c = CommitCertificate::sign_with(&g, 5, 0, h, &[&keys[0], &keys[1], &keys[2]]);
        assert!(c.verify(&g, 5, &h, &heavy).is_ok(), "5 of 6 > 2/3");
    }

    /// A signature checked ahead (in a batch) is taken as checked only for
    /// what the caller vouches; everything else is still checked here.
    #[test]
    fn prechecked_signatures_skip_only_the_signature() {
        let keys = four_validators();
        let vs = set(&keys, &[1, 1, 1, 1]);
        let (g, h) = ([9u8; 32], [3u8; 32]);
        let mut c = CommitCertificate::sign_with(&g, 5, 0, h, &[&keys[0], &keys[1], &keys[2]]);
        c.signatures[0].signature.0[0] ^= 1;
        let key0 = keys[0].public();
        let vouched = |i: usize, k: &PublicKey| i == 0 && *k == key0;
        assert!(matches!(
            c.verify(&g, 5, &h, &vs),
            Err(CertificateError::BadSignature(_))
        ));
        // What the caller vouches for is not verified again …
        assert_eq!(c.verify_prechecked(&g, 5, &h, &vs, vouched), Ok(()));
        // … but only under the key the set gives: a check made under
        // another key (a validator rotated since the guess) counts nothing.
        let other = keys[3].public();
        assert!(matches!(
            c.verify_prechecked(&g, 5, &h, &vs, |i, k| i == 0 && *k == other),
            Err(CertificateError::BadSignature(_))
        ));
        // Height, header, membership and quorum are checked all the same.
        assert!(c.verify_prechecked(&g, 6, &h, &vs, vouched).is_err());
        assert_eq!(
            c.verify_prechecked(&g, 5, &[4; 32], &vs, vouched),
            Err(CertificateError::WrongHeader)
        );
        let mut dup = c.clone();
        dup.signatures.push(dup.signatures[0].clone());
        assert!(matches!(
            dup.verify_prechecked(&g, 5, &h, &vs, |_, _| true),
            Err(CertificateError::DuplicateSigner(_))
        ));
        let two = CommitCertificate::sign_with(&g, 5, 0, h, &[&keys[0], &keys[1]]);
        assert!(matches!(
            two.verify_prechecked(&g, 5, &h, &vs, |_, _| true),
            Err(CertificateError::NoQuorum { .. })
        ));
    }
}
