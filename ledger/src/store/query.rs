//! Reads for the explorer, the client and tools, on a narrow trait
//! ([`LedgerReader`]) so that handlers can be tested on a store in memory
//! (or on a reader that lies, to test the clients that must catch it).
//!
//! Lists come in pages in commit order: a [`Page`] holds at most the limit
//! asked for and the cursor ([`Location`]) to continue after.

use super::{prefix_end, Store, StoreError, Tip};
use crate::block::{BlockData, CommitCertificate, Header, ValidatorSet};
use crate::bundle::ReceiptBundle;
use crate::keys as t;
use crate::merkle::{ConsistencyProof, InclusionProof};
use crate::proofs::{Committed, ProofBuildError};
use crate::state::{
    CharityYear, Donation, Draw, FundState, GameTotals, Listing, Location, Member, Project,
    WelfareYear,
};
use crate::types::*;
use crate::validators::ValidatorTracker;

/// A page of a list, and where the next one starts (after `next`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The last item's location when more may follow.
    pub next: Option<Location>,
}

/// An organisation on a public list: `((organisation, list), why and since when)`.
pub type Listed = ((Address, ListKind), Listing);

/// The most items one page may hold.
pub const MAX_PAGE: usize = 1_000;

/// Read access to a committed chain: blocks, records with proofs, state by
/// key, and the lookup indexes.
pub trait LedgerReader: Send + Sync {
    fn tip(&self) -> Result<Option<Tip>, StoreError>;
    fn genesis(&self) -> Result<Option<crate::genesis::Genesis>, StoreError>;
    fn header(&self, height: u64) -> Result<Option<Header>, StoreError>;
    fn block(&self, height: u64) -> Result<Option<BlockData>, StoreError>;
    fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>, StoreError>;
    /// The height of a committed header by its hash.
    fn height_of(&self, header_hash: &Hash32) -> Result<Option<u64>, StoreError>;
    /// A committed record, its block, index and log position.
    fn committed(&self, id: &RecordId) -> Result<Option<Committed>, StoreError>;
    /// The committed record at a location.
    fn record_at(&self, at: Location) -> Result<Option<crate::record::Record>, StoreError>;
    /// The validator set that decided `height`.
    fn validator_set_at(&self, height: u64) -> Result<ValidatorSet, StoreError>;
    fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, StoreError>;
    fn consistency_proof(&self, old: u64, new: u64) -> Result<ConsistencyProof, StoreError>;
    fn receipt_bundle(&self, id: &RecordId) -> Result<ReceiptBundle, ProofBuildError>;
    /// The governance records a light client needs to follow the validator
    /// sets from genesis to height `until` (SPEC §13.3 "Building bundles").
    fn validator_evidence(
        &self,
        until: u64,
    ) -> Result<Vec<crate::bundle::ValidatorStep>, ProofBuildError>;
    /// The signed checkpoint of a committed height (no witnesses).
    fn signed_checkpoint(
        &self,
        height: u64,
    ) -> Result<crate::block::SignedCheckpoint, ProofBuildError>;
    fn extend_bundle(&self, bundle: &mut ReceiptBundle, to: u64) -> Result<(), ProofBuildError>;

    fn member(&self, address: &Address) -> Result<Option<Member>, StoreError>;
    /// The member a signing key was given to (current or rotated out).
    fn key_owner(&self, key: &PublicKey) -> Result<Option<Address>, StoreError>;
    fn members(&self) -> Result<Vec<(Address, Member)>, StoreError>;
    fn project(&self, id: &ProjectId) -> Result<Option<Project>, StoreError>;
    fn projects(&self) -> Result<Vec<(ProjectId, Project)>, StoreError>;
    fn fund(&self, fund: &FundRef) -> Result<Option<FundState>, StoreError>;
    fn donation(
        &self,
        charity: &Address,
        receipt: &ReceiptNo,
    ) -> Result<Option<Donation>, StoreError>;
    fn charity_years(&self, charity: &Address) -> Result<Vec<(u32, CharityYear)>, StoreError>;
    fn game(&self, id: &GameId) -> Result<Option<GameTotals>, StoreError>;
    fn welfare_years(&self) -> Result<Vec<(u32, WelfareYear)>, StoreError>;
    fn draw(&self, id: &DrawId) -> Result<Option<Draw>, StoreError>;
    /// Every draw (few: a centre runs some a month).
    fn draws(&self) -> Result<Vec<(DrawId, Draw)>, StoreError>;
    fn listings(&self) -> Result<Vec<Listed>, StoreError>;

