//! Signed records: the only way anything enters the ledger.
//!
//! A record is `SignedRecord { body, signer, signature }`; `body` carries
//! the creation time, an expiry, a random nonce and one [`Payload`]. Records
//! are independent (no per-signer sequence): replay protection is the record
//! id plus the expiry window. New payload kinds are appended at the end of
//! [`Payload`] so existing encodings never change.

use crate::codec;
use crate::crypto::{Domain, Keypair};
use crate::types::*;
use bincode::{Decode, Encode};

/// Bureau: admit a member. The address is derived from `public_key`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct AdmitMember {
    pub public_key: PublicKey,
    pub role: Role,
    pub name: String,
    pub uscc: Uscc,
    pub node: NodeKey,
}

/// Bureau: change a member's public details (absent fields stay).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct UpdateMember {
    pub member: Address,
    pub name: Option<String>,
    pub uscc: Option<Uscc>,
    pub node: Option<NodeKey>,
}

/// Bureau: suspend a member; it can sign nothing until reinstated.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct SuspendMember {
    pub member: Address,
    pub reason: String,
}

/// Bureau: lift a suspension.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct ReinstateMember {
    pub member: Address,
}

/// Bureau: replace a member's key. `old_key_signature` is the old key's
/// signature (domain RotateKey) over [`RotateKey::consent_bytes`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct RotateKey {
    pub member: Address,
    pub new_key: PublicKey,
    pub old_key_signature: Signature,
}

impl RotateKey {
    /// The bytes the old key signs to consent to a rotation:
    /// `member (20) || new_key (32)`, raw (SPEC §3, domain rotate-key).
    pub fn consent_bytes(member: &Address, new_key: &PublicKey) -> Vec<u8> {
        let mut b = member.0.to_vec();
        b.extend_from_slice(&new_key.0);
        b
    }
}

/// Bureau: set a member's validator power (0 removes it) from
/// `effective_height` on.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct SetValidator {
    pub member: Address,
    pub power: u64,
    pub effective_height: u64,
}

/// Bureau: approve public fundraising for a registered project.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct ApproveProject {
    pub project: ProjectId,
    pub approval_ref: String,
}

/// Bureau: put an organisation on a public list.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct ListOrganisation {
    pub organisation: Address,
    pub list: ListKind,
    pub reason: String,
}

/// Bureau: take an organisation off a list.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct DelistOrganisation {
    pub organisation: Address,
    pub list: ListKind,
    pub reason: String,
}

/// Charity: register a fundraising project. With a
/// `public_fundraising_ref` it needs the bureau's approval before it takes
/// donations; without one it is active at once.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct RegisterProject {
    pub project: ProjectId,
    pub title: String,
    pub category: ProjectCategory,
    pub target: Fen,
    pub start: Timestamp,
    pub end: Timestamp,
    pub public_fundraising_ref: Option<String>,
}

/// Charity: a donation received, with its e-receipt.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct RecordDonation {
    pub receipt: ReceiptNo,
    pub donor: Commitment,
    pub amount: Fen,
    pub channel: Channel,
    pub fund: FundRef,
    pub restricted: bool,
    pub pledge: Option<String>,
}

/// Charity: money spent from a fund, with evidence hashes.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct RecordDisbursement {
    pub fund: FundRef,
    pub amount: Fen,
    pub category: SpendingCategory,
    pub recipient: Recipient,
    pub purpose: String,
    pub evidence: Vec<Evidence>,
    pub milestone: Option<String>,
}

/// Charity: return (part of) a donation, named by its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct RecordRefund {
    pub receipt: ReceiptNo,
    pub amount: Fen,
    pub reason: String,
}

/// Charity: grant money from one of its funds to another charity's project.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct TransferGrant {
    pub from: FundRef,
    pub to: ProjectId,
    pub amount: Fen,
    pub purpose: String,
}

/// Any member: an append-only amendment of one of its own records. The
/// original stays as it was; readers see both.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct Correction {
    pub target: RecordId,
    pub field: String,
    pub corrected: String,
    pub reason: String,
}

