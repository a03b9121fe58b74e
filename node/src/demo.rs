//! Realistic demo records for `localnet` and the network benchmark: the
//! payloads a charity's books would produce. Production code, not test
//! scaffolding: donors' identities are random salted commitments, as a real
//! charity's would be.

use shanlian_ledger::crypto::{commitment, document_hash};
use shanlian_ledger::record::*;
use shanlian_ledger::types::*;

/// The ways money reaches a charity, in the proportions a city charity's
/// books show (most giving is online or by e-CNY).
const CHANNELS: [Channel; 4] = [
    Channel::OnlinePlatform,
    Channel::DigitalRmb,
    Channel::Bank,
    Channel::Cash,
];

/// A donor identity commitment from a donor number and a salt: the charity
/// keeps identity and salt on the receipt; only the commitment is public.
pub fn donor(identity: &str, salt: &[u8; 32]) -> Commitment {
    commitment(identity, salt)
}

/// A donation of `amount` fen into `fund`, with receipt `receipt`, from
/// donor number `n` (its channel and commitment derived from `n`).
pub fn donation(receipt: ReceiptNo, fund: FundRef, amount: u64, n: u64) -> Payload {
    let mut salt = [0u8; 32];
    salt[..8].copy_from_slice(&n.to_le_bytes());
    salt[8..16].copy_from_slice(&amount.to_le_bytes());
    Payload::RecordDonation(RecordDonation {
        receipt,
        donor: donor(&format!("donor-{n}"), &salt),
        amount: Fen(amount),
        channel: CHANNELS[(n % CHANNELS.len() as u64) as usize].clone(),
        fund,
        restricted: false,
        pledge: None,
    })
}

/// A charitable-activity disbursement of `amount` fen out of `fund`, with
/// an invoice's hash as evidence.
pub fn disbursement(fund: FundRef, amount: u64, purpose: &str) -> Payload {
    Payload::RecordDisbursement(RecordDisbursement {
        fund,
        amount: Fen(amount),
        category: SpendingCategory::CharitableActivity,
        recipient: Recipient::Organisation {
            name: "社区长者食堂".into(),
            uscc: None,
        },
        purpose: purpose.into(),
        evidence: vec![Evidence {
            kind: EvidenceKind::Invoice,
            hash: document_hash(purpose.as_bytes()),
        }],
        milestone: None,
    })
}
