//! The record pool: records admitted by this node and waiting for a block,
//! oldest first, indexed by id, bounded in records and in bytes. It also
//! remembers, for a while, why records left it without being committed
//! (refused by a block's rules, or expired), so a submitter can ask.

use shanlian_ledger::record::Record;
use shanlian_ledger::types::{RecordId, Timestamp};
use shanlian_ledger::Refusal;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Why a record left the pool without being committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// A ledger rule refused it when a block was built.
    Refused(Refusal),
    /// Its expiry passed before any block took it.
    Expired,
}

/// What the pool knows of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolStatus {
    Pending,
    Dropped(Dropped),
    Unknown,
}

/// The pool said no.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolFull {
    #[error("the pool is full ({0} records); try again later")]
    Records(usize),
    #[error("the pool is full ({0} bytes); try again later")]
    Bytes(usize),
}

/// Default bounds: enough for a minute of the target load.
pub const MAX_RECORDS: usize = 200_000;
pub const MAX_BYTES: usize = 256 * 1024 * 1024;
/// How many drop reasons are remembered (oldest forgotten first).
const MAX_OUTCOMES: usize = 200_000;

/// The pool itself (see the module documentation).
#[derive(Debug)]
pub struct Pool {
    max_records: usize,
    max_bytes: usize,
    next: u64,
    /// Admission order: when each record came in, and the record.
    order: BTreeMap<u64, (Instant, Record)>,
    ids: HashMap<RecordId, u64>,
    /// The same records by expiry: expiring costs O(expired), not O(pool)
    /// (it runs after every block).
    by_expiry: std::collections::BTreeSet<(Timestamp, u64)>,
    bytes: usize,
    outcomes: HashMap<RecordId, Dropped>,
    outcome_order: VecDeque<RecordId>,
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new(MAX_RECORDS, MAX_BYTES)
    }
}