/// Charity: close a project with its final report.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct CloseProject {
    pub project: ProjectId,
    #[serde(with = "crate::hexser::hash32")]
    pub final_report: Hash32,
}

/// Lottery centre: sales of one game in one draw period and region.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct RecordLotterySales {
    pub game: GameId,
    pub period: String,
    pub region: String,
    pub sales: Fen,
}

/// Where a welfare-fund allocation goes.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub enum WelfareRecipient {
    /// A charity's project: the money enters it as a traced source.
    Project(ProjectId),
    /// A programme outside the ledger's charities, by name.
    Programme(String),
}

/// Lottery centre: allocate local public-welfare funds.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct AllocateWelfareFund {
    pub amount: Fen,
    pub purpose: WelfarePurpose,
    pub recipient: WelfareRecipient,
}

/// Lottery centre: prizes paid out of a game's prize fund.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct RecordPrizePayout {
    pub game: GameId,
    pub period: String,
    pub amount: Fen,
}

/// Auditor: an attestation that the log at `log_size` has `log_root`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct AuditAttestation {
    pub height: u64,
    pub log_size: u64,
    #[serde(with = "crate::hexser::hash32")]
    pub log_root: Hash32,
    pub scope: String,
    pub findings: u32,
    #[serde(with = "crate::hexser::hash32")]
    pub report: Hash32,
}

/// Auditor: a finding about one committed record.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    pub target: RecordId,
    pub severity: Severity,
    pub text: String,
}

/// What a disclosure reports on.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub enum ReportSubject {
    /// A project's progress (a campaign longer than six months reports at
    /// least every three months).
    Project(ProjectId),
    /// A charity's own year.
    Charity { year: u32 },
    /// A year's use of the local welfare fund (published by the lottery
    /// centre by the end of June of the next year).
    WelfareFund { year: u32 },
}

/// Charity or lottery centre: a disclosure — a report published (its
/// blake3) for a period of a project, a charity's year, or a year of the
/// welfare fund. The report itself lives wherever the publisher keeps it;
/// its hash makes it checkable.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct PublishReport {
    pub subject: ReportSubject,
    /// The period it covers, e.g. `2026-Q1`, `2026`.
    pub period: String,
    #[serde(with = "crate::hexser::hash32")]
    pub report: Hash32,
}

/// What a draw is for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub enum DrawKind {
    /// A reward draw among players (彩民回馈抽奖): entries are entrants.
    Reward,
    /// A game draw: entries are ticket fingerprints.
    Game,
}

/// Lottery centre: opens a verifiable draw (SPEC §15). Entries are salted
/// commitments in a Merkle tree whose root and size are fixed here; its
/// own seed is committed here too.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct OpenDraw {
    pub draw: DrawId,
    pub draw_kind: DrawKind,
    pub title: String,
    /// Root of the entry set (SPEC §15.1).
    #[serde(with = "crate::hexser::hash32")]
    pub entries_root: Hash32,
    /// How many entries (leaves) the set holds.
    pub entries: u64,
    /// How many entries win (1 to `min(entries, 256)`).
    pub winners: u32,
    /// Seeds are committed in blocks up to this height; block `closes + 1`
    /// is the beacon block.
    pub closes: u64,
    /// Seeds are revealed in blocks `closes + 2` to `reveal_by`.
    pub reveal_by: u64,
    /// `draw::seed_commitment(draw, seed)` of the centre's own seed.
    #[serde(with = "crate::hexser::hash32")]
    pub seed_commitment: Hash32,
    /// Members besides auditors invited to commit seeds (at most 16).
    pub invited: Vec<Address>,
}

/// An auditor or invited member: commits a seed to an open draw.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct CommitDrawSeed {
    pub draw: DrawId,
    #[serde(with = "crate::hexser::hash32")]
    pub seed_commitment: Hash32,
}

/// A committer reveals its seed once the beacon block is decided.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct RevealDrawSeed {
    pub draw: DrawId,
    #[serde(with = "crate::hexser::hash32")]
    pub seed: Hash32,
}