    /// Records touching a fund, in commit order, after `after`.
    fn records_of_fund(
        &self,
        fund: &FundRef,
        after: Option<Location>,
        limit: usize,
    ) -> Result<Page<Location>, StoreError>;
    /// Records a member signed, in commit order, after `after`.
    fn records_of_member(
        &self,
        member: &Address,
        after: Option<Location>,
        limit: usize,
    ) -> Result<Page<Location>, StoreError>;
    /// Donations made with a donor commitment, after `after`.
    fn donations_by_donor(
        &self,
        donor: &Commitment,
        after: Option<Location>,
        limit: usize,
    ) -> Result<Page<Location>, StoreError>;
    /// Where a record's trace rows are (not for donations' inflows: see
    /// [`LedgerReader::donation`]).
    fn trace_positions(&self, id: &RecordId) -> Result<Vec<(u8, FundRef, u64)>, StoreError>;
    /// Where the inflow range `[start, start + amount)` of a fund went
    /// (SPEC §10.4), from this store's rows: the server's own reading.
    fn follow(
        &self,
        fund: &FundRef,
        start: u64,
        amount: u64,
    ) -> Result<Vec<crate::tracing::Step>, StoreError>;
    /// The corrections and findings that name a record, in commit order.
    fn annotations(&self, id: &RecordId) -> Result<Vec<Location>, StoreError>;
    /// The trace proof of a record (SPEC §10.6), as of the newest block.
    fn trace_proof(
        &self,
        id: &RecordId,
        direction: crate::tracing::Direction,
    ) -> Result<crate::tracing::TraceProof, ProofBuildError>;
}

fn height_index(bytes: &[u8]) -> Option<(u64, u32)> {
    let h = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    let i = u32::from_be_bytes(bytes.get(8..12)?.try_into().ok()?);
    Some((h, i))
}

impl Store {
    fn scan_state<K: bincode::Decode<()>, V: bincode::Decode<()>>(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<(K, V)>, StoreError> {
        let mut out = Vec::new();
        for item in self.kv.range(prefix, &prefix_end(prefix)) {
            let (k, v) = item?;
            let key = crate::codec::decode(k.get(1..).unwrap_or_default())?;
            out.push((key, crate::codec::decode(&v)?));
        }
        Ok(out)
    }

    /// Grouped index entries (`prefix || height BE → [u32 LE]`) after
    /// `after`, at most `limit`.
    fn grouped(
        &self,
        prefix: Vec<u8>,
        after: Option<Location>,
        limit: usize,
    ) -> Result<Page<Location>, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut from = prefix.clone();
        from.extend_from_slice(&after.map_or(0, |a| a.height).to_be_bytes());
        let mut items = Vec::new();
        for item in self.kv.range(&from, &prefix_end(&prefix)) {
            let (k, v) = item?;
            let rest = &k[prefix.len()..];
            if rest.len() != 8 || v.len() % 4 != 0 {
                return Err(StoreError::Corrupt("grouped index entry".into()));
            }
            let height = u64::from_be_bytes(rest.try_into().unwrap_or_default());
            for c in v.chunks_exact(4) {
                let loc = Location {
                    height,
                    index: u32::from_le_bytes(c.try_into().unwrap_or_default()),
                };
                if after.is_some_and(|a| (loc.height, loc.index) <= (a.height, a.index)) {
                    continue;
                }
                if items.len() == limit {
                    let next = items.last().copied();
                    return Ok(Page { items, next });
                }
                items.push(loc);
            }
        }
        Ok(Page { items, next: None })
    }
}