impl Pool {
    pub fn new(max_records: usize, max_bytes: usize) -> Pool {
        Pool {
            max_records,
            max_bytes,
            next: 0,
            order: BTreeMap::new(),
            ids: HashMap::new(),
            by_expiry: std::collections::BTreeSet::new(),
            bytes: 0,
            outcomes: HashMap::new(),
            outcome_order: VecDeque::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
    pub fn bytes(&self) -> usize {
        self.bytes
    }
    pub fn contains(&self, id: &RecordId) -> bool {
        self.ids.contains_key(id)
    }

    /// Adds a record (already admitted by the ledger's rules). `Ok(false)`
    /// for a duplicate, which changes nothing.
    pub fn insert(&mut self, record: Record) -> Result<bool, PoolFull> {
        if self.ids.contains_key(&record.id) {
            return Ok(false);
        }
        if self.order.len() >= self.max_records {
            return Err(PoolFull::Records(self.order.len()));
        }
        if self.bytes + record.bytes.len() > self.max_bytes {
            return Err(PoolFull::Bytes(self.bytes));
        }
        self.bytes += record.bytes.len();
        self.ids.insert(record.id, self.next);
        self.by_expiry
            .insert((record.signed.body.expires, self.next));
        self.outcomes.remove(&record.id);
        self.order.insert(self.next, (Instant::now(), record));
        self.next += 1;
        Ok(true)
    }

    /// Up to `n` records, oldest first.
    pub fn oldest(&self, n: usize) -> Vec<Record> {
        self.order
            .values()
            .take(n)
            .map(|(_, r)| r.clone())
            .collect()
    }

    fn take(&mut self, id: &RecordId) -> Option<(Instant, Record)> {
        let seq = self.ids.remove(id)?;
        let (at, r) = self.order.remove(&seq)?;
        self.by_expiry.remove(&(r.signed.body.expires, seq));
        self.bytes -= r.bytes.len();
        Some((at, r))
    }

    fn note(&mut self, id: RecordId, why: Dropped) {
        if self.outcomes.insert(id, why).is_none() {
            self.outcome_order.push_back(id);
        }
        while self.outcome_order.len() > MAX_OUTCOMES {
            if let Some(old) = self.outcome_order.pop_front() {
                self.outcomes.remove(&old);
            }
        }
    }

    /// Committed records leave the pool. Returns how long each of them
    /// waited here (records this pool never held are not counted).
    pub fn remove_committed<'a>(
        &mut self,
        ids: impl IntoIterator<Item = &'a RecordId>,
    ) -> Vec<Duration> {
        let mut waited = Vec::new();
        for id in ids {
            if let Some((at, _)) = self.take(id) {
                waited.push(at.elapsed());
            }
            self.outcomes.remove(id);
        }
        waited
    }

    /// Records a block's rules refused leave the pool; the reason stays.
    pub fn refuse(&mut self, refused: Vec<(RecordId, Refusal)>) {
        for (id, why) in refused {
            if self.take(&id).is_some() {
                self.note(id, Dropped::Refused(why));
            }
        }
    }

    /// Records whose expiry is before `time` leave the pool. Returns how many.
    pub fn expire(&mut self, time: Timestamp) -> usize {
        let mut gone = 0;
        while let Some(&(expires, seq)) = self.by_expiry.first() {
            if expires >= time {
                break;
            }
            self.by_expiry.pop_first();
            let Some(id) = self.order.get(&seq).map(|(_, r)| r.id) else {
                continue;
            };
            self.take(&id);
            self.note(id, Dropped::Expired);
            gone += 1;
        }
        gone
    }

    /// Records the expiry index holds (equal to `len` always; for tests).
    #[cfg(test)]
    fn expiry_entries(&self) -> usize {
        self.by_expiry.len()
    }

    pub fn status(&self, id: &RecordId) -> PoolStatus {
        if self.ids.contains_key(id) {
            PoolStatus::Pending
        } else if let Some(d) = self.outcomes.get(id) {
            PoolStatus::Dropped(d.clone())
        } else {
            PoolStatus::Unknown
        }
    }

    /// Which of `ids` are in the pool (their signatures were checked at
    /// admission: a record id is the hash of its whole bytes).
    pub fn known(&self, ids: impl Iterator<Item = RecordId>) -> Vec<bool> {
        ids.map(|id| self.ids.contains_key(&id)).collect()
    }
}

/// A pool shared between the application loop, the HTTP endpoint and
/// gossip.
#[derive(Clone, Debug, Default)]
pub struct SharedPool(Arc<Mutex<Pool>>);

impl SharedPool {
    pub fn new(pool: Pool) -> SharedPool {
        SharedPool(Arc::new(Mutex::new(pool)))
    }
    /// A pool holding `records` (tests and tools; no admission checks).
    /// The node treats pool records as signature-checked, so these must
    /// carry valid signatures.
    pub fn with_records(records: Vec<Record>) -> SharedPool {
        let mut pool = Pool::default();
        for r in records {
            let _ = pool.insert(r);
        }
        SharedPool::new(pool)
    }
    /// The pool, even if a thread panicked while holding it (every
    /// operation leaves it consistent).
    pub fn lock(&self) -> MutexGuard<'_, Pool> {
        match self.0.lock() {
            Ok(p) => p,
            Err(p) => p.into_inner(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shanlian_ledger::genesis::dev_genesis;
    use shanlian_ledger::record::{RecordBody, SignedRecord};
    use shanlian_ledger::testkit::payloads as p;
    use shanlian_ledger::types::*;

    fn records(n: u64, expires: u64) -> Vec<Record> {
        let (g, members) = dev_genesis();
        let key = &members[1].key;
        let fund = FundRef::General(Address::of_key(&key.public()));
        (0..n)
            .map(|i| {
                let body = RecordBody {
                    created: Timestamp(1),
                    expires: Timestamp(expires + i),
                    nonce: i,
                    payload: p::donation(ReceiptNo(format!("P-{i}")), fund.clone(), 100, 1),
                };
                Record::new(SignedRecord::sign(body, key, &g.hash()))
            })
            .collect()
    }

    #[test]
    fn oldest_first_duplicates_ignored_and_bounded() {
        let rs = records(5, 1000);
        let size = rs[0].bytes.len();
        let mut pool = Pool::new(4, 1 << 20);
        for r in &rs[..4] {
            assert_eq!(pool.insert(r.clone()), Ok(true));
        }
        assert_eq!(pool.insert(rs[0].clone()), Ok(false));
        assert_eq!(pool.insert(rs[4].clone()), Err(PoolFull::Records(4)));
        assert_eq!(pool.len(), 4);
        assert_eq!(pool.bytes(), 4 * size);
        let ids: Vec<_> = pool.oldest(10).iter().map(|r| r.id).collect();
        assert_eq!(ids, rs[..4].iter().map(|r| r.id).collect::<Vec<_>>());

        let mut small = Pool::new(100, size * 2);
        assert!(small.insert(rs[0].clone()).is_ok());
        assert!(small.insert(rs[1].clone()).is_ok());
        assert!(matches!(
            small.insert(rs[2].clone()),
            Err(PoolFull::Bytes(_))
        ));
    }

    #[test]
    fn leaving_the_pool_is_remembered() {
        let rs = records(3, 1000);
        let mut pool = Pool::default();
        for r in &rs {
            pool.insert(r.clone()).unwrap();
        }
        pool.remove_committed([&rs[0].id]);
        assert_eq!(pool.status(&rs[0].id), PoolStatus::Unknown);
        pool.refuse(vec![(rs[1].id, Refusal::BadSignature)]);
        assert!(matches!(
            pool.status(&rs[1].id),
            PoolStatus::Dropped(Dropped::Refused(_))
        ));
        assert_eq!(pool.expire(Timestamp(1001)), 0);
        assert_eq!(pool.expire(Timestamp(1003)), 1);
        assert_eq!(
            pool.status(&rs[2].id),
            PoolStatus::Dropped(Dropped::Expired)
        );
        assert!(pool.is_empty());
        assert_eq!(pool.bytes(), 0);
        // Submitted again, it is pending again.
        pool.insert(rs[2].clone()).unwrap();
        assert_eq!(pool.status(&rs[2].id), PoolStatus::Pending);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any sequence of inserts, commits, refusals and expiries: the
        /// expiry index holds exactly the pooled records, and `expire(t)`
        /// takes exactly those expiring before `t` (a naive model agrees).
        #[test]
        fn expiry_takes_exactly_the_expired(
            ops in proptest::collection::vec((0u8..4, 0usize..48, 0u64..60), 1..120)
        ) {
            use std::sync::OnceLock;
            static RS: OnceLock<Vec<Record>> = OnceLock::new();
            let rs = RS.get_or_init(|| records(48, 1000));
            let mut pool = Pool::default();
            let mut model: std::collections::BTreeMap<RecordId, u64> = Default::default();
            for (op, i, t) in ops {
                let r = &rs[i];
                match op {
                    0 => {
                        pool.insert(r.clone()).unwrap();
                        model.insert(r.id, r.signed.body.expires.0);
                    }
                    1 => {
                        pool.remove_committed([&r.id]);
                        model.remove(&r.id);
                    }
                    2 => {
                        pool.refuse(vec![(r.id, Refusal::BadSignature)]);
                        model.remove(&r.id);
                    }
                    _ => {
                        let time = 1000 + t;
                        let want = model.values().filter(|e| **e < time).count();
                        model.retain(|_, e| *e >= time);
                        proptest::prop_assert_eq!(pool.expire(Timestamp(time)), want);
                    }
                }
                proptest::prop_assert_eq!(pool.len(), model.len());
                proptest::prop_assert_eq!(pool.expiry_entries(), model.len());
            }
        }
    }
}
