//! Shanlian's Malachite `Context`: the consensus engine's view of our
//! heights, addresses, blocks, validators, proposals and votes.
//!
//! The engine's traits are foreign and so are the ledger's types, so the
//! node wraps them in newtypes here. Every value consensus signs maps onto
//! a ledger structure with documented sign-bytes (docs/SPEC.md):
//! votes are `ledger::block::VoteBody`, proposals `ProposalBody`. A vote
//! holds exactly the fields the engine rebuilds when it checks a
//! certificate (kind, height, round, value, validator), so a certificate
//! the engine accepts is one `ledger::block::CommitCertificate::verify`
//! accepts, and light clients need no consensus code.

use malachitebft_app_channel::app::types::core::{
    self as mc, LinearTimeouts, NilOrVal, Round, SignedExtension, VoteType,
};
use shanlian_ledger::block::{ProposalBody, VoteBody, VoteKind};
use shanlian_ledger::types::{self as lt, Hash32, PublicKey, Signature};
use std::fmt;

/// A block height.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Height(pub u64);

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mc::Height for Height {
    const ZERO: Self = Height(0);
    const INITIAL: Self = Height(1);
    fn increment_by(&self, n: u64) -> Self {
        Height(self.0.saturating_add(n))
    }
    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Height)
    }
    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// A validator's address: the ledger member address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub lt::Address);

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mc::Address for Address {}

/// What consensus decides on: a block, named by its header hash. The
/// block itself travels as proposal parts and in sync responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockHash(pub Hash32);

impl fmt::Display for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex_short(&self.0))
    }
}

fn hex_short(h: &Hash32) -> String {
    h.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

impl mc::Value for BlockHash {
    type Id = BlockHash;
    fn id(&self) -> BlockHash {
        *self
    }
}

/// A validator: address, current key and voting power.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    pub address: Address,
    pub public_key: PublicKey,
    pub power: u64,
}

impl mc::Validator<Ctx> for Validator {
    fn address(&self) -> &Address {
        &self.address
    }
    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }
    fn voting_power(&self) -> u64 {
        self.power
    }
}

/// The validators of one height, sorted by address (as the ledger's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    pub validators: Vec<Validator>,
}

impl From<&shanlian_ledger::block::ValidatorSet> for ValidatorSet {
    fn from(s: &shanlian_ledger::block::ValidatorSet) -> Self {
        ValidatorSet {
            validators: s
                .validators
                .iter()
                .map(|v| Validator {
                    address: Address(v.address),
                    public_key: v.public_key,
                    power: v.power,
                })
                .collect(),
        }
    }
}

impl mc::ValidatorSet<Ctx> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }
    fn total_voting_power(&self) -> u64 {
        self.validators.iter().map(|v| v.power).sum()
    }
    fn get_by_address(&self, a: &Address) -> Option<&Validator> {
        self.validators
            .binary_search_by(|v| v.address.cmp(a))
            .ok()
            .map(|i| &self.validators[i])
    }
    fn get_by_index(&self, i: usize) -> Option<&Validator> {
        self.validators.get(i)
    }
}

/// A proposal: the proposer's claim that a block is its value for
/// (height, round). Equality covers only what `new_proposal` receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub height: Height,
    pub round: Round,
    pub value: BlockHash,
    pub pol_round: Round,
    pub proposer: Address,
}

impl Proposal {
    /// The ledger structure that is signed; `None` if the round is nil
    /// (never for a real proposal).
    pub fn body(&self) -> Option<ProposalBody> {
        Some(ProposalBody {
            height: self.height.0,
            round: self.round.as_u32()?,
            pol_round: self.pol_round.as_u32(),
            value: self.value.0,
            proposer: self.proposer.0,
        })
    }
}

impl mc::Proposal<Ctx> for Proposal {
    fn height(&self) -> Height {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &BlockHash {
        &self.value
    }
    fn take_value(self) -> BlockHash {
        self.value
    }
    fn pol_round(&self) -> Round {
        self.pol_round
    }
    fn validator_address(&self) -> &Address {
        &self.proposer
    }
}

/// One part of a streamed block: who proposes what, the block bytes in
/// chunks, and the proposer's signature over the `ProposalBody` at the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposalPart {
    Init {
        height: u64,
        round: u32,
        pol_round: Option<u32>,
        proposer: Address,
    },
    Data(Vec<u8>),
    Fin {
        signature: Signature,
    },
}

impl mc::ProposalPart<Ctx> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, ProposalPart::Init { .. })
    }
    fn is_last(&self) -> bool {
        matches!(self, ProposalPart::Fin { .. })
    }
}