impl LedgerReader for Store {
    fn tip(&self) -> Result<Option<Tip>, StoreError> {
        Store::tip(self)
    }
    fn genesis(&self) -> Result<Option<crate::genesis::Genesis>, StoreError> {
        Store::genesis(self)
    }
    fn header(&self, height: u64) -> Result<Option<Header>, StoreError> {
        Store::header(self, height)
    }
    /// Checked against its header: an altered body is an error.
    fn block(&self, height: u64) -> Result<Option<BlockData>, StoreError> {
        Store::checked_block(self, height)
    }
    fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>, StoreError> {
        Store::certificate(self, height)
    }
    fn height_of(&self, header_hash: &Hash32) -> Result<Option<u64>, StoreError> {
        match self.kv.get(&t::header_hash_key(header_hash))? {
            Some(v) => Ok(Some(u64::from_be_bytes(v.as_slice().try_into().map_err(
                |_| StoreError::Corrupt("header hash index value".into()),
            )?))),
            None => Ok(None),
        }
    }
    fn committed(&self, id: &RecordId) -> Result<Option<Committed>, StoreError> {
        Store::committed(self, id)
    }
    fn record_at(&self, at: Location) -> Result<Option<crate::record::Record>, StoreError> {
        Store::record_at(self, at)
    }

