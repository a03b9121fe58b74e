//! Why a record or block was refused. Every variant names one rule; its
//! [`Refusal::code`] is stable and is what APIs return beside the message.

use crate::codec::DecodeError;
use crate::types::*;

/// A record was refused: nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("record is {size} bytes, more than the limit of {max}")]
    TooLarge { size: usize, max: usize },
    #[error("record bytes: {0}")]
    Decode(#[from] DecodeError),
    #[error("field `{field}`: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("field `{field}` must be a positive amount of fen")]
    NotPositive { field: &'static str },
    #[error("record was created at {created}, later than {block_time} (the block's time, or the node's clock when it was submitted) plus the allowed clock skew: check the signer's clock")]
    NotYetValid {
        created: Timestamp,
        block_time: Timestamp,
    },
    #[error("record expired at {expires}, before {block_time} (the block's time, or the node's clock when it was submitted): sign it again with a later expiry")]
    Expired {
        expires: Timestamp,
        block_time: Timestamp,
    },
    #[error("record expiry is {window_ms} ms after creation; the limit is {max_ms} ms")]
    ExpiryWindow { window_ms: u64, max_ms: u64 },
    #[error("record {0} is already committed")]
    Duplicate(RecordId),
    #[error("signer key {0} belongs to no member")]
    UnknownSigner(PublicKey),
    #[error("signer key {0} was rotated out")]
    RetiredKey(PublicKey),
    #[error("member {0} is suspended")]
    SignerSuspended(Address),
    #[error("{role:?} members may not sign {payload}")]
    RoleNotPermitted { role: Role, payload: &'static str },
    #[error("signature does not verify")]
    BadSignature,
    #[error("member {0} does not exist")]
    UnknownMember(Address),
    #[error("member {0} already exists")]
    MemberExists(Address),
    #[error("key {0} is already in use")]
    KeyInUse(PublicKey),
    #[error("key is not acceptable: {0}")]
    WeakKey(String),
    #[error("member {0} is not suspended")]
    NotSuspended(Address),
    #[error("member {0} is already suspended")]
    AlreadySuspended(Address),
    #[error("the bureau cannot suspend itself")]
    SelfSuspension,
    #[error("the old key's consent signature does not verify")]
    BadRotationConsent,
    #[error(
        "validator change takes effect at height {effective}; the earliest allowed is {earliest}"
    )]
    ValidatorChangeTooSoon { effective: u64, earliest: u64 },
    #[error("validator change would leave some height with no voting power")]
    EmptyValidatorSet,
    #[error("member {0} is suspended")]
    MemberSuspended(Address),
    #[error("member {0} holds or is scheduled for voting power: remove it as a validator before rotating its key")]
    ValidatorKeyRotation(Address),
    #[error("project {0} already exists")]
    ProjectExists(ProjectId),
    #[error("project {0} does not exist")]
    UnknownProject(ProjectId),
    #[error("project {0} belongs to another charity")]
    NotProjectOwner(ProjectId),
    #[error("project {0} awaits public-fundraising approval")]
    ProjectNotApproved(ProjectId),
    #[error("project {0} is not awaiting approval")]
    ProjectNotPending(ProjectId),
    #[error("project {0} is closed")]
    ProjectClosed(ProjectId),
    #[error("project {project} runs from {start} to {end}; block time is {time}")]
    OutsideProjectDates {
        project: ProjectId,
        start: Timestamp,
        end: Timestamp,
        time: Timestamp,
    },
    #[error("project {project} ends at {end}, which has passed")]
    ProjectAlreadyEnded { project: ProjectId, end: Timestamp },
    #[error("project {project} still holds {balance}; spend, grant or refund it before closing")]
    ProjectNotEmpty { project: ProjectId, balance: Fen },
    #[error("the general fund of {0} belongs to another charity")]
    NotFundOwner(Address),
    #[error("a grant must go to another charity's project")]
    SelfGrant,
    #[error("organisation {0} is on the {1:?} list")]
    OrganisationListed(Address, ListKind),
    #[error("organisation {0} is not on the {1:?} list")]
    NotListed(Address, ListKind),
    #[error("receipt {receipt} was already issued by this charity")]
    DuplicateReceipt { receipt: ReceiptNo },
    #[error("this charity issued no receipt {receipt}")]
    UnknownReceipt { receipt: ReceiptNo },
    #[error("fund holds {available}; {requested} was requested")]
    InsufficientFunds { available: Fen, requested: Fen },
    #[error(
        "only {refundable} of donation {receipt} is left to refund; {requested} was requested"
    )]
    RefundExceedsDonation {
        receipt: ReceiptNo,
        refundable: Fen,
        requested: Fen,
    },
    #[error("amount overflows the ledger's 64-bit fen counters")]
    Overflow,
    #[error("game {0} is not in genesis")]
    UnknownGame(GameId),
    #[error("sales of game {game} for period {period} in region {region} were already recorded")]
    DuplicateSalesReport {
        game: GameId,
        period: String,
        region: String,
    },
    #[error("the local welfare pool holds {available}; {requested} was requested")]
    InsufficientWelfarePool { available: Fen, requested: Fen },
    #[error("the prize fund of game {game} holds {available}; {requested} was requested")]
    InsufficientPrizeFund {
        game: GameId,
        available: Fen,
        requested: Fen,
    },
    #[error("record {0} is not committed")]
    UnknownTarget(RecordId),
    #[error("record {0} was signed by another member")]
    NotOwnRecord(RecordId),
    #[error("no committed block at height {0}")]
    UnknownHeight(u64),
    #[error("attested log (size {log_size}, root) does not match the header at height {height}")]
    AttestationMismatch { height: u64, log_size: u64 },
    #[error("the block already holds {0} records, the most allowed")]
    BlockFull(u32),
    #[error("a report for the year {year} cannot be published in {now}")]
    ReportFutureYear { year: u32, now: u32 },
    #[error("draw {0} already exists")]
    DrawExists(DrawId),
    #[error("no draw {0}")]
    UnknownDraw(DrawId),
    #[error("a draw must close after this block (height {height}); it closes at {closes}")]
    DrawClosesTooSoon { closes: u64, height: u64 },
    #[error("draw {draw} closed at height {closes}: seeds can no longer be committed")]
    DrawClosed { draw: DrawId, closes: u64 },
    #[error("only auditors and the members draw {0} invites may commit seeds to it")]
    DrawNotInvited(DrawId),
    #[error("this member already committed a seed to draw {0}")]
    DrawAlreadyCommitted(DrawId),
    #[error("this member committed no seed to draw {0}")]
    DrawNotCommitter(DrawId),
    #[error(
        "draw {draw}: seeds are revealed from height {from}, after the beacon block is decided"
    )]
    DrawRevealTooEarly { draw: DrawId, from: u64 },
    #[error("draw {draw}: reveals closed at height {reveal_by}")]
    DrawRevealLate { draw: DrawId, reveal_by: u64 },
    #[error("this member already revealed its seed to draw {0}")]
    DrawAlreadyRevealed(DrawId),
    #[error("the seed does not match the commitment made to draw {0}")]
    DrawRevealMismatch(DrawId),
    #[error(
        "draw {draw} cannot be settled before height {from} (or before every seed is revealed)"
    )]
    DrawNotReady { draw: DrawId, from: u64 },
    #[error("draw {0} is already settled")]
    DrawSettled(DrawId),
    #[error("draw {draw}: the winners are {expected:?}, not the ones stated")]
    DrawWrongOutcome { draw: DrawId, expected: Vec<u64> },
}

