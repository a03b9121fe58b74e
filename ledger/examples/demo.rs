//! Shanlian's main job, for now on one machine: a ledger for the demo
//! network, driven through the same state machine, store and verifier
//! that nodes will use. It records a fundraising year — donations,
//! disbursements with evidence, a refused over-spend, a refund, a grant to
//! another charity, lottery sales and a welfare allocation — then answers
//! a donor's "where did my money go?" with a proof checked against the
//! certified header, and replays the whole chain as an auditor would.
//!
//! `cargo run -p shanlian-ledger --example demo [-- STORE_DIR]`
use shanlian_ledger::store::query::LedgerReader as _;
use shanlian_ledger::store::Store;
use shanlian_ledger::testkit::{payloads as p, DevNet};
use shanlian_ledger::tracing::{self, Direction, ProvedTrace, What};
use shanlian_ledger::types::*;
use shanlian_ledger::verify::verify_store;

/// Prints one donation's proven trace: each hop indented by its depth.
fn show(receipt: &ReceiptNo, t: &ProvedTrace) {
    println!(
        "\nWhere did receipt {receipt} ({} into {}) go? Proven as of block {}:",
        t.amount, t.fund, t.as_of.height
    );
    for s in &t.steps {
        let pad = "  ".repeat(s.depth as usize + 1);
        let what = match &s.what {
            What::Spent {
                outflow,
                outflow_kind,
                to,
                ..
            } => {
                let to = to
                    .as_ref()
                    .map(|p| format!(" → project {p}"))
                    .unwrap_or_default();
                format!("spent by {outflow_kind:?} {}…{to}", &outflow.to_hex()[..12])
            }
            What::Refunded { refund } => format!("refunded by {}…", &refund.to_hex()[..12]),
            What::NotShownSpent => format!("not spent as of block {}", t.as_of.height),
        };
        println!("{pad}{} {what} (in {})", s.amount, s.fund);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/demo-store".into());
    let _ = std::fs::remove_dir_all(&dir);
    let mut net = DevNet::on(Store::open(std::path::Path::new(&dir))?)?;
    println!(
        "Shanlian demo ledger in {dir} (chain {}, genesis {})",
        net.genesis.chain_id,
        hex::encode(&net.genesis_hash[..8])
    );

    let start = net.clock;
    let year = Timestamp(start.0 + 365 * 86_400_000);
    let projects = vec![
        net.sign(
            "charity-federation",
            p::project("SZCF-2026-ELDER", start, year),
        ),
        net.sign("red-cross", p::project("SZRC-2026-MEALS", start, year)),
    ];
    net.commit_all(&projects)?;
    let elder = FundRef::Project(ProjectId("SZCF-2026-ELDER".into()));

    // Three donors give to the elderly-care project.
    let salt = [42u8; 32];
    let donor = shanlian_ledger::crypto::commitment("110101199001011234", &salt);
    let my_receipt = ReceiptNo("SZCF-2026-000001".into());
    let mut gifts = vec![net.sign(
        "charity-federation",
        shanlian_ledger::record::Payload::RecordDonation(shanlian_ledger::record::RecordDonation {
            receipt: my_receipt.clone(),
            donor,
            amount: Fen(50_000),
            channel: Channel::DigitalRmb,
            fund: elder.clone(),
            restricted: true,
            pledge: None,
        }),
    )];
    for (i, amount) in [30_000u64, 120_000].into_iter().enumerate() {
        let r = ReceiptNo(format!("SZCF-2026-00000{}", i + 2));
        gifts.push(net.sign(
            "charity-federation",
            p::donation(r, elder.clone(), amount, i as u8),
        ));
    }
    net.commit_all(&gifts)?;
    println!(
        "height {}: 3 donations, {} received",
        net.state.height,
        Fen(200_000)
    );

    // A disbursement, an over-spend the ledger refuses, a grant, a refund.
    let spend = net.sign("charity-federation", p::disbursement(elder.clone(), 60_000));
    let too_much = net.sign(
        "charity-federation",
        p::disbursement(elder.clone(), 1_000_000),
    );
    let grant = net.sign(
        "charity-federation",
        p::grant(elder.clone(), "SZRC-2026-MEALS", 30_000),
    );
    let refund = net.sign(
        "charity-federation",
        p::refund(ReceiptNo("SZCF-2026-000003".into()), 10_000),
    );
    let refused = net.commit(&[spend, too_much, grant, refund])?;
    for (id, why) in &refused {
        println!(
            "height {}: refused record {}…: [{}] {}",
            net.state.height,
            &id.to_hex()[..12],
            why.code(),
            why
        );
    }
    let meals = FundRef::Project(ProjectId("SZRC-2026-MEALS".into()));
    let rc_spend = net.sign("red-cross", p::disbursement(meals, 25_000));
    net.commit_all(&[rc_spend])?;

    // Lottery: sales split by the genesis rule, then an allocation.
    let sales = net.sign("lottery-centre", p::sales("SSQ", "2026001", 10_000_000));
    net.commit_all(&[sales])?;
    let g = net
        .state
        .tables
        .games
        .get(&GameId("SSQ".into()))
        .cloned()
        .unwrap_or_default();
    println!(
        "height {}: SSQ sales {} → prizes {}, issuance fee {}, welfare central {}, local {}",
        net.state.height, g.sales, g.prize, g.issuance_fee, g.welfare_central, g.welfare_local
    );
    let alloc = net.sign(
        "lottery-centre",
        p::allocate(500_000, WelfarePurpose::Elderly, Some("SZCF-2026-ELDER")),
    );
    net.commit_all(&[alloc])?;

    // The donor's question, answered with a proof checked against the
    // genesis alone: every row in the write set of a certified block.
    let fed = net.address("charity-federation");
    for receipt in [&my_receipt, &ReceiptNo("SZCF-2026-000002".into())] {
        let Some(d) = net.store.donation(&fed, receipt)? else {
            continue;
        };
        let proof = net.store.trace_proof(&d.record, Direction::Forward)?;
        let proved = tracing::verify(&net.genesis, &proof)?;
        show(receipt, &proved);
        println!(
            "  (trace proof: {} bytes, {} rows, {} records, {} blocks)",
            proof.to_bytes().len(),
            proof.rows.len(),
            proof.records.len(),
            proof.blocks.len()
        );
    }

    // …and proved: the donation is in the log of a certified header.
    let don = net
        .store
        .donation(&fed, &my_receipt)?
        .ok_or("donation state")?;
    let loc = net.store.location(&don.record)?.ok_or("location")?;
    let tip = net.store.header(net.state.height)?.ok_or("tip header")?;
    let before = net
        .store
        .header(loc.height - 1)?
        .map(|h| h.log_size)
        .unwrap_or(0);
    let index = before + loc.index as u64;
    let proof = net.store.inclusion_proof(index, tip.log_size)?;
    proof.verify(&don.record.0, &tip.log_root)?;
    let cert = net.store.certificate(tip.height)?.ok_or("certificate")?;
    cert.verify(
        &net.genesis_hash,
        tip.height,
        &tip.hash(),
        &net.state.validator_set(tip.height),
    )?;
    println!(
        "\nProof: leaf {index} of {} under log root {}…, in header {} certified by {} validators",
        tip.log_size,
        &hex::encode(tip.log_root)[..16],
        tip.height,
        cert.signatures.len()
    );

    // The auditor replays everything.
    let report = verify_store(&net.store, Some(&net.genesis), |_| {})?;
    println!(
        "Auditor replay: {} blocks, {} records, state hash {}… — chain verifies",
        report.height,
        report.records,
        &hex::encode(report.state_hash)[..16]
    );
    Ok(())
}