    /// Follows the governance records with the light client's tracker and
    /// checks the result against the header's validator-set hash.
    fn validator_set_at(&self, height: u64) -> Result<ValidatorSet, StoreError> {
        let genesis = Store::genesis(self)?.ok_or(StoreError::NotInitialised)?;
        let mut tracker = ValidatorTracker::from_genesis(&genesis);
        for item in self
            .kv
            .range(&t::governance_key(1, 0), &t::governance_key(height, 0))
        {
            let (k, _) = item?;
            let (h, i) = height_index(k.get(1..).unwrap_or_default())
                .ok_or_else(|| StoreError::Corrupt("governance index key".into()))?;
            let r = self
                .record_at(Location {
                    height: h,
                    index: i,
                })?
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("governance record {h}/{i} is missing"))
                })?;
            tracker
                .apply(&r.signed.body.payload, h)
                .map_err(|e| StoreError::Corrupt(format!("governance index: {e}")))?;
        }
        let set = tracker.set_at(height);
        if let Some(header) = Store::header(self, height)? {
            if header.validator_set_hash != set.hash() {
                return Err(StoreError::Corrupt(format!(
                    "the validator set followed to height {height} does not match its header"
                )));
            }
        }
        Ok(set)
    }
    fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, StoreError> {
        Store::inclusion_proof(self, index, size)
    }
    fn consistency_proof(&self, old: u64, new: u64) -> Result<ConsistencyProof, StoreError> {
        Store::consistency_proof(self, old, new)
    }
    fn receipt_bundle(&self, id: &RecordId) -> Result<ReceiptBundle, ProofBuildError> {
        Store::receipt_bundle(self, id)
    }
    fn signed_checkpoint(
        &self,
        height: u64,
    ) -> Result<crate::block::SignedCheckpoint, ProofBuildError> {
        Store::signed_checkpoint(self, height)
    }
    fn validator_evidence(
        &self,
        until: u64,
    ) -> Result<Vec<crate::bundle::ValidatorStep>, ProofBuildError> {
        Store::validator_evidence(self, until, Default::default())
    }
    fn extend_bundle(&self, bundle: &mut ReceiptBundle, to: u64) -> Result<(), ProofBuildError> {
        Store::extend_bundle(self, bundle, to)
    }

    fn member(&self, address: &Address) -> Result<Option<Member>, StoreError> {
        self.get(&t::state_key(t::MEMBERS, address))
    }
    fn key_owner(&self, key: &PublicKey) -> Result<Option<Address>, StoreError> {
        self.signer_member(key)
    }
    fn members(&self) -> Result<Vec<(Address, Member)>, StoreError> {
        self.scan_state(&[t::MEMBERS])
    }
    fn project(&self, id: &ProjectId) -> Result<Option<Project>, StoreError> {
        self.get(&t::state_key(t::PROJECTS, id))
    }
    fn projects(&self) -> Result<Vec<(ProjectId, Project)>, StoreError> {
        self.scan_state(&[t::PROJECTS])
    }
    fn fund(&self, fund: &FundRef) -> Result<Option<FundState>, StoreError> {
        self.get(&t::state_key(t::FUNDS, fund))
    }
    fn donation(
        &self,
        charity: &Address,
        receipt: &ReceiptNo,
    ) -> Result<Option<Donation>, StoreError> {
        self.get(&t::state_key(t::DONATIONS, &(*charity, receipt.clone())))
    }
    fn charity_years(&self, charity: &Address) -> Result<Vec<(u32, CharityYear)>, StoreError> {
        let mut prefix = vec![t::CHARITY_YEARS];
        prefix.extend_from_slice(&charity.0);
        let mut years: Vec<((Address, u32), CharityYear)> = self.scan_state(&prefix)?;
        years.sort_by_key(|((_, y), _)| *y);
        Ok(years.into_iter().map(|((_, y), v)| (y, v)).collect())
    }
    fn game(&self, id: &GameId) -> Result<Option<GameTotals>, StoreError> {
        self.get(&t::state_key(t::GAMES, id))
    }
    fn welfare_years(&self) -> Result<Vec<(u32, WelfareYear)>, StoreError> {
        let mut years: Vec<(u32, WelfareYear)> = self.scan_state(&[t::WELFARE_YEARS])?;
        years.sort_by_key(|(y, _)| *y);
        Ok(years)
    }
    fn draw(&self, id: &DrawId) -> Result<Option<Draw>, StoreError> {
        self.get(&t::state_key(t::DRAWS, id))
    }
    fn draws(&self) -> Result<Vec<(DrawId, Draw)>, StoreError> {
        self.scan_state(&[t::DRAWS])
    }
    fn listings(&self) -> Result<Vec<Listed>, StoreError> {
        self.scan_state(&[t::LISTINGS])
    }

    fn records_of_fund(
        &self,
        fund: &FundRef,
        after: Option<Location>,
        limit: usize,
    ) -> Result<Page<Location>, StoreError> {
        self.grouped(t::fund_prefix(t::FUND_RECORDS, fund), after, limit)
    }
    fn records_of_member(
        &self,
        member: &Address,
        after: Option<Location>,
        limit: usize,
    ) -> Result<Page<Location>, StoreError> {
        let mut p = vec![t::MEMBER_RECORDS];
        p.extend_from_slice(&member.0);
        self.grouped(p, after, limit)
    }
    fn donations_by_donor(
        &self,
        donor: &Commitment,
        after: Option<Location>,
        limit: usize,
    ) -> Result<Page<Location>, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut prefix = vec![t::DONORS];
        prefix.extend_from_slice(&donor.0);
        let from = match after {
            Some(a) => {
                let mut k = t::donor_key(donor, a.height, a.index);
                k.push(0);
                k
            }
            None => prefix.clone(),
        };
        let mut items = Vec::new();
        for item in self.kv.range(&from, &prefix_end(&prefix)) {
            let (k, _) = item?;
            let rest = &k[prefix.len()..];
            let (height, index) = height_index(rest)
                .filter(|_| rest.len() == 12)
                .ok_or_else(|| StoreError::Corrupt("donor index key".into()))?;
            if items.len() == limit {
                let next = items.last().copied();
                return Ok(Page { items, next });
            }
            items.push(Location { height, index });
        }
        Ok(Page { items, next: None })
    }
    fn trace_positions(&self, id: &RecordId) -> Result<Vec<(u8, FundRef, u64)>, StoreError> {
        Ok(self.get(&t::trace_positions_key(id))?.unwrap_or_default())
    }
    fn follow(
        &self,
        fund: &FundRef,
        start: u64,
        amount: u64,
    ) -> Result<Vec<crate::tracing::Step>, StoreError> {
        Ok(crate::trace::follow(self, fund, start, amount)?.steps)
    }
    fn annotations(&self, id: &RecordId) -> Result<Vec<Location>, StoreError> {
        let mut prefix = vec![t::ANNOTATIONS];
        prefix.extend_from_slice(&id.0);
        let mut out = Vec::new();
        for item in self.kv.range(&prefix, &prefix_end(&prefix)) {
            let (k, _) = item?;
            let rest = &k[prefix.len()..];
            let (height, index) = height_index(rest)
                .filter(|_| rest.len() == 12)
                .ok_or_else(|| StoreError::Corrupt("annotation index key".into()))?;
            out.push(Location { height, index });
        }
        Ok(out)
    }
    fn trace_proof(
        &self,
        id: &RecordId,
        direction: crate::tracing::Direction,
    ) -> Result<crate::tracing::TraceProof, ProofBuildError> {
        Store::trace_proof(self, id, direction)
    }
}