/// Any member: states a draw's outcome, which the ledger recomputes (SPEC
/// §15.3) and refuses unless it is exactly the one.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct SettleDraw {
    pub draw: DrawId,
    /// The winning entry indices, in the order drawn.
    pub winners: Vec<u64>,
}

/// What a record does. The variant index is part of the canonical bytes:
/// append new kinds at the end, never reorder.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub enum Payload {
    AdmitMember(AdmitMember),
    UpdateMember(UpdateMember),
    SuspendMember(SuspendMember),
    ReinstateMember(ReinstateMember),
    RotateKey(RotateKey),
    SetValidator(SetValidator),
    ApproveProject(ApproveProject),
    ListOrganisation(ListOrganisation),
    DelistOrganisation(DelistOrganisation),
    RegisterProject(RegisterProject),
    RecordDonation(RecordDonation),
    RecordDisbursement(RecordDisbursement),
    RecordRefund(RecordRefund),
    TransferGrant(TransferGrant),
    Correction(Correction),
    CloseProject(CloseProject),
    RecordLotterySales(RecordLotterySales),
    AllocateWelfareFund(AllocateWelfareFund),
    RecordPrizePayout(RecordPrizePayout),
    AuditAttestation(AuditAttestation),
    Finding(Finding),
    PublishReport(PublishReport),
    OpenDraw(OpenDraw),
    CommitDrawSeed(CommitDrawSeed),
    RevealDrawSeed(RevealDrawSeed),
    SettleDraw(SettleDraw),
}

impl Payload {
    /// The payload's name, as used in errors and the API.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::AdmitMember(_) => "AdmitMember",
            Payload::UpdateMember(_) => "UpdateMember",
            Payload::SuspendMember(_) => "SuspendMember",
            Payload::ReinstateMember(_) => "ReinstateMember",
            Payload::RotateKey(_) => "RotateKey",
            Payload::SetValidator(_) => "SetValidator",
            Payload::ApproveProject(_) => "ApproveProject",
            Payload::ListOrganisation(_) => "ListOrganisation",
            Payload::DelistOrganisation(_) => "DelistOrganisation",
            Payload::RegisterProject(_) => "RegisterProject",
            Payload::RecordDonation(_) => "RecordDonation",
            Payload::RecordDisbursement(_) => "RecordDisbursement",
            Payload::RecordRefund(_) => "RecordRefund",
            Payload::TransferGrant(_) => "TransferGrant",
            Payload::Correction(_) => "Correction",
            Payload::CloseProject(_) => "CloseProject",
            Payload::RecordLotterySales(_) => "RecordLotterySales",
            Payload::AllocateWelfareFund(_) => "AllocateWelfareFund",
            Payload::RecordPrizePayout(_) => "RecordPrizePayout",
            Payload::AuditAttestation(_) => "AuditAttestation",
            Payload::Finding(_) => "Finding",
            Payload::PublishReport(_) => "PublishReport",
            Payload::OpenDraw(_) => "OpenDraw",
            Payload::CommitDrawSeed(_) => "CommitDrawSeed",
            Payload::RevealDrawSeed(_) => "RevealDrawSeed",
            Payload::SettleDraw(_) => "SettleDraw",
        }
    }

    /// Whether a member with `role` may sign this payload.
    pub fn permits(&self, role: Role) -> bool {
        use Payload::*;
        match self {
            AdmitMember(_)
            | UpdateMember(_)
            | SuspendMember(_)
            | ReinstateMember(_)
            | RotateKey(_)
            | SetValidator(_)
            | ApproveProject(_)
            | ListOrganisation(_)
            | DelistOrganisation(_) => role == Role::Bureau,
            RegisterProject(_)
            | RecordDonation(_)
            | RecordDisbursement(_)
            | RecordRefund(_)
            | TransferGrant(_)
            | CloseProject(_) => role == Role::Charity,
            RecordLotterySales(_) | AllocateWelfareFund(_) | RecordPrizePayout(_) | OpenDraw(_) => {
                role == Role::LotteryCentre
            }
            // Who may commit or reveal depends on the draw (§8.3); anyone
            // may settle, since the outcome is computed, not chosen.
            CommitDrawSeed(_) | RevealDrawSeed(_) | SettleDraw(_) => true,
            AuditAttestation(_) | Finding(_) => role == Role::Auditor,
            Correction(_) => true,
            PublishReport(p) => match p.subject {
                ReportSubject::WelfareFund { .. } => role == Role::LotteryCentre,
                ReportSubject::Project(_) | ReportSubject::Charity { .. } => role == Role::Charity,
            },
        }
    }
}

