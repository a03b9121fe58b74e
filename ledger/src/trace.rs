//! Where did the money go? The answers, and their proofs, from the trace
//! rows every node stores (docs/SPEC.md §10).
//!
//! The algorithm is [`shanlian_core::tracing`]'s, run here over the store's
//! rows ([`StoreAxes`]); a light client runs the same algorithm over the
//! rows of a [`TraceProof`] this module builds ([`Store::trace_proof`]), each
//! row proven in the write set of the certified block that wrote it.

use crate::bundle::{ProvenRecord, ValidatorStep};
use crate::keys as t;
use crate::proofs::ProofBuildError;
use crate::record::Payload;
use crate::state::{Donation, HoleRow, OutflowRow, SourceRow};
use crate::store::query::LedgerReader;
use crate::store::{Store, StoreError};
use crate::tracing::{
    self, Axes, BlockRecord, Direction, Flow, ProvenRow, Row, RowKey, Source, TraceProof,
    WalkError, What,
};
use crate::types::*;
use crate::writeset::{self, WriteSetProof};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A fund's trace rows as the store holds them, remembering every row it
/// handed out (a proof is built from those the walk used).
pub struct StoreAxes<'a> {
    store: &'a Store,
    seen: HashMap<RowKey, Row>,
}

impl<'a> StoreAxes<'a> {
    pub fn new(store: &'a Store) -> StoreAxes<'a> {
        StoreAxes {
            store,
            seen: HashMap::new(),
        }
    }

    fn read<V: bincode::Decode<()> + Clone>(
        &mut self,
        family: u8,
        fund: &FundRef,
        (from, to): (u64, u64),
        end: impl Fn(u64, &V) -> u64,
        wrap: impl Fn(V) -> Row,
    ) -> Result<Vec<(u64, V)>, StoreError> {
        let rows: Vec<(u64, V)> = self.store.trace_rows(family, fund, from, to)?;
        let rows: Vec<(u64, V)> = rows
            .into_iter()
            .filter(|(p, r)| end(*p, r) > from)
            .collect();
        for (p, r) in &rows {
            self.seen
                .insert((family, fund.clone(), *p), wrap(r.clone()));
        }
        Ok(rows)
    }
}

impl Axes for StoreAxes<'_> {
    type Error = StoreError;
    fn outflows(
        &mut self,
        fund: &FundRef,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, OutflowRow)>, StoreError> {
        self.read(
            t::TRACE_OUTFLOWS,
            fund,
            (from, to),
            |_, o: &OutflowRow| o.end,
            Row::Outflow,
        )
    }
    fn holes(
        &mut self,
        fund: &FundRef,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, HoleRow)>, StoreError> {
        self.read(
            t::TRACE_HOLES,
            fund,
            (from, to),
            |_, h: &HoleRow| h.end,
            Row::Hole,
        )
    }
    fn inflows(
        &mut self,
        fund: &FundRef,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, SourceRow)>, StoreError> {
        self.read(
            t::TRACE_SOURCES,
            fund,
            (from, to),
            |p, r: &SourceRow| p.saturating_add(r.amount),
            Row::Inflow,
        )
    }
}

/// A walk over the store's rows failed: a read failed, or the rows break a
/// trace rule (a corrupt store).
fn walk_error(e: WalkError<StoreError>) -> StoreError {
    match e {
        WalkError::Axes(e) => e,
        WalkError::Broken(b) => StoreError::Corrupt(format!("trace rows: {b}")),
    }
}

/// Where the inflow range `[start, start + amount)` of `fund` went.
pub fn follow(store: &Store, fund: &FundRef, start: u64, amount: u64) -> Result<Flow, StoreError> {
    tracing::follow(&mut StoreAxes::new(store), fund, start, start + amount).map_err(walk_error)
}

/// A donation and where its money went.
#[derive(Debug, Clone)]
pub struct DonationTrace {
    pub donation: Donation,
    pub flow: Flow,
}

/// Where a charity's donation (by receipt) went: every piece spent (and by
/// which outflow, following grants), refunded, or not spent yet.
pub fn trace_donation(
    store: &Store,
    charity: &Address,
    receipt: &ReceiptNo,
) -> Result<Option<DonationTrace>, StoreError> {
    let Some(donation) = store.donation(charity, receipt)? else {
        return Ok(None);
    };
    let flow = follow(store, &donation.fund, donation.start, donation.amount.0)?;
    Ok(Some(DonationTrace { donation, flow }))
}