/// A prevote or precommit. Vote extensions are disabled: `extension` is
/// always `None` and is not part of equality or of the signed bytes.
#[derive(Clone, Debug)]
pub struct Vote {
    pub kind: VoteType,
    pub height: Height,
    pub round: Round,
    pub value: NilOrVal<BlockHash>,
    pub validator: Address,
    pub extension: Option<SignedExtension<Ctx>>,
}

impl PartialEq for Vote {
    fn eq(&self, o: &Self) -> bool {
        (
            self.kind,
            self.height,
            self.round,
            &self.value,
            self.validator,
        ) == (o.kind, o.height, o.round, &o.value, o.validator)
    }
}
impl Eq for Vote {}

impl Vote {
    /// The ledger structure that is signed; `None` for a nil round.
    pub fn body(&self) -> Option<VoteBody> {
        Some(VoteBody {
            kind: match self.kind {
                VoteType::Prevote => VoteKind::Prevote,
                VoteType::Precommit => VoteKind::Precommit,
            },
            height: self.height.0,
            round: self.round.as_u32()?,
            value: match &self.value {
                NilOrVal::Nil => None,
                NilOrVal::Val(h) => Some(h.0),
            },
            validator: self.validator.0,
        })
    }
}

impl mc::Vote<Ctx> for Vote {
    fn height(&self) -> Height {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &NilOrVal<BlockHash> {
        &self.value
    }
    fn take_value(self) -> NilOrVal<BlockHash> {
        self.value
    }
    fn vote_type(&self) -> VoteType {
        self.kind
    }
    fn validator_address(&self) -> &Address {
        &self.validator
    }
    fn extension(&self) -> Option<&SignedExtension<Ctx>> {
        self.extension.as_ref()
    }
    fn take_extension(&mut self) -> Option<SignedExtension<Ctx>> {
        self.extension.take()
    }
    fn extend(self, extension: SignedExtension<Ctx>) -> Self {
        Vote {
            extension: Some(extension),
            ..self
        }
    }
}

/// Ed25519 under the ledger's rule (SPEC §4, ZIP-215), checked by the
/// ledger's own code rather than arc-malachitebft-signing-ed25519's, so
/// the engine and the ledger cannot disagree about a vote or a
/// certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ed25519Ledger;

impl mc::SigningScheme for Ed25519Ledger {
    type DecodingError = String;
    type Signature = Signature;
    type PublicKey = PublicKey;
    type PrivateKey = ();
    fn decode_signature(bytes: &[u8]) -> Result<Signature, String> {
        <[u8; 64]>::try_from(bytes)
            .map(Signature)
            .map_err(|_| format!("a signature has 64 bytes, not {}", bytes.len()))
    }
    fn encode_signature(s: &Signature) -> Vec<u8> {
        s.0.to_vec()
    }
    fn decode_public_key(bytes: &[u8]) -> Result<PublicKey, String> {
        <[u8; 32]>::try_from(bytes)
            .map(PublicKey)
            .map_err(|_| format!("a public key has 32 bytes, not {}", bytes.len()))
    }
    fn encode_public_key(p: &PublicKey) -> Vec<u8> {
        p.0.to_vec()
    }
}

/// The context: the genesis hash, which is part of every signed message.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub genesis_hash: Hash32,
}

impl mc::Context for Ctx {
    type Address = Address;
    type Height = Height;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = Validator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = LinearTimeouts;
    type Value = BlockHash;
    type Vote = Vote;
    type Extension = ();
    type SigningScheme = Ed25519Ledger;

    /// Round robin over the address-sorted set: `(height + round) mod n`.
    /// The engine never passes an empty set (it refuses to start a height
    /// with one).
    fn select_proposer<'a>(
        &self,
        vs: &'a ValidatorSet,
        height: Height,
        round: Round,
    ) -> &'a Validator {
        let n = vs.validators.len().max(1) as u64;
        let r = round.as_u32().unwrap_or(0) as u64;
        let i = (height.0.wrapping_add(r) % n) as usize;
        &vs.validators[i]
    }

    fn new_proposal(
        &self,
        height: Height,
        round: Round,
        value: BlockHash,
        pol_round: Round,
        address: Address,
    ) -> Proposal {
        Proposal {
            height,
            round,
            value,
            pol_round,
            proposer: address,
        }
    }

    fn new_prevote(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<BlockHash>,
        address: Address,
    ) -> Vote {
        Vote {
            kind: VoteType::Prevote,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }

    fn new_precommit(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<BlockHash>,
        address: Address,
    ) -> Vote {
        Vote {
            kind: VoteType::Precommit,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }
}