impl Refusal {
    /// A stable, machine-readable name of the rule.
    pub fn code(&self) -> &'static str {
        use Refusal::*;
        match self {
            TooLarge { .. } => "record.too_large",
            Decode(_) => "record.malformed",
            InvalidField { .. } => "field.invalid",
            NotPositive { .. } => "field.not_positive",
            NotYetValid { .. } => "time.not_yet_valid",
            Expired { .. } => "time.expired",
            ExpiryWindow { .. } => "time.expiry_window",
            Duplicate(_) => "record.duplicate",
            UnknownSigner(_) => "signer.unknown",
            RetiredKey(_) => "signer.retired_key",
            SignerSuspended(_) => "signer.suspended",
            RoleNotPermitted { .. } => "signer.role",
            BadSignature => "signer.bad_signature",
            UnknownMember(_) => "member.unknown",
            MemberExists(_) => "member.exists",
            KeyInUse(_) => "member.key_in_use",
            WeakKey(_) => "member.weak_key",
            NotSuspended(_) => "member.not_suspended",
            AlreadySuspended(_) => "member.already_suspended",
            SelfSuspension => "member.self_suspension",
            BadRotationConsent => "member.bad_rotation_consent",
            ValidatorChangeTooSoon { .. } => "validator.too_soon",
            EmptyValidatorSet => "validator.empty_set",
            MemberSuspended(_) => "member.suspended",
            ValidatorKeyRotation(_) => "validator.rotate_key",
            ProjectExists(_) => "project.exists",
            UnknownProject(_) => "project.unknown",
            NotProjectOwner(_) => "project.not_owner",
            ProjectNotApproved(_) => "project.not_approved",
            ProjectNotPending(_) => "project.not_pending",
            ProjectClosed(_) => "project.closed",
            OutsideProjectDates { .. } => "project.outside_dates",
            ProjectAlreadyEnded { .. } => "project.already_ended",
            ProjectNotEmpty { .. } => "project.not_empty",
            NotFundOwner(_) => "fund.not_owner",
            SelfGrant => "grant.self",
            OrganisationListed(..) => "organisation.listed",
            NotListed(..) => "organisation.not_listed",
            DuplicateReceipt { .. } => "donation.duplicate_receipt",
            UnknownReceipt { .. } => "donation.unknown_receipt",
            InsufficientFunds { .. } => "fund.insufficient",
            RefundExceedsDonation { .. } => "refund.exceeds_donation",
            Overflow => "amount.overflow",
            UnknownGame(_) => "lottery.unknown_game",
            DuplicateSalesReport { .. } => "lottery.duplicate_sales",
            InsufficientWelfarePool { .. } => "lottery.insufficient_welfare_pool",
            InsufficientPrizeFund { .. } => "lottery.insufficient_prize_fund",
            UnknownTarget(_) => "target.unknown",
            NotOwnRecord(_) => "target.not_own",
            UnknownHeight(_) => "audit.unknown_height",
            AttestationMismatch { .. } => "audit.mismatch",
            BlockFull(_) => "block.full",
            ReportFutureYear { .. } => "report.future_year",
            DrawExists(_) => "draw.exists",
            UnknownDraw(_) => "draw.unknown",
            DrawClosesTooSoon { .. } => "draw.closes_too_soon",
            DrawClosed { .. } => "draw.closed",
            DrawNotInvited(_) => "draw.not_invited",
            DrawAlreadyCommitted(_) => "draw.already_committed",
            DrawNotCommitter(_) => "draw.not_committer",
            DrawRevealTooEarly { .. } => "draw.reveal_too_early",
            DrawRevealLate { .. } => "draw.reveal_late",
            DrawAlreadyRevealed(_) => "draw.already_revealed",
            DrawRevealMismatch(_) => "draw.reveal_mismatch",
            DrawNotReady { .. } => "draw.not_ready",
            DrawSettled(_) => "draw.settled",
            DrawWrongOutcome { .. } => "draw.wrong_outcome",
        }
    }
}

