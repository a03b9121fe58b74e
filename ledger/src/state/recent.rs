//! Replay protection (SPEC §8.2 rules 5 and 11): the ids committed within
//! the expiry window.

use shanlian_core::types::{RecordId, Timestamp};
use std::collections::{BTreeMap, HashSet};

type Hasher = crate::journal::Hasher;

/// Ids committed within the expiry window (replay protection), bucketed by
/// the second their expiry falls in. A bucket is forgotten once all its
/// expiries are before the block time; an id kept a little longer changes
/// no verdict, because an expired record is refused before the duplicate
/// check.
#[derive(Debug, Clone, Default)]
pub struct Recent {
    ids: HashSet<RecordId, Hasher>,
    buckets: BTreeMap<u64, Vec<RecordId>>,
    undo: Vec<RecentUndo>,
}

#[derive(Debug, Clone)]
enum RecentUndo {
    Inserted(u64),
    Pruned(u64, Vec<RecordId>),
}

impl Recent {
    /// Whether `id` was committed and its expiry window may still be open.
    pub fn contains(&self, id: &RecordId) -> bool {
        self.ids.contains(id)
    }
    /// A journal mark to roll back to.
    pub fn mark(&self) -> usize {
        self.undo.len()
    }
    /// Makes everything since the last clear permanent.
    pub fn clear_journal(&mut self) {
        self.undo.clear();
    }
    pub fn insert(&mut self, id: RecordId, exp: Timestamp) {
        let b = exp.0 / 1000;
        self.ids.insert(id);
        self.buckets.entry(b).or_default().push(id);
        self.undo.push(RecentUndo::Inserted(b));
    }
    /// Forgets the buckets whose expiries are all before `time`.
    pub fn prune(&mut self, time: Timestamp) {
        while let Some((&b, _)) = self.buckets.first_key_value() {
            if b >= time.0 / 1000 {
                break;
            }
            let Some((b, ids)) = self.buckets.pop_first() else {
                break;
            };
            for id in &ids {
                self.ids.remove(id);
            }
            self.undo.push(RecentUndo::Pruned(b, ids));
        }
    }
    pub fn rollback(&mut self, mark: usize) {
        while self.undo.len() > mark {
            match self.undo.pop() {
                Some(RecentUndo::Inserted(b)) => {
                    if let Some(v) = self.buckets.get_mut(&b) {
                        if let Some(id) = v.pop() {
                            self.ids.remove(&id);
                        }
                        if v.is_empty() {
                            self.buckets.remove(&b);
                        }
                    }
                }
                Some(RecentUndo::Pruned(b, ids)) => {
                    self.ids.extend(ids.iter().copied());
                    self.buckets.insert(b, ids);
                }
                None => break,
            }
        }
    }
}
