//! The ordered key-value backends a [`super::Store`] runs on: fjall (an LSM
//! tree) on disk for nodes, sled for data folders created before fjall, and a
//! map in memory for tests and tools. All give the same guarantees the store
//! relies on: keys in byte order, and a batch applied atomically (all of it
//! or none).

use super::StoreError;
use crate::keys;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// One write: a put (`Some`) or a deletion (`None`).
pub type Op<'a> = (Cow<'a, [u8]>, Option<Cow<'a, [u8]>>);

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// Entries in key order.
pub type KvIter<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + 'a>;

/// One atomic write: puts (`Some`) and deletions (`None`), in order.
#[derive(Debug, Default, Clone)]
pub struct WriteBatch<'a> {
    pub ops: Vec<Op<'a>>,
}

impl<'a> WriteBatch<'a> {
    pub fn put(&mut self, key: impl Into<Cow<'a, [u8]>>, value: impl Into<Cow<'a, [u8]>>) {
        self.ops.push((key.into(), Some(value.into())));
    }
    pub fn delete(&mut self, key: impl Into<Cow<'a, [u8]>>) {
        self.ops.push((key.into(), None));
    }
}

/// An ordered key-value store.
pub trait Kv: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Calls `f` with the value at `key`, where the backend can without
    /// copying it (a large block, to take one record out); false if absent.
    fn read(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> Result<bool, StoreError> {
        Ok(self.get(key)?.map(|v| f(&v)).is_some())
    }
    /// Entries with `from <= key < to`, in key order.
    fn range<'a>(&'a self, from: &[u8], to: &[u8]) -> KvIter<'a>;
    /// The last entry with `from <= key <= to`.
    fn last_in(&self, from: &[u8], to: &[u8]) -> Result<Option<Entry>, StoreError>;
    /// Applies a batch atomically.
    fn apply(&self, batch: WriteBatch<'_>) -> Result<(), StoreError>;
    /// Waits until everything applied is durable.
    fn flush(&self) -> Result<(), StoreError>;
    /// A named tree beside the ledger's for a program's own data (a node
    /// keeps its undecided proposals there); only on-disk backends have them.
    fn aux_tree(&self, name: &str) -> Result<AuxTree, StoreError> {
        Err(StoreError::Backend(format!(
            "this store keeps no tree of its own for {name:?} (in memory)"
        )))
    }
}

/// A program's own tree in a store's database (not part of the ledger: the
/// verifier neither reads nor checks it).
pub enum AuxTree {
    Sled(sled::Tree),
    Fjall {
        ks: fjall::Keyspace,
        part: fjall::PartitionHandle,
        /// The store's folder lock, held while this tree is.
        _lock: Arc<std::fs::File>,
    },
}

impl AuxTree {
    /// Every entry, in key order.
    pub fn entries(&self) -> Result<Vec<Entry>, StoreError> {
        match self {
            AuxTree::Sled(t) => t
                .iter()
                .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Into::into))
                .collect(),
            AuxTree::Fjall { part, .. } => part
                .iter()
                .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Into::into))
                .collect(),
        }
    }
    pub fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        match self {
            AuxTree::Sled(t) => {
                t.insert(key, value)?;
            }
            AuxTree::Fjall { part, .. } => part.insert(key, value)?,
        }
        Ok(())
    }
    pub fn remove(&self, key: &[u8]) -> Result<(), StoreError> {
        match self {
            AuxTree::Sled(t) => {
                t.remove(key)?;
            }
            AuxTree::Fjall { part, .. } => part.remove(key)?,
        }
        Ok(())
    }
    /// Removes every entry (reading keys only).
    pub fn clear(&self) -> Result<(), StoreError> {
        match self {
            AuxTree::Sled(t) => {
                for k in t.iter().keys() {
                    t.remove(k?)?;
                }
            }
            AuxTree::Fjall { part, .. } => {
                for k in part.keys() {
                    part.remove(k?)?;
                }
            }
        }
        Ok(())
    }
    /// Waits until everything written is durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        match self {
            AuxTree::Sled(t) => {
                t.flush()?;
            }
            AuxTree::Fjall { ks, .. } => ks.persist(fjall::PersistMode::SyncAll)?,
        }
        Ok(())
    }
}

