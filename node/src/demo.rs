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

/// `n` donations of `amount(i)` fen into `fund`, receipts `{prefix}-{i}`,
/// signed with `key` on all cores: the one way the node's benchmark,
/// `localnet` and the tests make donations in bulk.
pub fn donations(
    key: &shanlian_ledger::crypto::Keypair,
    genesis_hash: &Hash32,
    fund: &FundRef,
    prefix: &str,
    n: usize,
    amount: impl Fn(u64) -> u64 + Sync,
) -> Vec<Record> {
    use rayon::prelude::*;
    let created = crate::app::now();
    (0..n as u64)
        .into_par_iter()
        .map(|i| {
            let body = RecordBody {
                created,
                expires: Timestamp(created.0 + 3_500_000),
                nonce: i,
                payload: donation(
                    ReceiptNo(format!("{prefix}-{i}")),
                    fund.clone(),
                    amount(i),
                    i,
                ),
            };
            Record::new(SignedRecord::sign(body, key, genesis_hash))
        })
        .collect()
}