/// The signed part of a record.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct RecordBody {
    /// When the signer made it (UTC ms).
    pub created: Timestamp,
    /// After this block time the record is refused.
    pub expires: Timestamp,
    /// Random, so that two otherwise equal records have different ids.
    pub nonce: u64,
    pub payload: Payload,
}

/// A record with its signer's public key and signature over
/// `"shanlian/record/v1" || 0x00 || genesis_hash || encode(body)`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SignedRecord {
    pub body: RecordBody,
    pub signer: PublicKey,
    pub signature: Signature,
}

impl SignedRecord {
    /// Signs a body.
    pub fn sign(body: RecordBody, key: &Keypair, genesis: &Hash32) -> SignedRecord {
        let signature = key.sign(Domain::Record, genesis, &codec::encode(&body));
        SignedRecord {
            body,
            signer: key.public(),
            signature,
        }
    }
    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }
    /// blake3 of the canonical bytes.
    pub fn id(&self) -> RecordId {
        RecordId::of_bytes(&self.to_bytes())
    }
}

/// A decoded record with its canonical bytes and id, as carried in blocks
/// and pools (the bytes are kept so the id and signature message need not
/// be recomputed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub signed: SignedRecord,
    pub bytes: Vec<u8>,
    pub id: RecordId,
    /// The record's leaf hash in the log and in its block's record root,
    /// `blake3(0x00 ‖ id)` (SPEC §6): hashed once, with the id, wherever
    /// the record is decoded (on all cores), not again by each tree.
    pub leaf: Hash32,
}

impl Record {
    pub fn new(signed: SignedRecord) -> Record {
        let bytes = signed.to_bytes();
        Record::with_bytes(signed, bytes)
    }
    /// A record from its decoded form and the bytes it was decoded from,
    /// which must be its canonical encoding (checked, or read from a store
    /// whose log vouches for them); hashes the id and leaf.
    pub fn with_bytes(signed: SignedRecord, bytes: Vec<u8>) -> Record {
        use crate::merkle::MerkleHasher as _;
        let id = RecordId::of_bytes(&bytes);
        let leaf = crate::merkle::Blake3Hasher::hash_leaf(&id.0);
        Record {
            signed,
            bytes,
            id,
            leaf,
        }
    }
    /// Decodes untrusted bytes: size limit first, then strict canonical
    /// decoding, then the stateless field checks.
    pub fn from_bytes(bytes: &[u8], max_bytes: usize) -> Result<Record, crate::Refusal> {
        let signed = Record::decode_checked(bytes, max_bytes)?;
        Ok(Record::with_bytes(signed, bytes.to_vec()))
    }
    /// [`Record::from_bytes`] for bytes the caller owns and gives up: the
    /// record keeps them, uncopied.
    pub fn from_vec(bytes: Vec<u8>, max_bytes: usize) -> Result<Record, crate::Refusal> {
        let signed = Record::decode_checked(&bytes, max_bytes)?;
        Ok(Record::with_bytes(signed, bytes))
    }
    fn decode_checked(bytes: &[u8], max_bytes: usize) -> Result<SignedRecord, crate::Refusal> {
        if bytes.len() > max_bytes {
            return Err(crate::Refusal::TooLarge {
                size: bytes.len(),
                max: max_bytes,
            });
        }
        let signed: SignedRecord = codec::decode_canonical(bytes)?;
        check_fields(&signed.body.payload)?;
        Ok(signed)
    }
    /// The body bytes, which are the tail of the signing message.
    pub fn body_bytes(&self) -> &[u8] {
        // The body is the prefix of the record encoding; signer (32) and
        // signature (64) follow it.
        &self.bytes[..self.bytes.len() - 96]
    }
    /// The exact message the signature is over.
    pub fn signing_message(&self, genesis: &Hash32) -> Vec<u8> {
        crate::crypto::signing_message(Domain::Record, genesis, self.body_bytes())
    }
}

