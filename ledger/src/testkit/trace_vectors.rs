//! The trace-proof vectors of `ledger/tests/data/traces/` (SPEC §10.9): a
//! deterministic dev chain where a donation is spent, refunded around, and
//! granted on across two projects; valid proofs from it, and hostile
//! variants, each with the error a verifier must report. The ledger's tests
//! and the web page's JavaScript verifier run the same files.

use super::{payloads as p, DevNet, NetError};
use crate::bundle::ProvenRecord;
use crate::record::*;
use crate::store::Store;
use crate::tracing::{verify, Direction, ProvedTrace, TraceProof};
use crate::types::*;
use serde_json::{json, Value};

/// The chain the vectors are cut from, and its records.
pub struct TraceChain {
    pub net: DevNet,
    /// The traced donation (30 000 fen into the federation's general fund).
    pub donation: RecordId,
    /// A donation later refunded in part.
    pub refunded: RecordId,
    /// The federation's disbursement, the grant to P, P's disbursement, P's
    /// grant to Q, Q's disbursement.
    pub x: RecordId,
    pub g1: RecordId,
    pub y: RecordId,
    pub g2: RecordId,
    pub z: RecordId,
    /// A lottery sales report and the welfare allocation to P.
    pub sales: RecordId,
    pub allocation: RecordId,
    /// A donation refunded at the end of its range after a grant took its
    /// start: a hole in the trace's tail.
    pub tail_refunded: RecordId,
}

/// Builds the chain (in memory; deterministic).
///
/// | height | records | axis of the federation's general fund F, P, Q |
/// |---|---|---|
/// | 1 | red-cross: project P; one-foundation: project Q | |
/// | 2 | federation: donations D0 10 000, **D 30 000**, D2 20 000, D3 10 000 | F `[0,10k) [10k,40k) [40k,60k) [60k,70k)` |
/// | 3 | federation: disbursement X 15 000 from F | X = F `[0, 15k)` |
/// | 4 | federation: refund 5 000 of D2 | hole F `[55k, 60k)` |
/// | 5 | federation: grant G1 45 000 from F to P | G1 = F `[15k, 65k)` around the hole; P `[0, 45k)` |
/// | 6 | red-cross: disbursement Y 10 000 from P | Y = P `[0, 10k)` |
/// | 7 | red-cross: grant G2 20 000 from P to Q | G2 = P `[10k, 30k)`; Q `[0, 20k)` |
/// | 8 | one-foundation: disbursement Z 12 000 from Q | Z = Q `[0, 12k)` |
/// | 9 | bureau: `SetValidator(red-cross, 10, at 11)` | |
/// | 10 | lottery centre: SSQ sales 1 000 000 | welfare pool `[0, 280k)` (local share) |
/// | 11 | lottery centre: allocation 50 000 to P | pool `[0, 50k)`; P `[45k, 95k)` |
/// | 12 | red-cross: disbursement 40 000 from P; federation: refund 2 000 of D3 | P `[30k, 70k)`; hole F `[68k, 70k)` |
pub fn trace_chain() -> Result<TraceChain, NetError> {
    let mut net = DevNet::on(Store::memory())?;
    let fed = FundRef::General(net.address("charity-federation"));
    let (pf, qf) = (
        FundRef::Project(ProjectId("SZRC-TRACE-P".into())),
        FundRef::Project(ProjectId("OF-TRACE-Q".into())),
    );
    let start = net.clock;
    let end = Timestamp(start.0 + 365 * 86_400_000);
    let a = net.sign("red-cross", p::project("SZRC-TRACE-P", start, end));
    let b = net.sign("one-foundation", p::project("OF-TRACE-Q", start, end));
    net.commit_all(&[a, b])?;
    let mut ds = Vec::new();
    let mut receipts = Vec::new();
    for (i, amount) in [10_000, 30_000, 20_000, 10_000].into_iter().enumerate() {
        let r = net.receipt();
        receipts.push(r.clone());
        ds.push(net.sign(
            "charity-federation",
            p::donation(r, fed.clone(), amount, i as u8 + 1),
        ));
    }
    net.commit_all(&ds)?;
    let x = net.sign("charity-federation", p::disbursement(fed.clone(), 15_000));
    net.commit_all(std::slice::from_ref(&x))?;
    let refund = net.sign("charity-federation", p::refund(receipts[2].clone(), 5_000));
    net.commit_all(&[refund])?;
    let g1 = net.sign(
        "charity-federation",
        p::grant(fed.clone(), "SZRC-TRACE-P", 45_000),
    );
    net.commit_all(std::slice::from_ref(&g1))?;
    let y = net.sign("red-cross", p::disbursement(pf.clone(), 10_000));
    net.commit_all(std::slice::from_ref(&y))?;
    let g2 = net.sign("red-cross", p::grant(pf.clone(), "OF-TRACE-Q", 20_000));
    net.commit_all(std::slice::from_ref(&g2))?;
    let z = net.sign("one-foundation", p::disbursement(qf, 12_000));
    net.commit_all(std::slice::from_ref(&z))?;
    let sv = net.sign(
        "bureau",
        Payload::SetValidator(SetValidator {
            member: net.address("red-cross"),
            power: 10,
            effective_height: 11,
        }),
    );
    net.commit_all(&[sv])?;
    let sales = net.sign("lottery-centre", p::sales("SSQ", "2026001", 1_000_000));
    net.commit_all(std::slice::from_ref(&sales))?;
    let allocation = net.sign(
        "lottery-centre",
        p::allocate(50_000, WelfarePurpose::Elderly, Some("SZRC-TRACE-P")),
    );
    net.commit_all(std::slice::from_ref(&allocation))?;
    let w = net.sign("red-cross", p::disbursement(pf, 40_000));
    let late = net.sign("charity-federation", p::refund(receipts[3].clone(), 2_000));
    net.commit_all(&[w, late])?;
    Ok(TraceChain {
        net,
        donation: ds[1].id,
        refunded: ds[2].id,
        x: x.id,
        g1: g1.id,
        y: y.id,
        g2: g2.id,
        z: z.id,
        sales: sales.id,
        allocation: allocation.id,
        tail_refunded: ds[3].id,
    })
}