/// sled: one tree, `ledger`, in a database directory.
pub struct SledKv {
    db: sled::Db,
    tree: sled::Tree,
}

impl SledKv {
    pub fn open(db: sled::Db) -> Result<SledKv, StoreError> {
        let tree = db.open_tree("ledger")?;
        Ok(SledKv { db, tree })
    }
}

impl Kv for SledKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }
    fn read(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> Result<bool, StoreError> {
        Ok(self.tree.get(key)?.map(|v| f(&v)).is_some())
    }
    fn range<'a>(&'a self, from: &[u8], to: &[u8]) -> KvIter<'a> {
        Box::new(self.tree.range(from.to_vec()..to.to_vec()).map(|r| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(StoreError::from)
        }))
    }
    fn last_in(&self, from: &[u8], to: &[u8]) -> Result<Option<Entry>, StoreError> {
        Ok(self
            .tree
            .range(from.to_vec()..=to.to_vec())
            .next_back()
            .transpose()?
            .map(|(k, v)| (k.to_vec(), v.to_vec())))
    }
    fn apply(&self, batch: WriteBatch<'_>) -> Result<(), StoreError> {
        let mut b = sled::Batch::default();
        for (k, v) in batch.ops {
            match v {
                Some(v) => b.insert(k.as_ref(), v.as_ref()),
                None => b.remove(k.as_ref()),
            }
        }
        self.tree.apply_batch(b)?;
        Ok(())
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
    fn aux_tree(&self, name: &str) -> Result<AuxTree, StoreError> {
        Ok(AuxTree::Sled(self.db.open_tree(name)?))
    }
}

/// The key families a fjall store keeps in a partition of their own, with
/// large values in blob files: blocks, their write sets and record offsets.
/// They are written once and never changed, so the LSM tree's compactions
/// move only their keys and blob files need no collection; everything else
/// (small, some rewritten) stays in the main partition.
const BLOB_FAMILIES: [u8; 3] = [keys::BLOCKS, keys::WRITE_SETS, keys::RECORD_OFFSETS];

fn in_blobs(key: &[u8]) -> bool {
    key.first().is_some_and(|f| BLOB_FAMILIES.contains(f))
}

/// fjall, an LSM tree: a block's writes are appended to a journal and a
/// memtable, and sorted into files by background compactions. Two
/// partitions (see [`BLOB_FAMILIES`]) behind one ordered key space; a batch
/// over both is atomic (one journal).
pub struct FjallKv {
    ks: fjall::Keyspace,
    main: fjall::PartitionHandle,
    blobs: fjall::PartitionHandle,
    /// Held (last, so released after the keyspace) while the store is open.
    lock: Arc<std::fs::File>,
}

/// The file a fjall store's folder is locked through: fjall does not lock
/// its folder (sled did), and two processes writing one store would
/// corrupt it.
const LOCK_FILE: &str = "shanlian.lock";

/// The store's block cache (all partitions).
const FJALL_CACHE: u64 = 256 << 20;

/// Most table files kept open at once (fjall's default is 900): the node's
/// sockets share the process's descriptors, often 1,024 in all. Files past
/// this are reopened when read, which the commit path never does.
const FJALL_OPEN_FILES: usize = 256;