/// Limits on free-text fields, in bytes.
pub const MAX_TEXT: usize = 1024;
/// Most evidence documents one disbursement may list.
pub const MAX_EVIDENCE: usize = 64;

fn text(field: &'static str, s: &str, max: usize) -> Result<(), crate::Refusal> {
    if s.len() > max {
        return Err(crate::Refusal::InvalidField {
            field,
            reason: format!("longer than {max} bytes"),
        });
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(crate::Refusal::InvalidField {
            field,
            reason: "contains control characters".into(),
        });
    }
    Ok(())
}

fn nonempty(field: &'static str, s: &str) -> Result<(), crate::Refusal> {
    if s.trim().is_empty() {
        return Err(crate::Refusal::InvalidField {
            field,
            reason: "must not be empty".into(),
        });
    }
    text(field, s, MAX_TEXT)
}

fn code(field: &'static str, r: Result<(), String>) -> Result<(), crate::Refusal> {
    r.map_err(|reason| crate::Refusal::InvalidField { field, reason })
}

fn positive(field: &'static str, f: Fen) -> Result<(), crate::Refusal> {
    if f.0 == 0 {
        return Err(crate::Refusal::NotPositive { field });
    }
    Ok(())
}

fn fund(field: &'static str, f: &FundRef) -> Result<(), crate::Refusal> {
    match f {
        FundRef::General(_) => Ok(()),
        FundRef::Project(p) => code(field, p.check()),
        FundRef::WelfarePool => Err(crate::Refusal::InvalidField {
            field,
            reason: "the welfare pool is not a charity fund".into(),
        }),
    }
}

