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
    /// Inserts `v` at `k` if `k` holds nothing (one lookup); otherwise
    /// changes nothing and returns `v`.
    pub fn insert_new(&mut self, k: K, v: V) -> Result<(), V> {
        match self.map.entry(k) {
            std::collections::hash_map::Entry::Occupied(_) => Err(v),
            std::collections::hash_map::Entry::Vacant(e) => {
                self.undo.push((e.key().clone(), None));
                e.insert(v);
                Ok(())
            }
        }
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
        let since = &self.undo[mark.min(self.undo.len())..];
        let mut seen =
            std::collections::HashSet::with_capacity_and_hasher(since.len(), Hasher::default());
        out.reserve(since.len());
        for (k, original) in since {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn changes<K, V>(t: &Table<K, V>, mark: usize) -> Vec<(Vec<u8>, Option<Vec<u8>>)>
    where
        K: Eq + Hash + Clone + bincode::Encode,
        V: Clone + PartialEq + bincode::Encode,
    {
        let mut out = Vec::new();
        t.changes_since(mark, &mut out);
        out.sort();
        out
    }

    /// Rolling back to a mark restores every value exactly — puts over
    /// existing keys, new keys, removals, several writes to one key — which
    /// is what makes a refused record change nothing.
    #[test]
    fn rollback_restores_exactly() {
        let mut t: Table<u32, String> = Table::new(0x01);
        t.load(1, "one".into());
        t.load(2, "two".into());
        let before: Vec<_> = {
            let mut v: Vec<_> = t.iter().map(|(k, v)| (*k, v.clone())).collect();
            v.sort();
            v
        };
        let mark = t.mark();
        t.put(1, "uno".into());
        t.put(1, "eins".into());
        t.put(3, "three".into());
        t.remove(&2);
        t.remove(&9); // absent: nothing to undo
        assert_eq!(t.get(&1).map(String::as_str), Some("eins"));
        assert!(!t.contains(&2));
        t.rollback(mark);
        let mut after: Vec<_> = t.iter().map(|(k, v)| (*k, v.clone())).collect();
        after.sort();
        assert_eq!(after, before);
        assert_eq!(t.mark(), mark);
    }

    /// `insert_new` fills an empty key with one journal entry, and leaves
    /// a taken key, and the journal, exactly as they were.
    #[test]
    fn insert_new_only_fills_empty_keys() {
        let mut t: Table<u32, u64> = Table::new(0x06);
        t.load(1, 10);
        let mark = t.mark();
        assert_eq!(t.insert_new(1, 11), Err(11));
        assert_eq!(t.get(&1), Some(&10));
        assert_eq!(t.mark(), mark);
        assert_eq!(t.insert_new(2, 20), Ok(()));
        assert_eq!(t.get(&2), Some(&20));
        assert_eq!(
            changes(&t, mark),
            vec![(
                crate::keys::state_key(0x06, &2u32),
                Some(codec::encode(&20u64))
            )]
        );
        t.rollback(mark);
        assert!(!t.contains(&2));
        assert_eq!(t.get(&1), Some(&10));
    }

    /// Nested marks: rolling back the inner one keeps the outer changes.
    #[test]
    fn nested_marks() {
        let mut t: Table<u32, u64> = Table::new(0x01);
        let outer = t.mark();
        t.put(1, 10);
        let inner = t.mark();
        t.put(1, 11);
        t.put(2, 20);
        t.rollback(inner);
        assert_eq!(t.get(&1), Some(&10));
        assert_eq!(t.get(&2), None);
        t.rollback(outer);
        assert!(t.is_empty());
    }

    /// The write set lists a key once, with its final value; a key written
    /// back to its old value, or created and removed, is not a change.
    #[test]
    fn changes_are_net() {
        let mut t: Table<u32, u64> = Table::new(0x07);
        t.load(1, 10);
        t.load(2, 20);
        let mark = t.mark();
        t.put(1, 11);
        t.put(1, 12);
        t.put(2, 21);
        t.put(2, 20); // back to where it was
        t.put(3, 30);
        t.remove(&3); // created and removed
        t.put(4, 40);
        t.remove(&1);
        let key = |k: u32| crate::keys::state_key(0x07, &k);
        assert_eq!(
            changes(&t, mark),
            vec![(key(1), None), (key(4), Some(codec::encode(&40u64)))]
        );
        t.clear_journal();
        assert!(changes(&t, 0).is_empty());
    }
}
