//! Reads for the explorer, the client and tools: committed records with
//! their place in the log, state by key, and the lookup indexes.

use super::{Store, StoreError};
use crate::keys as t;
use crate::state::{Donation, Location};
use crate::types::*;

impl Store {
    /// A charity's donation by receipt number.
    pub fn donation(
        &self,
        charity: &Address,
        receipt: &ReceiptNo,
    ) -> Result<Option<Donation>, StoreError> {
        self.get(&t::state_key(t::DONATIONS, &(*charity, receipt.clone())))
    }

    /// Locations of every donation made with a donor commitment.
    pub fn donations_by_donor(&self, donor: &Commitment) -> Result<Vec<Location>, StoreError> {
        let mut prefix = vec![t::DONORS];
        prefix.extend_from_slice(&donor.0);
        let mut out = Vec::new();
        for item in self.kv.range(&prefix, &super::prefix_end(&prefix)) {
            let (k, _) = item?;
            let rest = &k[prefix.len()..];
            let (Some(h), Some(i)) = (rest.get(..8), rest.get(8..12)) else {
                return Err(StoreError::Corrupt("donor index key".into()));
            };
            if rest.len() != 12 {
                return Err(StoreError::Corrupt("donor index key".into()));
            }
            out.push(Location {
                height: u64::from_be_bytes(h.try_into().unwrap_or_default()),
                index: u32::from_be_bytes(i.try_into().unwrap_or_default()),
            });
        }
        Ok(out)
    }

    fn grouped(&self, prefix: Vec<u8>) -> Result<Vec<Location>, StoreError> {
        let mut out = Vec::new();
        for item in self.kv.range(&prefix, &super::prefix_end(&prefix)) {
            let (k, v) = item?;
            let rest = &k[prefix.len()..];
            if rest.len() != 8 || v.len() % 4 != 0 {
                return Err(StoreError::Corrupt("grouped index entry".into()));
            }
            let height = u64::from_be_bytes(rest.try_into().unwrap_or_default());
            for c in v.chunks_exact(4) {
                out.push(Location {
                    height,
                    index: u32::from_le_bytes(c.try_into().unwrap_or_default()),
                });
            }
        }
        Ok(out)
    }

    /// Locations of every record touching a fund (project or general fund), in commit order.
    pub fn records_of_fund(&self, fund: &FundRef) -> Result<Vec<Location>, StoreError> {
        self.grouped(t::fund_prefix(t::FUND_RECORDS, fund))
    }

    /// Locations of every record a member signed, in commit order.
    pub fn records_of_member(&self, member: &Address) -> Result<Vec<Location>, StoreError> {
        let mut p = vec![t::MEMBER_RECORDS];
        p.extend_from_slice(&member.0);
        self.grouped(p)
    }
}
