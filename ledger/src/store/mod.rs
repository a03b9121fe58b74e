//! The store: key families declared in [`shanlian_core::keys`], and one
//! atomic batch per block (block, certificate, header, state changes, trace
//! rows, log tiles, indexes and the new tip together). After a crash the
//! store reopens at the last batch that reached disk, never half of one.
//!
//! A store runs on a [`kv::Kv`] backend: on disk ([`Store::open`]: fjall, or
//! sled for a data folder created before fjall), or memory
//! ([`Store::memory`]) for tests and tools. Reads for the explorer
//! and the client are in [`query`].

mod check;
pub mod kv;
pub mod query;

pub use check::RecentCheck;

use crate::block::{BlockData, CommitCertificate, Header};
use crate::codec::{self, DecodeError};
use crate::fault::Fault;
use crate::genesis::Genesis;
use crate::keys as t;
use crate::merkle::{
    self, Blake3Hasher, ConsistencyProof, Frontier, InclusionProof, TileId, TileReader,
};
use crate::record::{Record, SignedRecord};
use crate::state::{History, Location, State, Transition};
use crate::types::*;
use bincode::{Decode, Encode};
use kv::{AuxTree, FjallKv, Kv, MemKv, SledKv, WriteBatch};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sled(#[from] sled::Error),
    #[error("database: {0}")]
    Fjall(#[from] fjall::Error),
    #[error("database: {0}")]
    Backend(String),
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
    #[error("{0}")]
    Fault(#[from] Fault),
}

impl StoreError {
    /// Whether the stored data itself is damaged or altered (it fails to
    /// decode, or fails its check against the certified headers), as
    /// opposed to the database failing to answer.
    pub fn is_corrupt(&self) -> bool {
        matches!(self, StoreError::Corrupt(_) | StoreError::Decode(_))
    }
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

/// A ledger store. Cheap to clone (the backend is shared).
#[derive(Clone)]
pub struct Store {
    kv: Arc<dyn Kv>,
    /// Complete log subtrees computed for proofs (they never change):
    /// serving many proofs folds the same upper nodes once.
    nodes: Arc<NodeCache>,
}

/// A bounded cache of complete log nodes (levels 4 and up, where a node
/// costs folding 16 to 128 stored hashes).
#[derive(Default)]
struct NodeCache(std::sync::Mutex<HashMap<merkle::NodeId, Hash32>>);

/// Numbers [`Store::temporary`]'s directories within the process.
static TEMPORARY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Most nodes kept (~3 MB).
const NODE_CACHE: usize = 65_536;

/// Tile nodes through the store's cache.
struct CachedNodes<'a> {
    tiles: merkle::TileNodes<'a, Blake3Hasher, Store>,
    cache: &'a NodeCache,
}

impl merkle::NodeReader for CachedNodes<'_> {
    fn node(&self, id: merkle::NodeId) -> Result<Option<Hash32>, merkle::StoreError> {
        if id.level % merkle::TILE_HEIGHT < 4 {
            return self.tiles.node(id);
        }
        if let Some(h) = self.cache.0.lock().ok().and_then(|c| c.get(&id).copied()) {
            return Ok(Some(h));
        }
        let h = self.tiles.node(id)?;
        if let (Some(h), Ok(mut c)) = (h, self.cache.0.lock()) {
            if c.len() >= NODE_CACHE {
                c.clear();
            }
            c.insert(id, h);
        }
        Ok(h)
    }
}

impl Store {
    /// Opens (or creates) a store directory. A new store is a fjall
    /// database (an LSM tree: docs/OPERATING.md, "The store's engine"); a
    /// directory that already holds a sled database (a data folder created
    /// before fjall) is opened with sled, with a page cache of up to 1 GiB
    /// (record-id, donor and donation keys are hashes, so each block's
    /// inserts land on leaves all over the tree).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if Store::is_sled(path) {
            return Store::open_sled(path);
        }
        Ok(Store::on(Arc::new(FjallKv::open(path, false)?)))
    }

    /// Opens (or creates) a sled store, with a page cache of up to 1 GiB:
    /// data folders from before fjall, and benches comparing the engines.
    pub fn open_sled(path: &Path) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(1 << 30)
            .open()?;
        Ok(Store::on(Arc::new(SledKv::open(db)?)))
    }

    /// Whether `path` holds a sled database (its `conf` and `db` files).
    pub fn is_sled(path: &Path) -> bool {
        path.join("conf").is_file() && path.join("db").is_file()
    }

    /// An on-disk store in a new temporary directory that disappears on
    /// drop (a folder of that name left by a killed process is skipped,
    /// never reused).
    pub fn temporary() -> Result<Store, StoreError> {
        loop {
            let dir = std::env::temp_dir().join(format!(
                "shanlian-store-{}-{}",
                std::process::id(),
                TEMPORARY.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(Store::on(Arc::new(FjallKv::open(&dir, true)?))),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(StoreError::Backend(format!("{}: {e}", dir.display())));
                }
            }
        }
    }

    /// A store in memory (tests, tools).
    pub fn memory() -> Store {
        Store::on(Arc::new(MemKv::default()))
    }

    /// A store on any backend.
    pub fn on(kv: Arc<dyn Kv>) -> Store {
        Store {
            kv,
            nodes: Arc::default(),
        }
    }

    fn log_nodes(&self) -> CachedNodes<'_> {
        CachedNodes {
            tiles: merkle::TileNodes::new(self),
            cache: &self.nodes,
        }
    }

    pub(crate) fn get<T: bincode::Decode<()>>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.kv.get(key)? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// The stored genesis, if initialised.
    pub fn genesis(&self) -> Result<Option<Genesis>, StoreError> {
        self.get(&t::meta_key("genesis"))
    }

    pub fn tip(&self) -> Result<Option<Tip>, StoreError> {
        self.get(&t::meta_key("tip"))
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
                let mut b = WriteBatch::default();
                for (k, v) in writes {
                    if let Some(v) = v {
                        b.put(k, v);
                    }
                }
                b.put(t::meta_key("genesis"), codec::encode(genesis));
                let tip = Tip {
                    height: 0,
                    time: genesis.time,
                    header_hash: state.genesis_hash,
                    state_hash: state.state_hash,
                    log_size: 0,
                };
                b.put(t::meta_key("tip"), codec::encode(&tip));
                self.kv.apply(b)?;
                self.kv.flush()?;
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
        let entries = self
            .kv
            .range(&[t::MEMBERS], &[t::TRACE_SOURCES])
            .collect::<Result<Vec<_>, _>>()?;
        // Ids still inside the replay window: records of blocks recent
        // enough that their expiry may not have passed.
        let horizon = tip
            .time
            .0
            .saturating_sub(genesis.params.max_expiry_window_ms + genesis.params.clock_skew_ms);
        let mut recent = Vec::new();
        let mut h = tip.height;
        while h > 0 {
            let block = self.block(h)?.ok_or_else(|| {
                StoreError::Corrupt(format!("block {h} is missing below the tip"))
            })?;
            if block.header.time.0 < horizon {
                break;
            }
            for bytes in &block.records {
                let r: SignedRecord = codec::decode(bytes)?;
                if r.body.expires >= tip.time {
                    recent.push((RecordId::of_bytes(bytes), r.body.expires));
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
        let mut b = WriteBatch::default();
        b.put(t::height_key(t::BLOCKS, h), codec::encode(block));
        b.put(t::height_key(t::RECORD_OFFSETS, h), block.record_offsets());
        b.put(t::height_key(t::CERTIFICATES, h), codec::encode(cert));
        b.put(t::height_key(t::HEADERS, h), codec::encode(&block.header));
        let header_hash = block.header.hash();
        b.put(t::header_hash_key(&header_hash), h.to_be_bytes().to_vec());
        for (k, v) in &tr.state_writes {
            match v {
                Some(v) => b.put(k.as_slice(), v.as_slice()),
                None => b.delete(k.as_slice()),
            }
        }
        for (k, v) in &tr.trace_groups {
            b.put(k.as_slice(), v.as_slice());
        }
        for (k, v) in &tr.index_writes {
            b.put(k.as_slice(), v.as_slice());
        }
        // The tiles come from the nodes the state machine completed while
        // it hashed the log for the header (no hashing again here).
        let size_before = tr.log_before.size();
        if size_before != tip.log_size
            || size_before.checked_add(tr.record_ids.len() as u64) != Some(tr.log_size)
            || tr.log_nodes.leaves() != tr.record_ids.len()
        {
            return Err(StoreError::Corrupt(
                "log frontier does not match the stored tip".into(),
            ));
        }
        for (id, tile) in merkle::tiles_gaining(size_before, &tr.log_nodes, self)? {
            b.put(tile_key(id), merkle::tile_to_bytes(&tile));
        }
        let new_tip = Tip {
            height: h,
            time: block.header.time,
            header_hash,
            state_hash: block.header.state_hash,
            log_size: tr.log_size,
        };
        b.put(t::meta_key("tip"), codec::encode(&new_tip));
        self.kv.apply(b)?;
        Ok(())
    }

    /// A named tree in the same database for a program's own data (the
    /// node keeps its undecided proposals there). Not part of the ledger:
    /// the verifier neither reads nor checks it. Only on-disk stores have
    /// them.
    pub fn aux_tree(&self, name: &str) -> Result<AuxTree, StoreError> {
        if name == "ledger" || name == "blocks" {
            return Err(StoreError::Corrupt(format!(
                "{name:?} is the ledger's own tree"
            )));
        }
        self.kv.aux_tree(name)
    }

    /// Copies every ledger entry of this store into `dst`, which must be
    /// empty (no tip), in batches of about 8 MiB, and flushes it; returns
    /// how many entries were copied. Converts a store between engines: the
    /// copy holds the same bytes under the same keys, so it verifies as
    /// the original does.
    pub fn copy_into(&self, dst: &Store) -> Result<u64, StoreError> {
        if dst.tip()?.is_some() || dst.genesis()?.is_some() {
            return Err(StoreError::Backend(
                "the store to copy into is not empty".into(),
            ));
        }
        // Every family's first byte is below 0xff (shanlian_core::keys), and
        // only those are copied: a key past them (up to 64 bytes of 0xff)
        // stops the copy rather than being left behind.
        if let Some((k, _)) = self.kv.last_in(&[0xff], &[0xff; 64])? {
            return Err(StoreError::Corrupt(format!(
                "a key outside every family: {}",
                hex::encode(k)
            )));
        }
        const BATCH_BYTES: usize = 8 << 20;
        let (mut n, mut bytes) = (0u64, 0usize);
        let mut batch = WriteBatch::default();
        for item in self.kv.range(&[], &[0xff]) {
            let (k, v) = item?;
            bytes += k.len() + v.len();
            batch.put(k, v);
            n += 1;
            if bytes >= BATCH_BYTES {
                dst.kv.apply(std::mem::take(&mut batch))?;
                bytes = 0;
            }
        }
        dst.kv.apply(batch)?;
        dst.kv.flush()?;
        let copied = dst.kv.range(&[], &[0xff]).count() as u64;
        if copied != n {
            return Err(StoreError::Backend(format!(
                "the copy holds {copied} entries, not the {n} read"
            )));
        }
        Ok(n)
    }

    /// Waits until everything committed is on disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.kv.flush()
    }

    fn get_height<T: bincode::Decode<()>>(
        &self,
        family: u8,
        h: u64,
    ) -> Result<Option<T>, StoreError> {
        self.get(&t::height_key(family, h)).map_err(|e| match e {
            StoreError::Decode(e) => {
                let what = match family {
                    t::BLOCKS => "block",
                    t::HEADERS => "header",
                    t::CERTIFICATES => "commit certificate",
                    _ => "entry",
                };
                StoreError::Corrupt(format!(
                    "the stored {what} at height {h} does not decode: {e}"
                ))
            }
            e => e,
        })
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

    /// Raw bytes of a stored value (for tools and tamper tests).
    pub fn raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.kv.get(key)
    }

    /// Overwrites raw bytes (tamper tests only).
    #[cfg(any(test, feature = "testkit"))]
    pub fn put_raw(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let mut b = WriteBatch::default();
        b.put(key, value);
        self.kv.apply(b)
    }

    /// Removes a raw entry (tamper tests only).
    #[cfg(any(test, feature = "testkit"))]
    pub fn remove_raw(&self, key: &[u8]) -> Result<(), StoreError> {
        let mut b = WriteBatch::default();
        b.delete(key);
        self.kv.apply(b)
    }

    /// Raw entries with keys in `[from, to)`.
    pub fn scan_range<'a>(&'a self, from: &[u8], to: &[u8]) -> kv::KvIter<'a> {
        self.kv.range(from, to)
    }

    /// Where a committed record is.
    pub fn location(&self, id: &RecordId) -> Result<Option<Location>, StoreError> {
        self.get(&t::record_id_key(id))
    }

    /// A committed record by id.
    pub fn record(&self, id: &RecordId) -> Result<Option<(Location, Record)>, StoreError> {
        let Some(loc) = self.location(id)? else {
            return Ok(None);
        };
        match self.record_at(loc)? {
            Some(r) if r.id == *id => Ok(Some((loc, r))),
            Some(_) => Err(StoreError::Corrupt(format!(
                "record {id} is indexed at height {} index {}, which holds another record",
                loc.height, loc.index
            ))),
            None => Err(StoreError::Corrupt(format!(
                "record {id} is indexed at height {} index {}, which does not exist",
                loc.height, loc.index
            ))),
        }
    }

    /// The record at a location, if that block holds one there.
    /// (Only that record is decoded, not the whole block.)
    pub fn record_at(&self, loc: Location) -> Result<Option<Record>, StoreError> {
        let i = loc.index as usize;
        let mut offset = None;
        self.kv
            .read(&t::height_key(t::RECORD_OFFSETS, loc.height), &mut |o| {
                offset = o
                    .get(4 * i..4 * i + 4)
                    .and_then(|b| b.try_into().ok())
                    .map(|b| u32::from_le_bytes(b) as usize);
            })?;
        let mut found: Result<Option<Vec<u8>>, DecodeError> = Ok(None);
        self.kv
            .read(&t::height_key(t::BLOCKS, loc.height), &mut |block| {
                found = match offset {
                    Some(o) => BlockData::record_at_offset(block, o).map(|r| Some(r.to_vec())),
                    None => BlockData::record_in(block, i).map(|r| r.map(<[u8]>::to_vec)),
                };
            })?;
        let Some(bytes) = found? else {
            return Ok(None);
        };
        // The bytes read must be the log's leaf at their position: a
        // record altered on disk is an error, never an answer.
        let id = RecordId::of_bytes(&bytes);
        let log_index = self.log_size_at(loc.height - 1)? + u64::from(loc.index);
        self.check_leaf(log_index, &id)?;
        let signed: SignedRecord = codec::decode(&bytes)?;
        Ok(Some(Record::with_bytes(signed, bytes)))
    }

    /// Inclusion proof of log leaf `index` in the log of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, StoreError> {
        let path = merkle::inclusion_proof::<Blake3Hasher, _>(&self.log_nodes(), index, size)?;
        Ok(InclusionProof {
            leaf_index: index,
            tree_size: size,
            path,
        })
    }

    /// Consistency proof from the log of `size1` leaves to that of `size2`.
    pub fn consistency_proof(
        &self,
        size1: u64,
        size2: u64,
    ) -> Result<ConsistencyProof, StoreError> {
        let path = merkle::consistency_proof::<Blake3Hasher, _>(&self.log_nodes(), size1, size2)?;
        Ok(ConsistencyProof {
            old_size: size1,
            new_size: size2,
            path,
        })
    }

    /// The log root at any committed size.
    pub fn log_root_at(&self, size: u64) -> Result<Hash32, StoreError> {
        Ok(merkle::root_at::<Blake3Hasher, _>(&self.log_nodes(), size)?)
    }

    /// Ordered rows of one trace family for a fund, from the last row
    /// starting at or before `from` up to (not including) `to`. Rows are
    /// stored grouped per block ([`shanlian_core::keys::group_trace_rows`]);
    /// the rows of a group are in the order written, so they are sorted here.
    pub(crate) fn trace_rows<V: bincode::Decode<()>>(
        &self,
        family: u8,
        fund: &FundRef,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, V)>, StoreError> {
        let prefix = t::fund_prefix(family, fund);
        // Inflow and outflow groups hold increasing positions and are keyed
        // by their first, so the rows around `from` start in the last group
        // keyed at or before it. A group of refund holes is in commit order
        // and may hold rows below its key (SPEC §9.1): read them all
        // (refunds are rare).
        let (first, end) = if family == t::TRACE_HOLES {
            (prefix.clone(), prefix_end(&prefix))
        } else {
            let first = self
                .kv
                .last_in(&prefix, &t::fund_pos_key(family, fund, from))?
                .map(|(k, _)| k)
                .unwrap_or_else(|| prefix.clone());
            (first, t::fund_pos_key(family, fund, to))
        };
        let mut rows: Vec<(u64, V)> = Vec::new();
        for item in self.kv.range(&first, &end) {
            let (k, v) = item?;
            if k.len() != prefix.len() + 8 {
                return Err(StoreError::Corrupt("trace group key".into()));
            }
            let group: Vec<(u64, V)> = codec::decode(&v)?;
            rows.extend(group);
        }
        rows.sort_by_key(|(p, _)| *p);
        // Keep the last row at or before `from` and everything after it
        // that starts before `to`.
        let skip = rows.iter().rposition(|(p, _)| *p <= from).unwrap_or(0);
        rows.drain(..skip);
        rows.retain(|(p, _)| *p < to);
        Ok(rows)
    }
}

/// The first key after every key that starts with `prefix`.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; prefix.len() + 1]
}

fn tile_key(id: TileId) -> Vec<u8> {
    let mut k = vec![t::TILES];
    k.extend_from_slice(&id.key());
    k
}

impl TileReader for Store {
    fn tile(&self, id: TileId) -> Result<Option<Vec<merkle::Hash>>, merkle::StoreError> {
        match self.kv.get(&tile_key(id)) {
            Ok(Some(v)) => merkle::tile_from_bytes(&v).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(merkle::StoreError::new(e.to_string())),
        }
    }
}

impl History for Store {
    fn record_signer(&self, id: &RecordId) -> Result<Option<PublicKey>, Fault> {
        Ok(self.record(id)?.map(|(_, r)| r.signed.signer))
    }
    fn header(&self, height: u64) -> Result<Option<Header>, Fault> {
        Ok(Store::header(self, height)?)
    }
}
