//! In-memory tables with an undo journal. A refused record, or a block
//! validated on a scratch basis, rolls back to a mark exactly; at the end
//! of a block the journal names every key whose value differs from the
//! block's start, which becomes the block's write set.

use shanlian_core::codec;
use std::collections::HashMap;

/// The maps' hasher: foldhash, seeded per process.
pub type Hasher = foldhash::fast::RandomState;
use std::hash::Hash;

/// One state table: a map plus the undo log of the open block.
#[derive(Debug, Clone)]
pub struct Table<K, V> {
    family: u8,
    map: HashMap<K, V, Hasher>,
    undo: Vec<(K, Option<V>)>,
}

impl<K: Eq + Hash + Clone + bincode::Encode, V: Clone + bincode::Encode> Table<K, V> {
    pub fn new(family: u8) -> Self {
        Table {
            family,
            map: HashMap::default(),
            undo: Vec::new(),
        }
    }
    pub fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k)
    }
    pub fn contains(&self, k: &K) -> bool {
        self.map.contains_key(k)
    }
    pub fn put(&mut self, k: K, v: V) {
        let old = self.map.insert(k.clone(), v);
        self.undo.push((k, old));
    }
    pub fn remove(&mut self, k: &K) {
        if let Some(old) = self.map.remove(k) {
            self.undo.push((k.clone(), Some(old)));
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter()
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Loads an entry without journaling (store open).
    pub fn load(&mut self, k: K, v: V) {
        self.map.insert(k, v);
    }
}

/// What every table offers the block machinery, whatever its types.
pub trait Journaled {
    fn mark(&self) -> usize;
    fn rollback(&mut self, mark: usize);
    /// Appends `(key bytes, new value bytes or None)` for every key changed
    /// since `mark`.
    fn changes_since(&self, mark: usize, out: &mut Vec<(Vec<u8>, Option<Vec<u8>>)>);
    fn clear_journal(&mut self);
    /// Appends every entry, encoded as stored.
    fn entries(&self, out: &mut Vec<(Vec<u8>, Vec<u8>)>);
}

impl<K: Eq + Hash + Clone + bincode::Encode, V: Clone + PartialEq + bincode::Encode> Journaled
    for Table<K, V>
{
    fn mark(&self) -> usize {
        self.undo.len()
    }
    fn rollback(&mut self, mark: usize) {
        while self.undo.len() > mark {
            let Some((k, old)) = self.undo.pop() else {
                break;
            };
            match old {
                Some(v) => {
                    self.map.insert(k, v);
                }
                None => {
                    self.map.remove(&k);
                }
            }
        }
    }
    fn changes_since(&self, mark: usize, out: &mut Vec<(Vec<u8>, Option<Vec<u8>>)>) {
        // The first undo entry of a key since the mark holds its value at
        // the mark; only keys whose value differs now are changes.
        let mut seen = std::collections::HashSet::with_hasher(Hasher::default());
        for (k, original) in &self.undo[mark.min(self.undo.len())..] {
            if seen.insert(k) {
                let now = self.map.get(k);
                if now == original.as_ref() {
                    continue;
                }
                let key = shanlian_core::keys::state_key(self.family, k);
                out.push((key, now.map(codec::encode)));
            }
        }
    }
    fn clear_journal(&mut self) {
        self.undo.clear();
    }
    fn entries(&self, out: &mut Vec<(Vec<u8>, Vec<u8>)>) {
        for (k, v) in &self.map {
            out.push((
                shanlian_core::keys::state_key(self.family, k),
                codec::encode(v),
            ));
        }
    }
}
