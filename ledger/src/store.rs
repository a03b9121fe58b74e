//! The sled store: one tree, key families declared in [`crate::tables`],
//! and one atomic batch per block (block, certificate, header, state
//! changes, trace rows, log tiles, indexes and the new tip together).
//! After a crash the store reopens at the last batch that reached disk,
//! never half of one.

use crate::block::{BlockData, CommitCertificate, Header};
use crate::codec::{self, DecodeError};
use crate::genesis::Genesis;
use crate::merkle::{self, Blake3Hasher, Frontier, TileId, TileReader};
use crate::record::{Record, SignedRecord};
use crate::state::{History, Location, State, Transition};
use crate::tables::{self as t};
use crate::types::*;
use crate::Refusal;
use bincode::{Decode, Encode};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sled(#[from] sled::Error),
    #[error("stored bytes: {0}")]
    Decode(#[from] DecodeError),
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    #[error("store holds chain {stored} but genesis {given} was given")]
    GenesisMismatch { stored: String, given: String },
    #[error("store is not initialised with a genesis")]
    NotInitialised,
    #[error("block {got} does not follow the stored tip {tip}")]
    NotNext { tip: u64, got: u64 },
    #[error("log: {0}")]
    Log(#[from] merkle::LogError),
}

/// The committed tip, written with every block.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Tip {
    pub height: u64,
    pub time: Timestamp,
    pub header_hash: Hash32,
    pub state_hash: Hash32,
    pub log_size: u64,
}

/// A sled-backed ledger store. Cheap to clone (sled trees are shared).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    tree: sled::Tree,
}