/// Where a committed record's trace rows are: `(family, fund, position)`,
/// the donation's inflow included.
fn positions_of(store: &Store, id: &RecordId) -> Result<Vec<RowKey>, ProofBuildError> {
    let c = store
        .committed(id)?
        .ok_or(ProofBuildError::UnknownRecord(*id))?;
    let mut out = store.trace_positions(id)?;
    if let Payload::RecordDonation(d) = &c.record.signed.body.payload {
        let entry: Option<crate::values::KeyEntry> =
            store.get(&t::state_key(t::KEYS, &c.record.signed.signer))?;
        let charity = entry
            .map(|e| e.member)
            .ok_or_else(|| StoreError::Corrupt(format!("the signer of {id} is unknown")))?;
        let don = store
            .donation(&charity, &d.receipt)?
            .ok_or_else(|| StoreError::Corrupt(format!("donation {id} has no donation entry")))?;
        out.push((t::TRACE_SOURCES, don.fund, don.start));
    }
    Ok(out)
}

/// The row of `family` a record wrote.
fn row_of<V: bincode::Decode<()>>(
    store: &Store,
    id: &RecordId,
    family: u8,
) -> Result<Option<(FundRef, u64, V)>, ProofBuildError> {
    for (f, fund, pos) in positions_of(store, id)? {
        if f != family {
            continue;
        }
        let rows: Vec<(u64, V)> = store.trace_rows(family, &fund, pos, pos + 1)?;
        if let Some((_, v)) = rows.into_iter().find(|(p, _)| *p == pos) {
            return Ok(Some((fund, pos, v)));
        }
        return Err(StoreError::Corrupt(format!("the trace row of {id} is missing")).into());
    }
    Ok(None)
}

/// What a committed outflow (disbursement, grant or welfare allocation)
/// drew on, in axis order.
pub fn sources_of_record(store: &Store, id: &RecordId) -> Result<Vec<Source>, ProofBuildError> {
    let Some((fund, pos, row)) = row_of::<OutflowRow>(store, id, t::TRACE_OUTFLOWS)? else {
        return Ok(Vec::new());
    };
    let (found, _) =
        tracing::sources(&mut StoreAxes::new(store), &fund, pos, &row).map_err(walk_error)?;
    Ok(found)
}

/// Builds write-set proofs, keeping each block's leaves once read.
struct WriteSets<'a> {
    store: &'a Store,
    leaves: HashMap<u64, Vec<Hash32>>,
    genesis_state: Option<Hash32>,
}

impl WriteSets<'_> {
    fn state_hash_before(&mut self, h: u64) -> Result<Hash32, ProofBuildError> {
        if h > 1 {
            let prev = self
                .store
                .header(h - 1)?
                .ok_or(ProofBuildError::UnknownHeight(h - 1))?;
            return Ok(prev.state_hash);
        }
        if let Some(s) = self.genesis_state {
            return Ok(s);
        }
        let genesis = self.store.genesis()?.ok_or(StoreError::NotInitialised)?;
        let s = crate::state::State::from_genesis(genesis).0.state_hash;
        self.genesis_state = Some(s);
        Ok(s)
    }

    fn proof(
        &mut self,
        h: u64,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<WriteSetProof, ProofBuildError> {
        if !self.leaves.contains_key(&h) {
            let bytes = self
                .store
                .raw(&t::height_key(t::WRITE_SETS, h))?
                .ok_or(ProofBuildError::UnknownHeight(h))?;
            if bytes.len() % 32 != 0 {
                return Err(StoreError::Corrupt(format!("write set of block {h}")).into());
            }
            let leaves = bytes
                .chunks_exact(32)
                .map(|c| <Hash32>::try_from(c).unwrap_or_default())
                .collect();
            self.leaves.insert(h, leaves);
        }
        let leaves = &self.leaves[&h];
        let leaf = writeset::leaf_hash(&key, Some(&value));
        let index = leaves.iter().position(|l| *l == leaf).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "entry {} is not in the write set of block {h}",
                hex::encode(&key)
            ))
        })? as u64;
        let path = crate::merkle::path_in_leaves::<crate::merkle::Blake3Hasher>(leaves, index)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let size = leaves.len() as u64;
        Ok(WriteSetProof {
            key,
            value: Some(value),
            index,
            size,
            path,
            previous_state_hash: self.state_hash_before(h)?,
        })
    }
}

impl Store {
    /// A write-set proof that block `height` wrote `value` at `key` (SPEC
    /// §9.3): for trace rows, and for any state entry whose value at that
    /// block the caller knows.
    pub fn write_set_proof(
        &self,
        height: u64,
        key: &[u8],
        value: &[u8],
    ) -> Result<WriteSetProof, ProofBuildError> {
        WriteSets {
            store: self,
            leaves: HashMap::new(),
            genesis_state: None,
        }
        .proof(height, key.to_vec(), value.to_vec())
    }

