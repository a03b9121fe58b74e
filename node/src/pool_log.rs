//! The pool's log on disk: the bytes of every record this node answered
//! `202` for (from its HTTP endpoint or its explorer) are appended and
//! fsynced before the answer, so a record a client was told is pending
//! survives a crash of this node: at start, the node admits the logged
//! records again (committed or expired ones are refused and forgotten).
//!
//! Format: frames of `len: u32 LE`, `crc32(bytes): u32 LE`, `bytes`. A torn
//! or damaged tail (a crash during an append) is cut off at open. The log
//! is emptied when the pool is empty and the log has passed
//! [`TRUNCATE_BYTES`], and rewritten from the pool when it grows past
//! [`COMPACT_BYTES`] and four times the pool — off the consensus loop, and
//! never often (each is an fsync); records left in the log after they
//! were committed only cost a refused re-admission at the next start.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Empty the log, when the pool is empty, once it holds this much.
pub const TRUNCATE_BYTES: u64 = 1 << 20;
/// Rewrite the log from the pool once it is larger than this (and four
/// times the pool's bytes).
pub const COMPACT_BYTES: u64 = 64 << 20;

/// A frame larger than this is damage, not a record.
const MAX_FRAME: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
#[error("pool log {path}: {source}")]
pub struct PoolLogError {
    path: PathBuf,
    source: std::io::Error,
}

pub struct PoolLog {
    path: PathBuf,
    file: std::sync::Arc<Mutex<(File, u64)>>,
    /// Appends go through one writer thread, which writes every append
    /// waiting and then fsyncs once for all of them (group commit).
    appends: Mutex<std::sync::mpsc::Sender<Append>>,
}

/// Frames to append, and where to say when they are on disk.
type Append = (Vec<u8>, std::sync::mpsc::Sender<Result<(), String>>);

/// The writer thread: takes every append waiting, one write, one fsync.
fn writer(file: std::sync::Arc<Mutex<(File, u64)>>, rx: std::sync::mpsc::Receiver<Append>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        group.extend(rx.try_iter());
        let mut buf = Vec::new();
        for (b, _) in &group {
            buf.extend_from_slice(b);
        }
        let result = match file.lock() {
            Ok(mut f) => {
                f.0.write_all(&buf)
                    .and_then(|()| f.0.sync_data())
                    .map(|()| f.1 += buf.len() as u64)
                    .map_err(|e| e.to_string())
            }
            Err(_) => Err("lock poisoned".to_string()),
        };
        for (_, reply) in group {
            let _ = reply.send(result.clone());
        }
    }
}