impl FjallKv {
    /// Opens (or creates) the store in folder `path`, locked against any
    /// other opening until dropped; `temporary`: the folder is removed on
    /// drop.
    pub fn open(path: &Path, temporary: bool) -> Result<FjallKv, StoreError> {
        let io = |e: std::io::Error| StoreError::Backend(format!("{}: {e}", path.display()));
        std::fs::create_dir_all(path).map_err(io)?;
        let lock = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.join(LOCK_FILE))
            .map_err(io)?;
        lock.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => StoreError::Backend(format!(
                "{}: the store is open in another process (or already here)",
                path.display()
            )),
            std::fs::TryLockError::Error(e) => io(e),
        })?;
        let ks = fjall::Config::new(path)
            .temporary(temporary)
            .cache_size(FJALL_CACHE)
            .max_open_files(FJALL_OPEN_FILES)
            .open()?;
        let main = ks.open_partition("ledger", fjall::PartitionCreateOptions::default())?;
        let blobs = ks.open_partition(
            "blocks",
            fjall::PartitionCreateOptions::default()
                .with_kv_separation(fjall::KvSeparationOptions::default()),
        )?;
        Ok(FjallKv {
            ks,
            main,
            blobs,
            lock: Arc::new(lock),
        })
    }

    /// What a read sees: whole batches only. A batch's writes enter the
    /// memtables one by one and become visible together, at the keyspace's
    /// visible sequence number (`instant`); a plain `get` would also see a
    /// batch half-inserted (a new tip before its block's header). The
    /// snapshot is tracked, so compactions keep the versions it reads.
    fn snapshot(&self, p: &fjall::PartitionHandle) -> fjall::Snapshot {
        p.snapshot_at(self.ks.instant())
    }

    fn part(&self, key: &[u8]) -> &fjall::PartitionHandle {
        if in_blobs(key) {
            &self.blobs
        } else {
            &self.main
        }
    }

    /// The partitions that may hold keys in `from..to` (`to` inclusive when
    /// `inclusive`), in a fixed order.
    fn parts(&self, from: &[u8], to: &[u8], inclusive: bool) -> Vec<&fjall::PartitionHandle> {
        let below_to = |k: &[u8]| if inclusive { k <= to } else { k < to };
        // Family `f` holds the keys from `[f]` up to, not including, `[f + 1]`.
        let blobs = BLOB_FAMILIES.iter().any(|&f| {
            let start = [f];
            from < &[f + 1][..] && below_to(from.max(&start[..]))
        });
        // The main partition is left out only when the range lies inside one
        // blob family.
        let inside_one = from
            .first()
            .filter(|f| BLOB_FAMILIES.contains(f))
            .is_some_and(|&f| !below_to(&[f + 1]));
        let mut v = Vec::with_capacity(2);
        if !inside_one {
            v.push(&self.main);
        }
        if blobs {
            v.push(&self.blobs);
        }
        v
    }
}

fn owned(r: Result<fjall::KvPair, fjall::LsmError>) -> Result<Entry, StoreError> {
    r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(lsm)
}

fn lsm(e: fjall::LsmError) -> StoreError {
    StoreError::Fjall(e.into())
}

impl Kv for FjallKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .snapshot(self.part(key))
            .get(key)
            .map_err(lsm)?
            .map(|v| v.to_vec()))
    }
    fn read(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> Result<bool, StoreError> {
        Ok(self
            .snapshot(self.part(key))
            .get(key)
            .map_err(lsm)?
            .map(|v| f(&v))
            .is_some())
    }
    fn range<'a>(&'a self, from: &[u8], to: &[u8]) -> KvIter<'a> {
        if from >= to {
            return Box::new(std::iter::empty());
        }
        let at = self.ks.instant();
        let mut iters = self.parts(from, to, false).into_iter().map(|p| {
            let snapshot = p.snapshot_at(at);
            let iter = snapshot.range(from.to_vec()..to.to_vec()).map(owned);
            Box::new(Held {
                _snapshot: snapshot,
                iter,
            }) as KvIter<'a>
        });
        match (iters.next(), iters.next()) {
            (Some(a), Some(b)) => Box::new(Merge {
                a: a.peekable(),
                b: b.peekable(),
            }),
            (Some(a), None) => a,
            _ => Box::new(std::iter::empty()),
        }
    }
    fn last_in(&self, from: &[u8], to: &[u8]) -> Result<Option<Entry>, StoreError> {
        if from > to {
            return Ok(None);
        }
        let mut last: Option<Entry> = None;
        let at = self.ks.instant();
        for p in self.parts(from, to, true) {
            if let Some(e) = p
                .snapshot_at(at)
                .range(from.to_vec()..=to.to_vec())
                .next_back()
            {
                let e = owned(e)?;
                if last.as_ref().is_none_or(|l| e.0 > l.0) {
                    last = Some(e);
                }
            }
        }
        Ok(last)
    }
    fn apply(&self, batch: WriteBatch<'_>) -> Result<(), StoreError> {
        // A batch commits under one sequence number, so of two writes to
        // one key only the last may go in. In key order, too: consecutive
        // memtable inserts then walk the same skip-list nodes, still in
        // cache (random hash keys otherwise miss at every level; about a
        // quarter less CPU per key measured).
        let mut ops = batch.ops;
        ops.reverse();
        ops.sort_by(|a, b| a.0.cmp(&b.0)); // stable: the last write first
        ops.dedup_by(|later, first| later.0 == first.0);
        let mut b = self.ks.batch();
        for (k, v) in ops {
            let p = self.part(&k);
            match v {
                Some(v) => b.insert(p, k.as_ref(), v.as_ref()),
                None => b.remove(p, k.as_ref()),
            }
        }
        b.commit()?;
        Ok(())
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.ks.persist(fjall::PersistMode::SyncAll)?;
        Ok(())
    }
    fn aux_tree(&self, name: &str) -> Result<AuxTree, StoreError> {
        let part = self.ks.open_partition(
            &format!("aux-{name}"),
            fjall::PartitionCreateOptions::default(),
        )?;
        Ok(AuxTree::Fjall {
            ks: self.ks.clone(),
            part,
            _lock: self.lock.clone(),
        })
    }
}