impl Store {
    /// Opens (or creates) a store directory.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(256 << 20)
            .open()?;
        let tree = db.open_tree("ledger")?;
        Ok(Store { db, tree })
    }

    /// A store in a temporary directory that disappears on drop (tests).
    pub fn temporary() -> Result<Store, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        let tree = db.open_tree("ledger")?;
        Ok(Store { db, tree })
    }

    fn get_meta<T: bincode::Decode<()>>(&self, name: &str) -> Result<Option<T>, StoreError> {
        match self.tree.get(t::meta_key(name))? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// The stored genesis, if initialised.
    pub fn genesis(&self) -> Result<Option<Genesis>, StoreError> {
        self.get_meta("genesis")
    }

    pub fn tip(&self) -> Result<Option<Tip>, StoreError> {
        self.get_meta("tip")
    }

    /// Initialises an empty store with `genesis`, or checks that a
    /// non-empty one holds the same genesis; returns the state at the tip.
    pub fn open_state(&self, genesis: &Genesis) -> Result<State, StoreError> {
        match self.genesis()? {
            Some(stored) => {
                if stored.hash() != genesis.hash() {
                    return Err(StoreError::GenesisMismatch {
                        stored: hex::encode(stored.hash()),
                        given: hex::encode(genesis.hash()),
                    });
                }
                self.load_state()
            }
            None => {
                let (state, writes) = State::from_genesis(genesis.clone());
                let mut b = sled::Batch::default();
                for (k, v) in writes {
                    if let Some(v) = v {
                        b.insert(k, v);
                    }
                }
                b.insert(t::meta_key("genesis"), codec::encode(genesis));
                let tip = Tip {
                    height: 0,
                    time: genesis.time,
                    header_hash: state.genesis_hash,
                    state_hash: state.state_hash,
                    log_size: 0,
                };
                b.insert(t::meta_key("tip"), codec::encode(&tip));
                self.tree.apply_batch(b)?;
                self.tree.flush()?;
                Ok(state)
            }
        }
    }

    /// Rebuilds the in-memory state from the store.
    pub fn load_state(&self) -> Result<State, StoreError> {
        let genesis = self.genesis()?.ok_or(StoreError::NotInitialised)?;
        let tip = self.tip()?.ok_or(StoreError::NotInitialised)?;
        let log = Frontier::<Blake3Hasher>::from_reader(
            &merkle::TileNodes::<Blake3Hasher, _>::new(self),
            tip.log_size,
        )?;
        let mut entries = Vec::new();
        for item in self.tree.range(vec![t::MEMBERS]..vec![t::TRACE_SOURCES]) {
            let (k, v) = item?;
            entries.push((k.to_vec(), v.to_vec()));
        }
        // Ids still inside the replay window: records of blocks recent
        // enough that their expiry may not have passed.
        let horizon = tip
            .time
            .0
            .saturating_sub(genesis.params.max_expiry_window_ms + genesis.params.clock_skew_ms);
        let mut recent = Vec::new();
        let mut h = tip.height;
        while h > 0 {
            let Some(block) = self.block(h)? else { break };
            if block.header.time.0 < horizon {
                break;
            }
            for bytes in &block.records {
                let r: SignedRecord = codec::decode(bytes)?;
                if r.body.expires >= tip.time {
                    recent.push((RecordId(*blake3::hash(bytes).as_bytes()), r.body.expires));
                }
            }
            h -= 1;
        }
        Ok(State::restore(
            genesis,
            tip.height,
            tip.time,
            tip.header_hash,
            tip.state_hash,
            log,
            entries.into_iter(),
            recent.into_iter(),
        )?)
    }

    /// Writes a decided block and everything it changes in one atomic batch.
    pub fn commit(
        &self,
        block: &BlockData,
        cert: &CommitCertificate,
        tr: &Transition,
    ) -> Result<(), StoreError> {
        let h = block.header.height;
        let tip = self.tip()?.ok_or(StoreError::NotInitialised)?;
        if h != tip.height + 1 || tr.height != h {
            return Err(StoreError::NotNext {
                tip: tip.height,
                got: h,
            });
        }
        let mut b = sled::Batch::default();
        b.insert(t::height_key(t::BLOCKS, h), codec::encode(block));
        b.insert(t::height_key(t::CERTIFICATES, h), codec::encode(cert));
        b.insert(t::height_key(t::HEADERS, h), codec::encode(&block.header));
        for (k, v) in &tr.state_writes {
            match v {
                Some(v) => b.insert(k.as_slice(), v.as_slice()),
                None => b.remove(k.as_slice()),
            }
        }
        for (k, v) in &tr.index_writes {
            b.insert(k.as_slice(), v.as_slice());
        }
        let mut frontier = tr.log_before.clone();
        if frontier.size() != tip.log_size {
            return Err(StoreError::Corrupt(
                "log frontier does not match the stored tip".into(),
            ));
        }
        let leaves: Vec<[u8; 32]> = tr.record_ids.iter().map(|r| r.0).collect();
        for (id, tile) in merkle::append_batch(&mut frontier, self, &leaves)? {
            b.insert(tile_key(id), merkle::tile_to_bytes(&tile));
        }
        let new_tip = Tip {
            height: h,
            time: block.header.time,
            header_hash: block.header.hash(),
            state_hash: block.header.state_hash,
            log_size: frontier.size(),
        };
        b.insert(t::meta_key("tip"), codec::encode(&new_tip));
        self.tree.apply_batch(b)?;
        Ok(())
    }

    /// A named tree in the same database for a program's own data (the
    /// node keeps its undecided proposals there). Not part of the ledger:
    /// the verifier neither reads nor checks it.
    pub fn aux_tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        if name == "ledger" {
            return Err(StoreError::Corrupt(
                "\"ledger\" is the ledger's own tree".into(),
            ));
        }
        Ok(self.db.open_tree(name)?)
    }

    /// Waits until everything committed is on disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    fn get_height<T: bincode::Decode<()>>(
        &self,
        family: u8,
        h: u64,
    ) -> Result<Option<T>, StoreError> {
        match self.tree.get(t::height_key(family, h))? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    pub fn block(&self, h: u64) -> Result<Option<BlockData>, StoreError> {
        self.get_height(t::BLOCKS, h)
    }
    pub fn header(&self, h: u64) -> Result<Option<Header>, StoreError> {
        self.get_height(t::HEADERS, h)
    }
    pub fn certificate(&self, h: u64) -> Result<Option<CommitCertificate>, StoreError> {
        self.get_height(t::CERTIFICATES, h)
    }

    /// Raw bytes of a stored value (for tamper tests and tools).
    pub fn raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }
    /// Overwrites raw bytes (for tamper tests only).
    pub fn put_raw(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.tree.insert(key, value)?;
        Ok(())
    }

    /// Removes a raw entry (for tamper tests only).
    pub fn remove_raw(&self, key: &[u8]) -> Result<(), StoreError> {
        self.tree.remove(key)?;
        Ok(())
    }

    /// Raw entries with keys in `[from, to)`.
    pub fn scan_range(
        &self,
        from: Vec<u8>,
        to: Vec<u8>,
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> {
        self.tree.range(from..to).map(|r| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(StoreError::from)
        })
    }

    /// Where a committed record is.
    pub fn location(&self, id: &RecordId) -> Result<Option<Location>, StoreError> {
        match self.tree.get(t::record_id_key(id))? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// A committed record by id.
    pub fn record(&self, id: &RecordId) -> Result<Option<(Location, Record)>, StoreError> {
        let Some(loc) = self.location(id)? else {
            return Ok(None);
        };
        self.record_at(loc).map(|r| r.map(|r| (loc, r)))
    }

    pub fn record_at(&self, loc: Location) -> Result<Option<Record>, StoreError> {
        let Some(block) = self.block(loc.height)? else {
            return Ok(None);
        };
        let Some(bytes) = block.records.get(loc.index as usize) else {
            return Ok(None);
        };
        let signed: SignedRecord = codec::decode(bytes)?;
        Ok(Some(Record {
            signed,
            bytes: bytes.clone(),
            id: RecordId(*blake3::hash(bytes).as_bytes()),
        }))
    }

    /// A charity's donation by receipt number.
    pub fn donation(
        &self,
        charity: &Address,
        receipt: &ReceiptNo,
    ) -> Result<Option<crate::state::Donation>, StoreError> {
        match self
            .tree
            .get(t::state_key(t::DONATIONS, &(*charity, receipt.clone())))?
        {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Locations of every donation made with a donor commitment.
    pub fn donations_by_donor(&self, donor: &Commitment) -> Result<Vec<Location>, StoreError> {
        let mut prefix = vec![t::DONORS];
        prefix.extend_from_slice(&donor.0);
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(&prefix) {
            let (k, _) = item?;
            let rest = &k[prefix.len()..];
            if rest.len() != 12 {
                return Err(StoreError::Corrupt("donor index key".into()));
            }
            let mut hb = [0u8; 8];
            hb.copy_from_slice(&rest[..8]);
            let mut ib = [0u8; 4];
            ib.copy_from_slice(&rest[8..]);
            out.push(Location {
                height: u64::from_be_bytes(hb),
                index: u32::from_be_bytes(ib),
            });
        }
        Ok(out)
    }

    fn grouped(&self, prefix: Vec<u8>) -> Result<Vec<Location>, StoreError> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(&prefix) {
            let (k, v) = item?;
            let rest = &k[prefix.len()..];
            if rest.len() != 8 || v.len() % 4 != 0 {
                return Err(StoreError::Corrupt("grouped index entry".into()));
            }
            let mut hb = [0u8; 8];
            hb.copy_from_slice(rest);
            let height = u64::from_be_bytes(hb);
            for c in v.chunks(4) {
                let mut ib = [0u8; 4];
                ib.copy_from_slice(c);
                out.push(Location {
                    height,
                    index: u32::from_le_bytes(ib),
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

    /// Inclusion proof of log leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash32>, StoreError> {
        Ok(merkle::inclusion_proof::<Blake3Hasher, _>(
            &merkle::TileNodes::<Blake3Hasher, _>::new(self),
            index,
            size,
        )?)
    }

    /// Consistency proof between two log sizes.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash32>, StoreError> {
        Ok(merkle::consistency_proof::<Blake3Hasher, _>(
            &merkle::TileNodes::<Blake3Hasher, _>::new(self),
            size1,
            size2,
        )?)
    }

    /// The log root at any committed size.
    pub fn log_root_at(&self, size: u64) -> Result<Hash32, StoreError> {
        Ok(merkle::root_at::<Blake3Hasher, _>(
            &merkle::TileNodes::<Blake3Hasher, _>::new(self),
            size,
        )?)
    }

    /// Ordered rows of one trace family for a fund, from the last row
    /// starting at or before `from` up to (not including) `to`. Rows are
    /// stored grouped per block (see `state::group_trace_rows`).
    pub(crate) fn trace_rows<V: bincode::Decode<()>>(
        &self,
        family: u8,
        fund: &FundRef,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, V)>, StoreError> {
        let prefix = t::fund_prefix(family, fund);
        let first = self
            .tree
            .range(prefix.clone()..=t::fund_pos_key(family, fund, from))
            .next_back()
            .transpose()?
            .map(|(k, _)| k.to_vec())
            .filter(|k| k.starts_with(&prefix))
            .unwrap_or_else(|| prefix.clone());
        let mut rows: Vec<(u64, V)> = Vec::new();
        for item in self.tree.range(first..t::fund_pos_key(family, fund, to)) {
            let (k, v) = item?;
            if k.len() != prefix.len() + 8 {
                return Err(StoreError::Corrupt("trace group key".into()));
            }
            let group: Vec<(u64, V)> = codec::decode(&v)?;
            rows.extend(group);
        }
        // Keep the last row at or before `from` and everything after it
        // that starts before `to`.
        let skip = rows.iter().rposition(|(p, _)| *p <= from).unwrap_or(0);
        rows.drain(..skip);
        rows.retain(|(p, _)| *p < to);
        Ok(rows)
    }
}

fn tile_key(id: TileId) -> Vec<u8> {
    let mut k = vec![t::TILES];
    k.extend_from_slice(&id.key());
    k
}

impl TileReader for Store {
    fn tile(&self, id: TileId) -> Result<Option<Vec<merkle::Hash>>, merkle::StoreError> {
        match self.tree.get(tile_key(id)) {
            Ok(Some(v)) => merkle::tile_from_bytes(&v).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(merkle::StoreError::new(e.to_string())),
        }
    }
}

impl History for Store {
    fn record_signer(&self, id: &RecordId) -> Result<Option<PublicKey>, Refusal> {
        self.record(id)
            .map(|r| r.map(|(_, r)| r.signed.signer))
            .map_err(|e| Refusal::Store(e.to_string()))
    }
    fn header(&self, height: u64) -> Result<Option<Header>, Refusal> {
        Store::header(self, height).map_err(|e| Refusal::Store(e.to_string()))
    }
}
