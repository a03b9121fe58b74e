//! The ordered key-value backends a [`super::Store`] runs on: sled on disk
//! for nodes, and a map in memory for tests and tools. Both give the same
//! guarantees the store relies on: keys in byte order, and a batch applied
//! atomically (all of it or none).

use super::StoreError;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::RwLock;

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
    /// The sled database behind this backend, if any (a node keeps its own
    /// trees beside the ledger's).
    fn sled_db(&self) -> Option<&sled::Db> {
        None
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
    fn sled_db(&self) -> Option<&sled::Db> {
        Some(&self.db)
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