/// Field checks that need no state: amounts positive, codes well formed,
/// texts bounded. Every decoded record passes these before anything else.
pub fn check_fields(p: &Payload) -> Result<(), crate::Refusal> {
    match p {
        Payload::AdmitMember(m) => {
            nonempty("name", &m.name)?;
            code("uscc", m.uscc.check())
        }
        Payload::UpdateMember(m) => {
            if let Some(n) = &m.name {
                nonempty("name", n)?;
            }
            if let Some(u) = &m.uscc {
                code("uscc", u.check())?;
            }
            Ok(())
        }
        Payload::SuspendMember(m) => nonempty("reason", &m.reason),
        Payload::ReinstateMember(_) | Payload::RotateKey(_) | Payload::SetValidator(_) => Ok(()),
        Payload::ApproveProject(a) => {
            code("project", a.project.check())?;
            nonempty("approval_ref", &a.approval_ref)
        }
        Payload::ListOrganisation(l) => nonempty("reason", &l.reason),
        Payload::DelistOrganisation(l) => nonempty("reason", &l.reason),
        Payload::RegisterProject(r) => {
            code("project", r.project.check())?;
            nonempty("title", &r.title)?;
            positive("target", r.target)?;
            if r.end <= r.start {
                return Err(crate::Refusal::InvalidField {
                    field: "end",
                    reason: "project must end after it starts".into(),
                });
            }
            if let Some(x) = &r.public_fundraising_ref {
                nonempty("public_fundraising_ref", x)?;
            }
            Ok(())
        }
        Payload::RecordDonation(d) => {
            code("receipt", d.receipt.check())?;
            positive("amount", d.amount)?;
            fund("fund", &d.fund)?;
            if d.restricted && matches!(d.fund, FundRef::General(_)) {
                return Err(crate::Refusal::InvalidField {
                    field: "restricted",
                    reason: "a restricted donation must name a project".into(),
                });
            }
            if let Channel::InKind { description, .. } = &d.channel {
                nonempty("channel.description", description)?;
            }
            if let Some(p) = &d.pledge {
                nonempty("pledge", p)?;
            }
            Ok(())
        }
        Payload::RecordDisbursement(d) => {
            fund("fund", &d.fund)?;
            positive("amount", d.amount)?;
            nonempty("purpose", &d.purpose)?;
            if let Recipient::Organisation { name, uscc } = &d.recipient {
                nonempty("recipient.name", name)?;
                if let Some(u) = uscc {
                    code("recipient.uscc", u.check())?;
                }
            }
            if d.evidence.len() > MAX_EVIDENCE {
                return Err(crate::Refusal::InvalidField {
                    field: "evidence",
                    reason: format!("more than {MAX_EVIDENCE} documents"),
                });
            }
            if let Some(m) = &d.milestone {
                nonempty("milestone", m)?;
            }
            Ok(())
        }
        Payload::RecordRefund(r) => {
            code("receipt", r.receipt.check())?;
            positive("amount", r.amount)?;
            nonempty("reason", &r.reason)
        }
        Payload::TransferGrant(g) => {
            fund("from", &g.from)?;
            code("to", g.to.check())?;
            positive("amount", g.amount)?;
            nonempty("purpose", &g.purpose)
        }
        Payload::Correction(c) => {
            nonempty("field", &c.field)?;
            text("corrected", &c.corrected, MAX_TEXT)?;
            nonempty("reason", &c.reason)
        }
        Payload::CloseProject(c) => code("project", c.project.check()),
        Payload::RecordLotterySales(s) => {
            code("game", s.game.check())?;
            nonempty("period", &s.period)?;
            nonempty("region", &s.region)?;
            positive("sales", s.sales)
        }
        Payload::AllocateWelfareFund(a) => {
            positive("amount", a.amount)?;
            match &a.recipient {
                WelfareRecipient::Project(p) => code("recipient", p.check()),
                WelfareRecipient::Programme(n) => nonempty("recipient", n),
            }
        }
        Payload::RecordPrizePayout(p) => {
            code("game", p.game.check())?;
            nonempty("period", &p.period)?;
            positive("amount", p.amount)
        }
        Payload::AuditAttestation(a) => nonempty("scope", &a.scope),
        Payload::Finding(f) => nonempty("text", &f.text),
        Payload::OpenDraw(d) => {
            code("draw", d.draw.check())?;
            nonempty("title", &d.title)?;
            if d.entries == 0 {
                return Err(crate::Refusal::InvalidField {
                    field: "entries",
                    reason: "a draw needs at least one entry".into(),
                });
            }
            if d.winners == 0
                || d.winners > crate::draw::MAX_WINNERS
                || u64::from(d.winners) > d.entries
            {
                return Err(crate::Refusal::InvalidField {
                    field: "winners",
                    reason: format!(
                        "must be 1 to the number of entries, at most {}",
                        crate::draw::MAX_WINNERS
                    ),
                });
            }
            if d.reveal_by < d.closes.saturating_add(2) {
                return Err(crate::Refusal::InvalidField {
                    field: "reveal_by",
                    reason: "reveals come after the beacon block: reveal_by ≥ closes + 2".into(),
                });
            }
            let mut seen = d.invited.clone();
            seen.sort_unstable();
            seen.dedup();
            if d.invited.len() > crate::draw::MAX_INVITED || seen.len() != d.invited.len() {
                return Err(crate::Refusal::InvalidField {
                    field: "invited",
                    reason: format!("at most {} distinct members", crate::draw::MAX_INVITED),
                });
            }
            Ok(())
        }
        Payload::CommitDrawSeed(c) => code("draw", c.draw.check()),
        Payload::RevealDrawSeed(r) => code("draw", r.draw.check()),
        Payload::SettleDraw(s) => {
            code("draw", s.draw.check())?;
            if s.winners.len() > crate::draw::MAX_WINNERS as usize {
                return Err(crate::Refusal::InvalidField {
                    field: "winners",
                    reason: format!("at most {} winners", crate::draw::MAX_WINNERS),
                });
            }
            Ok(())
        }
        Payload::PublishReport(r) => {
            if let ReportSubject::Project(p) = &r.subject {
                code("subject", p.check())?;
            }
            nonempty("period", &r.period)
        }
    }
}