    /// The trace proof of a committed record (SPEC §10.6): going forward,
    /// where an inflow's money went (a donation, a grant or allocation
    /// received, a sales report's welfare share); going back, what an
    /// outflow drew on. As of the newest committed block.
    pub fn trace_proof(
        &self,
        subject: &RecordId,
        direction: Direction,
    ) -> Result<TraceProof, ProofBuildError> {
        let tip = self.tip()?.map_or(0, |t| t.height);
        let mut axes = StoreAxes::new(self);
        let (mut used, outflows) = match direction {
            Direction::Forward => {
                let Some((fund, pos, row)) = row_of::<SourceRow>(self, subject, t::TRACE_SOURCES)?
                else {
                    return Err(ProofBuildError::NotTraceable(*subject));
                };
                axes.seen.insert(
                    (t::TRACE_SOURCES, fund.clone(), pos),
                    Row::Inflow(row.clone()),
                );
                let flow =
                    tracing::follow(&mut axes, &fund, pos, pos + row.amount).map_err(walk_error)?;
                let outflows: BTreeSet<RecordId> = flow
                    .steps
                    .iter()
                    .filter_map(|s| match &s.what {
                        What::Spent { outflow, .. } => Some(*outflow),
                        _ => None,
                    })
                    .collect();
                let mut used = flow.used;
                used.insert((t::TRACE_SOURCES, fund, pos));
                (used, outflows)
            }
            Direction::Reverse => {
                let Some((fund, pos, row)) =
                    row_of::<OutflowRow>(self, subject, t::TRACE_OUTFLOWS)?
                else {
                    return Err(ProofBuildError::NotTraceable(*subject));
                };
                axes.seen.insert(
                    (t::TRACE_OUTFLOWS, fund.clone(), pos),
                    Row::Outflow(row.clone()),
                );
                let (_, mut used) =
                    tracing::sources(&mut axes, &fund, pos, &row).map_err(walk_error)?;
                used.insert((t::TRACE_OUTFLOWS, fund, pos));
                (used, BTreeSet::new())
            }
        };
        // Each row with the height of the block that wrote it (its record's).
        let mut heights: BTreeMap<RecordId, u64> = BTreeMap::new();
        let mut height_of = |id: &RecordId| -> Result<u64, ProofBuildError> {
            if let Some(h) = heights.get(id) {
                return Ok(*h);
            }
            let loc = self.location(id)?.ok_or_else(|| {
                StoreError::Corrupt(format!("traced record {id} is not committed"))
            })?;
            heights.insert(*id, loc.height);
            Ok(loc.height)
        };
        let mut rows: Vec<(u64, RowKey, Row)> = Vec::with_capacity(used.len());
        for key in std::mem::take(&mut used) {
            let row = axes
                .seen
                .remove(&key)
                .ok_or_else(|| StoreError::Corrupt("a used trace row was not read".into()))?;
            rows.push((height_of(&row.record())?, key, row));
        }
        let mut records: Vec<(u64, RecordId)> = Vec::new();
        for id in std::iter::once(subject).chain(outflows.iter()) {
            records.push((height_of(id)?, *id));
        }
        let mut block_heights: BTreeSet<u64> = rows.iter().map(|r| r.0).collect();
        block_heights.extend(records.iter().map(|r| r.0));
        block_heights.insert(tip);
        let index: BTreeMap<u64, u32> = block_heights
            .iter()
            .enumerate()
            .map(|(i, h)| (*h, i as u32))
            .collect();
        let blocks = block_heights
            .iter()
            .map(|h| self.certified_block(*h))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ws = WriteSets {
            store: self,
            leaves: HashMap::new(),
            genesis_state: None,
        };
        rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut proven_rows = Vec::with_capacity(rows.len());
        for (h, (family, fund, pos), row) in rows {
            proven_rows.push(ProvenRow {
                block: index[&h],
                proof: ws.proof(h, t::fund_pos_key(family, &fund, pos), row.to_bytes())?,
            });
        }
        records.sort();
        let mut signers = BTreeSet::new();
        let mut proven_records = Vec::with_capacity(records.len());
        for (h, id) in records {
            let c = self
                .committed(&id)?
                .ok_or(ProofBuildError::UnknownRecord(id))?;
            if let Some(a) = self.signer_member(&c.record.signed.signer)? {
                signers.insert(a);
            }
            proven_records.push(BlockRecord {
                block: index[&h],
                record: ProvenRecord {
                    proof: self.inclusion_proof(c.log_index, self.log_size_at(h)?)?,
                    record: c.record.bytes,
                },
            });
        }
        let validators: Vec<ValidatorStep> = self.validator_evidence(tip, signers)?;
        Ok(TraceProof {
            direction,
            subject: *subject,
            validators,
            blocks,
            records: proven_records,
            rows: proven_rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{payloads as p, DevNet};

    /// SPEC §10.5's worked example, number for number, from the store, and
    /// proven.
    #[test]
    fn the_worked_example() {
        let mut net = DevNet::on(Store::memory()).unwrap();
        let f = FundRef::General(net.address("charity-federation"));
        let start = net.clock;
        let end = Timestamp(start.0 + 86_400_000 * 30);
        let reg = net.sign("red-cross", p::project("P", start, end));
        net.commit_all(&[reg]).unwrap();
        let pf = FundRef::Project(ProjectId("P".into()));
        let r0 = net.receipt();
        let d0 = net.sign("red-cross", p::donation(r0, pf.clone(), 500, 9));
        net.commit_all(&[d0]).unwrap();
        let donate = |net: &mut DevNet, amount| {
            let r = net.receipt();
            let d = net.sign(
                "charity-federation",
                p::donation(r.clone(), f.clone(), amount, 1),
            );
            net.commit_all(std::slice::from_ref(&d)).unwrap();
            (r, d.id)
        };
        let (r1, d1) = donate(&mut net, 100);
        let (r2, d2) = donate(&mut net, 50);
        let (r3, d3) = donate(&mut net, 30);
        let x = net.sign("charity-federation", p::disbursement(f.clone(), 60));
        let refund = net.sign("charity-federation", p::refund(r2.clone(), 20));
        let g = net.sign("charity-federation", p::grant(f.clone(), "P", 80));
        net.commit_all(&[x.clone(), refund.clone()]).unwrap();
        net.commit_all(std::slice::from_ref(&g)).unwrap();
        let fed = net.address("charity-federation");
        let summary = |flow: &Flow| -> Vec<(u32, String, u64)> {
            flow.steps
                .iter()
                .map(|s| {
                    let what = match &s.what {
                        What::Spent { outflow, .. } if *outflow == x.id => "X".to_string(),
                        What::Spent { outflow, .. } if *outflow == g.id => "G".to_string(),
                        What::Spent { .. } => "?".to_string(),
                        What::Refunded { refund: r } if *r == refund.id => "refund".into(),
                        What::Refunded { .. } => "?refund".into(),
                        What::NotShownSpent => format!("unspent@{}", s.from),
                    };
                    (s.depth, what, s.amount.0)
                })
                .collect()
        };
        let flow = |r: &ReceiptNo| trace_donation(&net.store, &fed, r).unwrap().unwrap().flow;
        let un = |d: u32, at: u64, n: u64| (d, format!("unspent@{at}"), n);
        // D1 [0,100): X takes 60, G 40 (landing at P [500,540), unspent there).
        assert_eq!(
            summary(&flow(&r1)),
            vec![(0, "X".into(), 60), (0, "G".into(), 40), un(1, 500, 40)]
        );
        // D2 [100,150): G takes 30, 20 refunded.
        assert_eq!(
            summary(&flow(&r2)),
            vec![
                (0, "refund".into(), 20),
                (0, "G".into(), 30),
                un(1, 540, 30)
            ]
        );
        // D3 [150,180): G takes [150,160) = 10 at offset 70; 20 unspent in F.
        assert_eq!(
            summary(&flow(&r3)),
            vec![(0, "G".into(), 10), un(1, 570, 10), un(0, 160, 20)]
        );
        // The grant's 80 on P are 40 (D1) + 30 (D2) + 10 (D3).
        let on_p: Vec<(RecordId, u64)> = sources_of_record(&net.store, &g.id)
            .unwrap()
            .iter()
            .map(|s| (s.record, s.amount.0))
            .collect();
        assert_eq!(on_p, vec![(d1, 40), (d2, 30), (d3, 10)]);

        // Every answer is proven to a client holding only the genesis.
        let genesis = net.store.genesis().unwrap().unwrap();
        for (d, r) in [(d1, &r1), (d2, &r2), (d3, &r3)] {
            let proof = net.store.trace_proof(&d, Direction::Forward).unwrap();
            let proved = tracing::verify(&genesis, &proof).unwrap();
            assert_eq!(proved.steps, flow(r).steps);
            assert!(proved.records.contains_key(&d));
            let back = TraceProof::from_bytes(&proof.to_bytes()).unwrap();
            assert_eq!(back, proof);
            assert_eq!(TraceProof::from_json(&proof.to_json()).unwrap(), proof);
        }
        let proof = net.store.trace_proof(&g.id, Direction::Reverse).unwrap();
        let proved = tracing::verify(&genesis, &proof).unwrap();
        let got: Vec<(RecordId, u64)> = proved
            .sources
            .iter()
            .map(|s| (s.record, s.amount.0))
            .collect();
        assert_eq!(got, on_p);
        // The grant received by P, traced forward from P.
        let proof = net.store.trace_proof(&g.id, Direction::Forward).unwrap();
        let proved = tracing::verify(&genesis, &proof).unwrap();
        assert_eq!(proved.fund, pf);
        assert_eq!((proved.position, proved.amount), (500, Fen(80)));
    }
}