/// A block was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("block height {got}, expected {expected}")]
    WrongHeight { expected: u64, got: u64 },
    #[error("block time {got} is not after the previous block's {previous}")]
    TimeNotIncreasing { previous: Timestamp, got: Timestamp },
    #[error("block has {got} records; the limit is {max}")]
    TooManyRecords { got: usize, max: usize },
    #[error("record {index} ({id}) refused: {refusal}")]
    Record {
        index: usize,
        id: RecordId,
        refusal: Refusal,
    },
    #[error("record {index} bytes refused: {refusal}")]
    RecordBytes { index: usize, refusal: Refusal },
    #[error("header field `{0}` does not match the recomputed value")]
    HeaderMismatch(&'static str),
    #[error("proposer {0} is not a validator at this height")]
    UnknownProposer(Address),
    #[error("no block is open (or it was not finished)")]
    NoOpenBlock,
    #[error("block time {got} is more than {skew_ms} ms ahead of this validator's clock ({now})")]
    FromTheFuture {
        got: Timestamp,
        now: Timestamp,
        skew_ms: u64,
    },
    #[error("log: {0}")]
    Log(String),
}

#[cfg(test)]
mod codes {
    use super::*;

    /// One refusal of every kind. The match below has no wildcard, so a new
    /// variant does not compile until it is listed here (and then in the
    /// golden list and SPEC §14).
    fn one_of_each() -> Vec<Refusal> {
        let a = Address([1; 20]);
        let k = PublicKey([2; 32]);
        let id = RecordId([3; 32]);
        let p = ProjectId("P".into());
        let r = ReceiptNo("R".into());
        let g = GameId("G".into());
        let d = DrawId("D".into());
        let t = Timestamp(0);
        let all = vec![
            Refusal::TooLarge { size: 1, max: 0 },
            Refusal::Decode(DecodeError::NonCanonical),
            Refusal::InvalidField {
                field: "f",
                reason: String::new(),
            },
            Refusal::NotPositive { field: "f" },
            Refusal::NotYetValid {
                created: t,
                block_time: t,
            },
            Refusal::Expired {
                expires: t,
                block_time: t,
            },
            Refusal::ExpiryWindow {
                window_ms: 0,
                max_ms: 0,
            },
            Refusal::Duplicate(id),
            Refusal::UnknownSigner(k),
            Refusal::RetiredKey(k),
            Refusal::SignerSuspended(a),
            Refusal::RoleNotPermitted {
                role: Role::Auditor,
                payload: "X",
            },
            Refusal::BadSignature,
            Refusal::UnknownMember(a),
            Refusal::MemberExists(a),
            Refusal::KeyInUse(k),
            Refusal::WeakKey(String::new()),
            Refusal::NotSuspended(a),
            Refusal::AlreadySuspended(a),
            Refusal::SelfSuspension,
            Refusal::BadRotationConsent,
            Refusal::ValidatorChangeTooSoon {
                effective: 0,
                earliest: 0,
            },
            Refusal::EmptyValidatorSet,
            Refusal::MemberSuspended(a),
            Refusal::ValidatorKeyRotation(a),
            Refusal::ProjectExists(p.clone()),
            Refusal::UnknownProject(p.clone()),
            Refusal::NotProjectOwner(p.clone()),
            Refusal::ProjectNotApproved(p.clone()),
            Refusal::ProjectNotPending(p.clone()),
            Refusal::ProjectClosed(p.clone()),
            Refusal::OutsideProjectDates {
                project: p.clone(),
                start: t,
                end: t,
                time: t,
            },
            Refusal::ProjectAlreadyEnded {
                project: p.clone(),
                end: t,
            },
            Refusal::ProjectNotEmpty {
                project: p,
                balance: Fen(1),
            },
            Refusal::NotFundOwner(a),
            Refusal::SelfGrant,
            Refusal::OrganisationListed(a, ListKind::AbnormalActivity),
            Refusal::NotListed(a, ListKind::SeriousViolation),
            Refusal::DuplicateReceipt { receipt: r.clone() },
            Refusal::UnknownReceipt { receipt: r.clone() },
            Refusal::InsufficientFunds {
                available: Fen(0),
                requested: Fen(1),
            },
            Refusal::RefundExceedsDonation {
                receipt: r,
                refundable: Fen(0),
                requested: Fen(1),
            },
            Refusal::Overflow,
            Refusal::UnknownGame(g.clone()),
            Refusal::DuplicateSalesReport {
                game: g.clone(),
                period: String::new(),
                region: String::new(),
            },
            Refusal::InsufficientWelfarePool {
                available: Fen(0),
                requested: Fen(1),
            },
            Refusal::InsufficientPrizeFund {
                game: g,
                available: Fen(0),
                requested: Fen(1),
            },
            Refusal::UnknownTarget(id),
            Refusal::NotOwnRecord(id),
            Refusal::UnknownHeight(0),
            Refusal::AttestationMismatch {
                height: 0,
                log_size: 0,
            },
            Refusal::BlockFull(0),
            Refusal::ReportFutureYear { year: 0, now: 0 },
            Refusal::DrawExists(d.clone()),
            Refusal::UnknownDraw(d.clone()),
            Refusal::DrawClosesTooSoon {
                closes: 0,
                height: 0,
            },
            Refusal::DrawClosed {
                draw: d.clone(),
                closes: 0,
            },
            Refusal::DrawNotInvited(d.clone()),
            Refusal::DrawAlreadyCommitted(d.clone()),
            Refusal::DrawNotCommitter(d.clone()),
            Refusal::DrawRevealTooEarly {
                draw: d.clone(),
                from: 0,
            },
            Refusal::DrawRevealLate {
                draw: d.clone(),
                reveal_by: 0,
            },
            Refusal::DrawAlreadyRevealed(d.clone()),
            Refusal::DrawRevealMismatch(d.clone()),
            Refusal::DrawNotReady {
                draw: d.clone(),
                from: 0,
            },
            Refusal::DrawSettled(d.clone()),
            Refusal::DrawWrongOutcome {
                draw: d,
                expected: vec![],
            },
        ];
        for r in &all {
            use Refusal::*;
            match r {
                TooLarge { .. }
                | Decode(_)
                | InvalidField { .. }
                | NotPositive { .. }
                | NotYetValid { .. }
                | Expired { .. }
                | ExpiryWindow { .. }
                | Duplicate(_)
                | UnknownSigner(_)
                | RetiredKey(_)
                | SignerSuspended(_)
                | RoleNotPermitted { .. }
                | BadSignature
                | UnknownMember(_)
                | MemberExists(_)
                | KeyInUse(_)
                | WeakKey(_)
                | NotSuspended(_)
                | AlreadySuspended(_)
                | SelfSuspension
                | BadRotationConsent
                | ValidatorChangeTooSoon { .. }
                | EmptyValidatorSet
                | MemberSuspended(_)
                | ValidatorKeyRotation(_)
                | ProjectExists(_)
                | UnknownProject(_)
                | NotProjectOwner(_)
                | ProjectNotApproved(_)
                | ProjectNotPending(_)
                | ProjectClosed(_)
                | OutsideProjectDates { .. }
                | ProjectAlreadyEnded { .. }
                | ProjectNotEmpty { .. }
                | NotFundOwner(_)
                | SelfGrant
                | OrganisationListed(..)
                | NotListed(..)
                | DuplicateReceipt { .. }
                | UnknownReceipt { .. }
                | InsufficientFunds { .. }
                | RefundExceedsDonation { .. }
                | Overflow
                | UnknownGame(_)
                | DuplicateSalesReport { .. }
                | InsufficientWelfarePool { .. }
                | InsufficientPrizeFund { .. }
                | UnknownTarget(_)
                | NotOwnRecord(_)
                | UnknownHeight(_)
                | AttestationMismatch { .. }
                | BlockFull(_)
                | ReportFutureYear { .. }
                | DrawExists(_)
                | UnknownDraw(_)
                | DrawClosesTooSoon { .. }
                | DrawClosed { .. }
                | DrawNotInvited(_)
                | DrawAlreadyCommitted(_)
                | DrawNotCommitter(_)
                | DrawRevealTooEarly { .. }
                | DrawRevealLate { .. }
                | DrawAlreadyRevealed(_)
                | DrawRevealMismatch(_)
                | DrawNotReady { .. }
                | DrawSettled(_)
                | DrawWrongOutcome { .. } => {}
            }
        }
        all
    }

    /// The golden list: every code clients may see, in SPEC §14's order.
    const GOLDEN: &str = include_str!("../../tests/data/refusal-codes.txt");

    #[test]
    fn codes_are_a_contract() {
        let mut from_code: Vec<&str> = one_of_each().iter().map(Refusal::code).collect();
        let golden: Vec<&str> = GOLDEN
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let mut g = golden.clone();
        from_code.sort_unstable();
        g.sort_unstable();
        assert_eq!(
            from_code, g,
            "Refusal::code and tests/data/refusal-codes.txt differ"
        );
        let mut dedup = g.clone();
        dedup.dedup();
        assert_eq!(dedup.len(), g.len(), "a code is used twice");
        // SPEC §14 lists exactly these, in the golden order.
        let spec = include_str!("../../../docs/SPEC.md");
        let table = &spec[spec.find("## 14. Refusal codes").expect("SPEC §14")..];
        let listed: Vec<&str> = table
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .collect();
        assert_eq!(
            listed, golden,
            "SPEC §14 and tests/data/refusal-codes.txt differ"
        );
    }
}