impl PoolLog {
    /// Opens (or creates) the log; returns it and the records it holds.
    pub fn open(path: &Path) -> Result<(PoolLog, Vec<Vec<u8>>), PoolLogError> {
        let err = |source| PoolLogError {
            path: path.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(err)?;
        let mut all = Vec::new();
        file.read_to_end(&mut all).map_err(err)?;
        let (records, good) = parse(&all);
        if good < all.len() {
            tracing::warn!(
                path = %path.display(),
                kept = records.len(),
                cut = all.len() - good,
                "pool log: a torn or damaged tail was cut off"
            );
            file.set_len(good as u64).map_err(err)?;
            file.sync_all().map_err(err)?;
        }
        let file = std::sync::Arc::new(Mutex::new((file, good as u64)));
        let (tx, rx) = std::sync::mpsc::channel();
        let w = file.clone();
        std::thread::Builder::new()
            .name("pool-log".into())
            .spawn(move || writer(w, rx))
            .map_err(err)?;
        Ok((
            PoolLog {
                path: path.to_path_buf(),
                file,
                appends: Mutex::new(tx),
            },
            records,
        ))
    }

    fn err(&self, source: std::io::Error) -> PoolLogError {
        PoolLogError {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends records and waits until they are on disk (appends from
    /// many requests share one fsync).
    pub fn append<'a>(
        &self,
        records: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), PoolLogError> {
        let mut buf = Vec::new();
        for r in records {
            frame(&mut buf, r);
        }
        if buf.is_empty() {
            return Ok(());
        }
        let (reply, done) = std::sync::mpsc::channel();
        let gone = || self.err(std::io::Error::other("the pool log writer stopped"));
        self.appends
            .lock()
            .map_err(|_| gone())?
            .send((buf, reply))
            .map_err(|_| gone())?;
        done.recv()
            .map_err(|_| gone())?
            .map_err(|e| self.err(std::io::Error::other(e)))
    }

    /// Bytes in the log.
    fn len(&self) -> u64 {
        self.file.lock().map(|f| f.1).unwrap_or(0)
    }

    /// Whether [`PoolLog::compact`] may have something to do.
    pub fn wants_compaction(&self) -> bool {
        self.len() >= TRUNCATE_BYTES
    }

    /// Empties the log if the pool is empty, or rewrites it from the pool
    /// if it has grown well past it. The pool is read with the log locked:
    /// a record admitted meanwhile is appended after this, never erased.
    pub fn compact(&self, pool: &crate::pool::SharedPool) -> Result<(), PoolLogError> {
        self.compact_at(pool, TRUNCATE_BYTES, COMPACT_BYTES)
    }

    /// [`PoolLog::compact`] with its thresholds given (tests use small ones).
    fn compact_at(
        &self,
        pool: &crate::pool::SharedPool,
        truncate_at: u64,
        rewrite_at: u64,
    ) -> Result<(), PoolLogError> {
        let mut f = self
            .file
            .lock()
            .map_err(|_| self.err(std::io::Error::other("lock poisoned")))?;
        let (len, bytes) = {
            let p = pool.lock();
            (p.len(), p.bytes() as u64)
        };
        if len == 0 && f.1 >= truncate_at {
            f.0.set_len(0).map_err(|e| self.err(e))?;
            f.0.sync_all().map_err(|e| self.err(e))?;
            f.1 = 0;
        } else if f.1 > rewrite_at && f.1 > 4 * bytes {
            let records = pool.lock().oldest(usize::MAX);
            *f = self.write_fresh(records.iter().map(|r| r.bytes.as_slice()))?;
        }
        Ok(())
    }

    /// A new log file holding `records`, renamed over the log; the open
    /// file and its size.
    fn write_fresh<'a>(
        &self,
        records: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(File, u64), PoolLogError> {
        let mut buf = Vec::new();
        for r in records {
            frame(&mut buf, r);
        }
        let tmp = self.path.with_extension("log.tmp");
        {
            let mut t = File::create(&tmp).map_err(|e| self.err(e))?;
            t.write_all(&buf).map_err(|e| self.err(e))?;
            t.sync_all().map_err(|e| self.err(e))?;
        }
        std::fs::rename(&tmp, &self.path).map_err(|e| self.err(e))?;
        if let Some(dir) = self.path.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| self.err(e))?;
        Ok((file, buf.len() as u64))
    }
}

fn frame(buf: &mut Vec<u8>, r: &[u8]) {
    buf.extend_from_slice(&(r.len() as u32).to_le_bytes());
    buf.extend_from_slice(&crc32fast::hash(r).to_le_bytes());
    buf.extend_from_slice(r);
}

/// The whole frames at the start of `all`, and where they end.
fn parse(all: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(head) = all.get(at..at + 8) {
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len > MAX_FRAME {
            break;
        }
        let Some(bytes) = all.get(at + 8..at + 8 + len) else {
            break;
        };
        if crc32fast::hash(bytes) != crc {
            break;
        }
        out.push(bytes.to_vec());
        at += 8 + len;
    }
    (out, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_records_survive_reopening_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pool.log");
        let (log, none) = PoolLog::open(&path).unwrap();
        assert!(none.is_empty() && log.len() == 0);
        log.append([b"one".as_slice(), b"two".as_slice()]).unwrap();
        log.append([b"three".as_slice()]).unwrap();
        drop(log);
        let (log, got) = PoolLog::open(&path).unwrap();
        assert_eq!(
            got,
            vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
        let whole = log.len();
        drop(log);

        // A crash mid-append: half a frame at the end.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let (log, got) = PoolLog::open(&path).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(log.len(), whole);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
        // Appends continue after the cut.
        log.append([b"four".as_slice()]).unwrap();
        drop(log);
        assert_eq!(PoolLog::open(&path).unwrap().1.len(), 4);

        // A damaged byte inside a frame: that frame and the rest are cut.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8 + 3 + 8 + 1] ^= 0xff; // inside "two"
        std::fs::write(&path, &bytes).unwrap();
        let (_, got) = PoolLog::open(&path).unwrap();
        assert_eq!(got, vec![b"one".to_vec()]);
    }

    /// Compaction empties the log only when the pool is empty and the log
    /// is past its threshold; a record in the pool is never erased.
    #[test]
    fn compaction_never_erases_a_pooled_record() {
        use crate::pool::{Pool, SharedPool};
        let dir = tempfile::tempdir().unwrap();
        let (log, _) = PoolLog::open(&dir.path().join("pool.log")).unwrap();
        let big = vec![7u8; 4096];
        let n = (TRUNCATE_BYTES as usize / big.len()) + 1;
        log.append(std::iter::repeat_n(big.as_slice(), n)).unwrap();
        assert!(log.wants_compaction());
        // The pool holds a record: nothing is erased.
        let (g, members) = shanlian_ledger::genesis::dev_genesis();
        let key = &members[1].key;
        let fund = shanlian_ledger::types::FundRef::General(
            shanlian_ledger::types::Address::of_key(&key.public()),
        );
        let rec = crate::demo::donations(key, &g.hash(), &fund, "PL", 1, |_| 100).remove(0);
        let pool = SharedPool::new(Pool::new(10, 1 << 20));
        pool.lock().insert(rec.clone()).unwrap();
        log.append([rec.bytes.as_slice()]).unwrap();
        let before = log.len();
        log.compact(&pool).unwrap();
        assert_eq!(log.len(), before);
        // Empty pool: the log is emptied.
        pool.lock().remove_committed([&rec.id]);
        log.compact(&pool).unwrap();
        assert_eq!(log.len(), 0);
        // Below the threshold, an empty pool leaves a small log alone.
        log.append([b"x".as_slice()]).unwrap();
        assert!(!log.wants_compaction());
        log.compact(&pool).unwrap();
        assert_eq!(log.len(), 9);
    }

    /// Appends from many threads at once (grouped under one fsync) all
    /// land, each whole.
    #[test]
    fn concurrent_appends_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pool.log");
        let (log, _) = PoolLog::open(&path).unwrap();
        let log = std::sync::Arc::new(log);
        let threads: Vec<_> = (0..8u8)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..50u8 {
                        log.append([[t, i, 1, 2, 3].as_slice()]).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(log);
        let (_, got) = PoolLog::open(&path).unwrap();
        assert_eq!(got.len(), 400);
        let mut seen: Vec<(u8, u8)> = got.iter().map(|r| (r[0], r[1])).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 400);
    }

    /// A log grown well past the pool is rewritten to hold exactly the
    /// pool's records (atomically, by rename), and appends go on after it.
    #[test]
    fn a_grown_log_is_rewritten_from_the_pool() {
        use crate::pool::{Pool, SharedPool};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pool.log");
        let (log, _) = PoolLog::open(&path).unwrap();
        let (g, members) = shanlian_ledger::genesis::dev_genesis();
        let key = &members[1].key;
        let fund = shanlian_ledger::types::FundRef::General(
            shanlian_ledger::types::Address::of_key(&key.public()),
        );
        let recs = crate::demo::donations(key, &g.hash(), &fund, "RW", 20, |_| 100);
        log.append(recs.iter().map(|r| r.bytes.as_slice())).unwrap();
        // Two are still pending; the rest were committed.
        let pool = SharedPool::new(Pool::new(100, 1 << 20));
        for r in &recs[..2] {
            pool.lock().insert(r.clone()).unwrap();
        }
        // Not past the rewrite threshold: left alone.
        log.compact_at(&pool, u64::MAX, u64::MAX).unwrap();
        assert_eq!(PoolLog::open(&path).unwrap().1.len(), 20);
        log.compact_at(&pool, u64::MAX, 1).unwrap();
        log.append([b"later".as_slice()]).unwrap();
        drop(log);
        let (_, got) = PoolLog::open(&path).unwrap();
        let want: Vec<Vec<u8>> = recs[..2]
            .iter()
            .map(|r| r.bytes.clone())
            .chain([b"later".to_vec()])
            .collect();
        assert_eq!(got, want);
        assert!(!dir.path().join("pool.log.tmp").exists());
    }
}