/// What a verified proof proves, as the vectors state it.
pub fn proved_json(p: &ProvedTrace) -> Value {
    json!({
        "direction": p.direction,
        "subject": p.subject,
        "fund": p.fund,
        "position": p.position,
        "amount": p.amount.0,
        "as_of": p.as_of.height,
        "steps": p.steps,
        "sources": p.sources,
        "records": p.records.keys().collect::<Vec<_>>(),
    })
}

fn vector(description: &str, proof: &TraceProof, expect: Value) -> Value {
    json!({
        "description": description,
        "proof": proof.to_json(),
        "expect": expect,
    })
}

fn refused(code: &str, at: &str) -> Value {
    json!({"error": {"code": code, "at": at}})
}

/// The index of the row of `proof` with this record and family.
fn row_index(proof: &TraceProof, record: &RecordId, family: u8) -> Option<usize> {
    proof.rows.iter().position(|r| {
        crate::tracing::Row::parse(&r.proof.key, r.proof.value.as_deref())
            .is_some_and(|((f, _, _), row)| f == family && row.record() == *record)
    })
}

/// Every trace vector: `(file name, JSON)`. Names without `bad-` are valid.
pub fn trace_vectors() -> Result<Vec<(String, Value)>, Box<dyn std::error::Error>> {
    use crate::keys::{TRACE_HOLES, TRACE_OUTFLOWS, TRACE_SOURCES};
    let c = trace_chain()?;
    let store = &c.net.store;
    let genesis = &c.net.genesis;
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut add = |name: &str, v: Value| out.push((format!("{name}.json"), v));
    let ok = |t: &TraceProof| -> Result<Value, Box<dyn std::error::Error>> {
        let proved = verify(genesis, t)?;
        Ok(json!({"bytes": hex::encode(t.to_bytes()), "ok": proved_json(&proved)}))
    };
    let missing = || "a row the vectors rely on is missing";

    let two_hops = store.trace_proof(&c.donation, Direction::Forward)?;
    add(
        "valid-two-hops",
        vector(
            "a donation spent in part, granted to P around a refund hole, spent there and granted on to Q",
            &two_hops,
            ok(&two_hops)?,
        ),
    );
    let refunded = store.trace_proof(&c.refunded, Direction::Forward)?;
    add(
        "valid-refunded",
        vector(
            "a donation refunded in part: the refund is proven, the rest is followed",
            &refunded,
            ok(&refunded)?,
        ),
    );
    let tail = store.trace_proof(&c.tail_refunded, Direction::Forward)?;
    add(
        "valid-tail-refund",
        vector(
            "a donation whose start went into a grant and whose end was refunded later: the tail is part not shown spent, part refunded",
            &tail,
            ok(&tail)?,
        ),
    );
    let sales = store.trace_proof(&c.sales, Direction::Forward)?;
    add(
        "valid-lottery-sales",
        vector(
            "the local welfare share of a lottery sales report, allocated to a project",
            &sales,
            ok(&sales)?,
        ),
    );
    let g1_sources = store.trace_proof(&c.g1, Direction::Reverse)?;
    add(
        "valid-grant-sources",
        vector(
            "what a grant drew on: three donations around a refund hole",
            &g1_sources,
            ok(&g1_sources)?,
        ),
    );
    let x_sources = store.trace_proof(&c.x, Direction::Reverse)?;
    add(
        "valid-disbursement-sources",
        vector("what a disbursement drew on", &x_sources, ok(&x_sources)?),
    );

    // Hostile: rows left out.
    let mut t = two_hops.clone();
    let i = row_index(&t, &c.y, TRACE_OUTFLOWS).ok_or_else(missing)?;
    t.rows.remove(i);
    add(
        "bad-omitted-outflow",
        vector(
            "P's disbursement is left out, so the donation's money on P looks unspent",
            &t,
            refused("trace.gap", "trace"),
        ),
    );
    let mut t = two_hops.clone();
    let i = t
        .rows
        .iter()
        .position(|r| r.proof.key.first() == Some(&TRACE_HOLES))
        .ok_or_else(missing)?;
    t.rows.remove(i);
    add(
        "bad-hidden-hole",
        vector(
            "the refund hole inside the grant is left out",
            &t,
            refused("trace.holes", "trace"),
        ),
    );
    let mut t = g1_sources.clone();
    let i = row_index(&t, &c.refunded, TRACE_SOURCES).ok_or_else(missing)?;
    t.rows.remove(i);
    add(
        "bad-sources-omitted-inflow",
        vector(
            "one of the donations a grant drew on is left out",
            &t,
            refused("trace.gap", "trace"),
        ),
    );
    let mut t = g1_sources.clone();
    let i = t
        .rows
        .iter()
        .position(|r| r.proof.key.first() == Some(&TRACE_HOLES))
        .ok_or_else(missing)?;
    t.rows.remove(i);
    add(
        "bad-sources-hidden-hole",
        vector(
            "the refund hole inside the grant is left out of its sources",
            &t,
            refused("trace.holes", "trace"),
        ),
    );

    // Hostile: rows changed or moved.
    let mut t = two_hops.clone();
    let i = row_index(&t, &c.g1, TRACE_OUTFLOWS).ok_or_else(missing)?;
    let mut row: crate::values::OutflowRow =
        crate::codec::decode(t.rows[i].proof.value.as_deref().unwrap_or_default())?;
    if let Some((_, start)) = row.to.as_mut() {
        *start += 1_000;
    }
    t.rows[i].proof.value = Some(crate::codec::encode(&row));
    add(
        "bad-shifted-offset",
        vector(
            "the grant's row is edited to land 1 000 fen further along P's axis",
            &t,
            refused("trace.write_set", &format!("rows[{i}]")),
        ),
    );
    let mut t = two_hops.clone();
    let i = row_index(&t, &c.g1, TRACE_SOURCES).ok_or_else(missing)?;
    let other = store.trace_proof(&c.allocation, Direction::Forward)?;
    let j = row_index(&other, &c.allocation, TRACE_SOURCES).ok_or_else(missing)?;
    let block = other.blocks[other.rows[j].block as usize].clone();
    t.blocks.insert(t.blocks.len() - 1, block);
    let last = t.blocks.len() as u32 - 1;
    for r in t.rows.iter_mut() {
        if r.block == last - 1 {
            r.block = last;
        }
    }
    for r in t.records.iter_mut() {
        if r.block == last - 1 {
            r.block = last;
        }
    }
    t.rows[i] = other.rows[j].clone();
    t.rows[i].block = last - 1;
    add(
        "bad-landing-row",
        vector(
            "the welfare allocation's inflow row on P stands in for the grant's",
            &t,
            refused("trace.hop", "trace"),
        ),
    );
    let mut t = two_hops.clone();
    let i = row_index(&t, &c.x, TRACE_OUTFLOWS).ok_or_else(missing)?;
    let mut row: crate::values::OutflowRow =
        crate::codec::decode(t.rows[i].proof.value.as_deref().unwrap_or_default())?;
    row.amount += 1_000;
    row.end += 1_000;
    t.rows[i].proof.value = Some(crate::codec::encode(&row));
    add(
        "bad-inflated-amount",
        vector(
            "the federation's disbursement row claims 1 000 fen more",
            &t,
            refused("trace.write_set", &format!("rows[{i}]")),
        ),
    );
    let mut t = two_hops.clone();
    let i = row_index(&t, &c.x, TRACE_OUTFLOWS).ok_or_else(missing)?;
    let j = row_index(&t, &c.z, TRACE_OUTFLOWS).ok_or_else(missing)?;
    t.rows[i] = t.rows[j].clone();
    t.rows.remove(j);
    add(
        "bad-row-from-other-fund",
        vector(
            "Q's disbursement row is cited in place of the federation's",
            &t,
            refused("trace.gap", "trace"),
        ),
    );
    let mut t = two_hops.clone();
    let i = row_index(&t, &c.x, TRACE_OUTFLOWS).ok_or_else(missing)?;
    t.rows[i].block += 1;
    add(
        "bad-row-from-other-block",
        vector(
            "the disbursement's row is cited under the next block's header",
            &t,
            refused("trace.write_set", &format!("rows[{i}]")),
        ),
    );
    let mut t = two_hops.clone();
    let i = row_index(&t, &c.x, TRACE_OUTFLOWS).ok_or_else(missing)?;
    t.rows[i].proof.path[0][0] ^= 1;
    add(
        "bad-write-set-path",
        vector(
            "a flipped byte in a write-set path",
            &t,
            refused("trace.write_set", &format!("rows[{i}]")),
        ),
    );

    // Hostile: records.
    let mut t = two_hops.clone();
    let i = t
        .records
        .iter()
        .position(|r| RecordId::of_bytes(&r.record.record) == c.x)
        .ok_or_else(missing)?;
    let zi = t
        .records
        .iter()
        .position(|r| RecordId::of_bytes(&r.record.record) == c.z)
        .ok_or_else(missing)?;
    t.records[i] = t.records[zi].clone();
    add(
        "bad-other-outflow-record",
        vector(
            "another disbursement's record in place of the one the row names",
            &t,
            refused("trace.order", &format!("records[{}]", i.max(zi))),
        ),
    );
    let mut t = two_hops.clone();
    t.records.remove(i);
    add(
        "bad-missing-outflow-record",
        vector(
            "the federation's disbursement record is left out",
            &t,
            refused(
                "trace.record",
                &format!("trace: outflow {} of {}", c.x, row_fund(&two_hops, &c.x)?),
            ),
        ),
    );
    let mut t = two_hops.clone();
    let last = t.blocks.len() as u32 - 1;
    let h = t.blocks[last as usize].checkpoint.header.height;
    let x = store.committed(&c.x)?.ok_or_else(missing)?;
    t.records[i] = crate::tracing::BlockRecord {
        block: last,
        record: ProvenRecord {
            proof: store.inclusion_proof(x.log_index, store.log_size_at(h)?)?,
            record: x.record.bytes.clone(),
        },
    };
    add(
        "bad-record-in-other-block",
        vector(
            "the disbursement's record proven in the newest block's log, not in its own block",
            &t,
            refused("bundle.not_in_block", &format!("records[{i}]")),
        ),
    );
    let mut t = two_hops.clone();
    let s = t
        .records
        .iter()
        .position(|r| RecordId::of_bytes(&r.record.record) == c.donation)
        .ok_or_else(missing)?;
    t.records.remove(s);
    add(
        "bad-subject-missing",
        vector(
            "the traced donation's own record is left out",
            &t,
            refused("trace.subject", "subject"),
        ),
    );
    let mut t = two_hops.clone();
    t.subject = c.refunded;
    add(
        "bad-other-subject",
        vector(
            "the proof of one donation presented as another's",
            &t,
            refused("trace.subject", "subject"),
        ),
    );
    let mut t = two_hops.clone();
    let extra = refunded
        .rows
        .iter()
        .find(|r| !t.rows.iter().any(|o| o.proof.key == r.proof.key))
        .cloned()
        .ok_or_else(missing)?;
    let extra_block = refunded.blocks[extra.block as usize]
        .checkpoint
        .header
        .height;
    let at = t
        .blocks
        .iter()
        .position(|b| b.checkpoint.header.height == extra_block)
        .ok_or_else(missing)?;
    t.rows.push(crate::tracing::ProvenRow {
        block: at as u32,
        proof: extra.proof,
    });
    let n = t.rows.len() - 1;
    add(
        "bad-unused-row",
        vector(
            "a genuine row the trace does not use",
            &t,
            refused("trace.unused", &format!("rows[{n}]")),
        ),
    );

    // Hostile: blocks and form.
    let mut t = two_hops.clone();
    t.blocks.swap(0, 1);
    add(
        "bad-blocks-out-of-order",
        vector(
            "two blocks swapped",
            &t,
            refused("trace.order", "blocks[1]"),
        ),
    );
    let mut t = two_hops.clone();
    if let Some(sig) = t.blocks[0].checkpoint.certificate.signatures.first_mut() {
        sig.signature.0[0] ^= 1;
    }
    add(
        "bad-flipped-certificate",
        vector(
            "a flipped bit in a commit signature",
            &t,
            refused("certificate.bad_signature", "blocks[0]"),
        ),
    );
    let mut t = two_hops.clone();
    t.validators.clear();
    add(
        "bad-missing-validator-step",
        vector(
            "the validator-set change before the newest block is left out",
            &t,
            refused(
                "bundle.validator_set",
                &format!("blocks[{}]", t.blocks.len() - 1),
            ),
        ),
    );
    let mut j = two_hops.to_json();
    j["format"] = json!("shanlian-trace-proof/0");
    add(
        "bad-format",
        json!({"description": "an unknown format", "proof": j, "expect": refused("trace.malformed", "proof")}),
    );
    Ok(out)
}

/// The fund of the outflow row a record wrote in a proof.
fn row_fund(t: &TraceProof, id: &RecordId) -> Result<FundRef, &'static str> {
    t.rows
        .iter()
        .find_map(|r| {
            let ((f, fund, _), row) =
                crate::tracing::Row::parse(&r.proof.key, r.proof.value.as_deref())?;
            (f == crate::keys::TRACE_OUTFLOWS && row.record() == *id).then_some(fund)
        })
        .ok_or("no outflow row of that record")
}
