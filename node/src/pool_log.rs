//! The pool's log on disk: the bytes of every record this node answered
//! `202` for (from its HTTP endpoint or its explorer) are appended and
//! fsynced before the answer, so a record a client was told is pending
//! survives a crash of this node: at start, the node admits the logged
//! records again (committed or expired ones are refused and forgotten).
//!
//! Format: frames of `len: u32 LE`, `crc32(bytes): u32 LE`, `bytes`. A torn
//! or damaged tail (a crash during an append) is cut off at open. The log
//! is emptied when the pool is, and rewritten from the pool when it grows
//! past [`COMPACT_BYTES`] and four times the pool.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    file: Mutex<(File, u64)>,
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
        Ok((
            PoolLog {
                path: path.to_path_buf(),
                file: Mutex::new((file, good as u64)),
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

    /// Appends records and waits until they are on disk.
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
        let mut f = self
            .file
            .lock()
            .map_err(|_| self.err(std::io::Error::other("lock poisoned")))?;
        f.0.write_all(&buf).map_err(|e| self.err(e))?;
        f.0.sync_data().map_err(|e| self.err(e))?;
        f.1 += buf.len() as u64;
        Ok(())
    }

    /// Bytes in the log.
    pub fn len(&self) -> u64 {
        self.file.lock().map(|f| f.1).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces the log's contents with `records` (the pool's), atomically:
    /// a temporary file, fsynced, renamed over the log.
    pub fn rewrite<'a>(
        &self,
        records: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), PoolLogError> {
        let mut buf = Vec::new();
        for r in records {
            frame(&mut buf, r);
        }
        let mut f = self
            .file
            .lock()
            .map_err(|_| self.err(std::io::Error::other("lock poisoned")))?;
        if buf.is_empty() {
            f.0.set_len(0).map_err(|e| self.err(e))?;
            f.0.sync_all().map_err(|e| self.err(e))?;
            f.1 = 0;
            return Ok(());
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
        *f = (file, buf.len() as u64);
        Ok(())
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
        assert!(none.is_empty() && log.is_empty());
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

    #[test]
    fn rewrite_replaces_the_contents_and_empties() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pool.log");
        let (log, _) = PoolLog::open(&path).unwrap();
        log.append([b"a".as_slice(), b"b".as_slice(), b"c".as_slice()])
            .unwrap();
        log.rewrite([b"c".as_slice()]).unwrap();
        log.append([b"d".as_slice()]).unwrap();
        drop(log);
        let (log, got) = PoolLog::open(&path).unwrap();
        assert_eq!(got, vec![b"c".to_vec(), b"d".to_vec()]);
        log.rewrite(std::iter::empty()).unwrap();
        assert!(log.is_empty());
        drop(log);
        assert!(PoolLog::open(&path).unwrap().1.is_empty());
    }
}