/// An iterator over a snapshot, holding the snapshot open while it runs.
struct Held<I> {
    _snapshot: fjall::Snapshot,
    iter: I,
}

impl<I: Iterator> Iterator for Held<I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        self.iter.next()
    }
}

/// Two key-ordered iterators over disjoint keys, merged in key order.
struct Merge<'a> {
    a: std::iter::Peekable<KvIter<'a>>,
    b: std::iter::Peekable<KvIter<'a>>,
}

impl Iterator for Merge<'_> {
    type Item = Result<Entry, StoreError>;
    fn next(&mut self) -> Option<Self::Item> {
        let take_a = match (self.a.peek(), self.b.peek()) {
            (None, None) => return None,
            (Some(_), None) | (Some(Err(_)), _) => true,
            (None, Some(_)) | (_, Some(Err(_))) => false,
            (Some(Ok(a)), Some(Ok(b))) => a.0 <= b.0,
        };
        if take_a {
            self.a.next()
        } else {
            self.b.next()
        }
    }
}

/// A map in memory (tests, tools, an explorer's handlers under test).
#[derive(Default)]
pub struct MemKv {
    map: RwLock<Map>,
}

impl MemKv {
    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, Map>, StoreError> {
        self.map
            .read()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))
    }
}

impl Kv for MemKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read()?.get(key).cloned())
    }
    fn range<'a>(&'a self, from: &[u8], to: &[u8]) -> KvIter<'a> {
        if from >= to {
            return Box::new(std::iter::empty());
        }
        match self.read() {
            Ok(m) => {
                let items: Vec<_> = m
                    .range(from.to_vec()..to.to_vec())
                    .map(|(k, v)| Ok((k.clone(), v.clone())))
                    .collect();
                Box::new(items.into_iter())
            }
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }
    fn last_in(&self, from: &[u8], to: &[u8]) -> Result<Option<Entry>, StoreError> {
        if from > to {
            return Ok(None);
        }
        Ok(self
            .read()?
            .range(from.to_vec()..=to.to_vec())
            .next_back()
            .map(|(k, v)| (k.clone(), v.clone())))
    }
    fn apply(&self, batch: WriteBatch<'_>) -> Result<(), StoreError> {
        let mut m = self
            .map
            .write()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))?;
        for (k, v) in batch.ops {
            match v {
                Some(v) => m.insert(k.into_owned(), v.into_owned()),
                None => m.remove(k.as_ref()),
            };
        }
        Ok(())
    }
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fjall() -> (tempfile::TempDir, FjallKv) {
        let dir = tempfile::tempdir().unwrap();
        let kv = FjallKv::open(dir.path(), false).unwrap();
        (dir, kv)
    }

    /// Keys in and around the blob families and at the ends of the key space.
    fn key() -> impl Strategy<Value = Vec<u8>> {
        let family = prop_oneof![
            Just(0x00u8),
            Just(0x2f),
            Just(keys::BLOCKS),
            Just(0x31),
            Just(keys::WRITE_SETS),
            Just(0x3c),
            Just(keys::RECORD_OFFSETS),
            Just(0xff),
        ];
        (family, proptest::collection::vec(0u8..4, 0..3)).prop_map(|(f, rest)| {
            let mut k = vec![f];
            k.extend(rest);
            k
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// fjall's two partitions answer like one ordered map: every read
        /// agrees with the memory backend after the same batches.
        #[test]
        fn fjall_answers_like_one_ordered_map(
            batches in proptest::collection::vec(
                proptest::collection::vec((key(), proptest::option::of(0u8..=255)), 1..12),
                1..5,
            ),
            ranges in proptest::collection::vec((key(), key()), 1..12),
        ) {
            let (_dir, f) = fjall();
            let m = MemKv::default();
            for ops in &batches {
                let mut b = WriteBatch::default();
                for (k, v) in ops {
                    match v {
                        Some(v) => b.put(k.clone(), vec![*v; 3]),
                        None => b.delete(k.clone()),
                    }
                }
                f.apply(b.clone()).unwrap();
                m.apply(b).unwrap();
            }
            for (from, to) in &ranges {
                let got: Vec<_> = f.range(from, to).map(Result::unwrap).collect();
                let want: Vec<_> = m.range(from, to).map(Result::unwrap).collect();
                prop_assert_eq!(got, want, "range {:?}..{:?}", from, to);
                prop_assert_eq!(f.last_in(from, to).unwrap(), m.last_in(from, to).unwrap());
                prop_assert_eq!(f.get(from).unwrap(), m.get(from).unwrap());
            }
        }
    }

    /// A reader never sees part of a batch: the store writes its tip in the
    /// same batch as the block, and a reader that finds the new tip must
    /// find everything else the batch wrote (key order puts the tip, family
    /// 0x00, first into the memtable).
    #[test]
    fn readers_see_whole_batches_only() {
        let (_dir, f) = fjall();
        let f = std::sync::Arc::new(f);
        let tip = vec![keys::META, b't'];
        let last = vec![0xfe, 0xff];
        let key = |i: u32| {
            let mut k = vec![keys::RECORD_IDS];
            k.extend(i.to_be_bytes());
            k
        };
        let writer = {
            let f = f.clone();
            let (tip, last) = (tip.clone(), last.clone());
            std::thread::spawn(move || {
                for n in 1..=150u64 {
                    let mut b = WriteBatch::default();
                    for i in 0..2_000 {
                        b.put(key(i), n.to_be_bytes().to_vec());
                    }
                    b.put(last.clone(), n.to_be_bytes().to_vec());
                    b.put(tip.clone(), n.to_be_bytes().to_vec());
                    f.apply(b).unwrap();
                }
            })
        };
        let n_of = |v: Option<Vec<u8>>| v.map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap()));
        let mut reads = 0;
        while !writer.is_finished() {
            let t = n_of(f.get(&tip).unwrap());
            let l = n_of(f.get(&last).unwrap());
            assert!(
                l >= t,
                "tip of batch {t} seen, its last key still at batch {l}"
            );
            let in_range = f
                .range(&key(1_990), &key(2_000))
                .map(|e| n_of(Some(e.unwrap().1)));
            for v in in_range {
                assert!(v >= t, "tip of batch {t} seen, a range read at batch {v}");
            }
            reads += 1;
        }
        writer.join().unwrap();
        assert!(reads > 10, "{reads} reads");
    }

    #[test]
    fn a_store_open_anywhere_is_not_opened_again() {
        let (dir, f) = fjall();
        let e = FjallKv::open(dir.path(), false)
            .err()
            .expect("opened twice");
        assert!(e.to_string().contains("open in another process"), "{e}");
        // Its own tree keeps the folder locked until it is dropped too.
        let aux = f.aux_tree("consensus").unwrap();
        drop(f);
        assert!(FjallKv::open(dir.path(), false).is_err());
        drop(aux);
        FjallKv::open(dir.path(), false).unwrap();
    }

    #[test]
    fn the_last_write_to_a_key_in_a_batch_wins() {
        let (_dir, f) = fjall();
        let mut b = WriteBatch::default();
        b.put(b"a".to_vec(), b"1".to_vec());
        b.put(b"b".to_vec(), b"1".to_vec());
        b.delete(b"a".to_vec());
        b.put(b"b".to_vec(), b"2".to_vec());
        b.delete(b"c".to_vec());
        b.put(b"c".to_vec(), b"3".to_vec());
        f.apply(b).unwrap();
        assert_eq!(f.get(b"a").unwrap(), None);
        assert_eq!(f.get(b"b").unwrap(), Some(b"2".to_vec()));
        assert_eq!(f.get(b"c").unwrap(), Some(b"3".to_vec()));
    }

    #[test]
    fn a_range_across_families_merges_both_partitions() {
        let (_dir, f) = fjall();
        let mut b = WriteBatch::default();
        for k in [
            vec![keys::RECORD_IDS, 1],
            vec![keys::WRITE_SETS, 0, 1],
            vec![keys::ANNOTATIONS, 9],
            vec![keys::RECORD_OFFSETS, 0, 1],
            vec![0xfe],
        ] {
            b.put(k.clone(), k);
        }
        f.apply(b).unwrap();
        let keys: Vec<_> = f
            .range(&[keys::RECORD_IDS], &[0xff])
            .map(|e| e.unwrap().0)
            .collect();
        assert_eq!(
            keys,
            vec![
                vec![keys::RECORD_IDS, 1],
                vec![keys::WRITE_SETS, 0, 1],
                vec![keys::ANNOTATIONS, 9],
                vec![keys::RECORD_OFFSETS, 0, 1],
                vec![0xfe],
            ]
        );
        assert_eq!(
            f.last_in(&[keys::BLOCKS], &[keys::ANNOTATIONS, 0xff])
                .unwrap()
                .unwrap()
                .0,
            vec![keys::ANNOTATIONS, 9]
        );
        assert_eq!(
            f.last_in(&[keys::WRITE_SETS], &[keys::WRITE_SETS, 0xff])
                .unwrap()
                .unwrap()
                .0,
            vec![keys::WRITE_SETS, 0, 1]
        );
    }

    #[test]
    fn a_large_block_round_trips_through_blob_files_and_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let block: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        {
            let f = FjallKv::open(dir.path(), false).unwrap();
            let mut b = WriteBatch::default();
            b.put(vec![keys::BLOCKS, 0, 0, 0, 0, 0, 0, 0, 1], block.clone());
            b.put(vec![keys::META, b't'], b"tip".to_vec());
            f.apply(b).unwrap();
            f.flush().unwrap();
        }
        let f = FjallKv::open(dir.path(), false).unwrap();
        let mut len = 0;
        assert!(f
            .read(&[keys::BLOCKS, 0, 0, 0, 0, 0, 0, 0, 1], &mut |v| len =
                v.len())
            .unwrap());
        assert_eq!(len, block.len());
        assert_eq!(
            f.get(&[keys::BLOCKS, 0, 0, 0, 0, 0, 0, 0, 1]).unwrap(),
            Some(block)
        );
        assert_eq!(f.get(&[keys::META, b't']).unwrap(), Some(b"tip".to_vec()));
    }

    #[test]
    fn an_aux_tree_keeps_its_entries_apart_from_the_ledger() {
        let (_dir, f) = fjall();
        let aux = f.aux_tree("consensus").unwrap();
        aux.insert(b"o1", b"block").unwrap();
        aux.insert(b"s1", b"seen").unwrap();
        aux.flush().unwrap();
        assert_eq!(f.get(b"o1").unwrap(), None);
        assert_eq!(aux.entries().unwrap().len(), 2);
        aux.clear().unwrap();
        assert!(aux.entries().unwrap().is_empty());
    }
}
