//! Logging for operators: the node's own events as they are, and the
//! peer-to-peer layer's connection complaints (an unreachable peer, an
//! outsider redialling, a connection closed) once per backoff instead of
//! every second.
//!
//! The libp2p layer under Malachite logs every failed dial of an
//! unreachable peer at ERROR and every refused outsider connection at
//! WARN, each time it retries: a node with one peer down wrote ~18 ERROR
//! lines a minute, a validator with one outsider redialling 120 WARN lines.
//! Here each such message (by its text, with numbers folded, so per peer
//! and per kind) is logged at WARN the first time, then at most once per
//! backoff that doubles from 10 s to 10 minutes, saying how many were left
//! out; after 10 quiet minutes it starts again at 10 s.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter};

/// The first repeat is logged after this long.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(10);
/// Repeats are logged at least this often.
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// Targets whose WARN and ERROR events are connection noise.
const NOISY: [&str; 3] = [
    "arc_malachitebft_network",
    "arc_malachitebft_discovery",
    "libp2p",
];

/// Whether an event is peer-connection noise to rate-limit.
fn noisy(meta: &Metadata<'_>) -> bool {
    *meta.level() <= Level::WARN && NOISY.iter().any(|t| meta.target().starts_with(t))
}

/// When each kind of message may next be logged.
#[derive(Default)]
pub struct Backoff {
    seen: HashMap<String, Entry>,
}

struct Entry {
    next: Instant,
    backoff: Duration,
    last: Instant,
    suppressed: u64,
}

/// Most kinds remembered (a flood of distinct messages cannot grow it).
const MAX_KINDS: usize = 4_096;

impl Backoff {
    /// `Some(n)`: log this occurrence, saying `n` were left out since the
    /// last one logged; `None`: leave it out.
    pub fn admit(&mut self, kind: &str, now: Instant) -> Option<u64> {
        if let Some(e) = self.seen.get_mut(kind) {
            if now.duration_since(e.last) >= MAX_BACKOFF {
                // Quiet for long: a new episode.
                e.backoff = FIRST_BACKOFF;
                e.next = now;
            }
            e.last = now;
            if now < e.next {
                e.suppressed += 1;
                return None;
            }
            let left_out = std::mem::take(&mut e.suppressed);
            e.next = now + e.backoff;
            e.backoff = (e.backoff * 2).min(MAX_BACKOFF);
            return Some(left_out);
        }
        if self.seen.len() >= MAX_KINDS {
            self.seen
                .retain(|_, e| now.duration_since(e.last) < MAX_BACKOFF);
            if self.seen.len() >= MAX_KINDS {
                self.seen.clear();
            }
        }
        self.seen.insert(
            kind.to_string(),
            Entry {
                next: now + FIRST_BACKOFF,
                backoff: FIRST_BACKOFF * 2,
                last: now,
                suppressed: 0,
            },
        );
        Some(0)
    }
}

/// One connection complaint to log: where it came from, its text, and how
/// many like it were left out since the last one logged.
#[derive(Debug)]
pub struct Complaint {
    pub source: &'static str,
    pub text: String,
    pub left_out: u64,
}

/// A per-layer filter: passes everything but connection noise, which it
/// hands to [`report`] once per backoff. (An event emitted while another is
/// being dispatched is dropped by `tracing`, so the WARN line is written
/// from the reporter's own thread.)
pub struct PeerNoise {
    backoff: Mutex<Backoff>,
    out: std::sync::mpsc::SyncSender<Complaint>,
}

impl PeerNoise {
    /// The filter and the receiving end for [`report`].
    pub fn new() -> (PeerNoise, std::sync::mpsc::Receiver<Complaint>) {
        let (out, rx) = std::sync::mpsc::sync_channel(1_024);
        (
            PeerNoise {
                backoff: Mutex::default(),
                out,
            },
            rx,
        )
    }
}

/// Logs one complaint at WARN under the target `shanlian_node::peers`.
pub fn log(c: &Complaint) {
    if c.left_out == 0 {
        tracing::warn!(target: "shanlian_node::peers", source = c.source, "{}", c.text);
    } else {
        tracing::warn!(
            target: "shanlian_node::peers",
            source = c.source,
            left_out = c.left_out,
            "{} (and {} more like it since the last one logged)",
            c.text,
            c.left_out
        );
    }
}

/// Starts the thread that logs the complaints the filter lets through.
pub fn report(rx: std::sync::mpsc::Receiver<Complaint>) {
    let _ = std::thread::Builder::new()
        .name("peer-log".into())
        .spawn(move || {
            for c in rx {
                log(&c);
            }
        });
}

impl<S: Subscriber> Filter<S> for PeerNoise {
    fn enabled(&self, _meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        true
    }

    /// This filter passes every level (it only thins out repeats), so it
    /// leaves the level to the filter it is combined with. Without a hint
    /// here the combination has none either: the `log` crate's max level
    /// stays at TRACE, and every `log::trace!` in sled and libp2p was
    /// handed to the subscriber to be filtered out (~2.8% of a loaded
    /// node's CPU, OPERATING.md).
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn event_enabled(&self, event: &Event<'_>, _cx: &Context<'_, S>) -> bool {
        let meta = event.metadata();
        if !noisy(meta) {
            return true;
        }
        let mut text = Message::default();
        event.record(&mut text);
        let kind = format!("{}: {}", meta.target(), fold_numbers(&text.0));
        let admitted = match self.backoff.lock() {
            Ok(mut b) => b.admit(&kind, Instant::now()),
            Err(_) => Some(0),
        };
        if let Some(left_out) = admitted {
            // Full (the reporter is behind): this one is left out.
            let _ = self.out.try_send(Complaint {
                source: meta.target(),
                text: text.0,
                left_out,
            });
        }
        false
    }
}

/// An event's message and fields as one line.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push_str(", ");
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }
}

/// The message with every run of decimal digits as `#`, so that the same
/// complaint about the same peer is one kind whatever the connection id,
/// port or count; peer ids (base58, letters and digits) still differ.
fn fold_numbers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_alnum = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() && !prev_alnum {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            if chars.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                // Part of a word (e.g. a peer id): keep it as it was.
                out.push(c);
                prev_alnum = true;
                continue;
            }
            out.push('#');
            prev_alnum = false;
        } else {
            out.push(c);
            prev_alnum = c.is_ascii_alphanumeric();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Combined with the level filter, the noise filter keeps its level as
    /// the hint, which is what sets the `log` crate's max level (so that
    /// sled's and libp2p's `log::trace!` calls cost one comparison).
    #[test]
    fn the_noise_filter_keeps_the_level_hint() {
        use tracing::level_filters::LevelFilter;
        use tracing_subscriber::filter::FilterExt as _;
        use tracing_subscriber::Registry;
        for (directive, level) in [
            ("info", LevelFilter::INFO),
            ("warn,shanlian_node=debug", LevelFilter::DEBUG),
        ] {
            let (noise, _rx) = PeerNoise::new();
            let filter = tracing_subscriber::EnvFilter::new(directive).and(noise);
            assert_eq!(
                Filter::<Registry>::max_level_hint(&filter),
                Some(level),
                "{directive}"
            );
        }
    }

    #[test]
    fn repeats_are_logged_once_per_doubling_backoff() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(b.admit("dial peer A", at(0)), Some(0));
        // One attempt a second: the next logged after 10 s, then 20 s, 40 s…
        let mut logged = Vec::new();
        for s in 1..=200 {
            if let Some(n) = b.admit("dial peer A", at(s)) {
                logged.push((s, n));
            }
        }
        assert_eq!(logged, vec![(10, 9), (30, 19), (70, 39), (150, 79)]);
        // Another peer is its own kind.
        assert_eq!(b.admit("dial peer B", at(200)), Some(0));
        // The backoff stops growing at ten minutes.
        let mut gaps = Vec::new();
        let mut last = 150;
        for s in (201..=5_000).step_by(1) {
            if b.admit("dial peer A", at(s)).is_some() {
                gaps.push(s - last);
                last = s;
            }
        }
        assert!(gaps.iter().all(|g| *g <= 600), "{gaps:?}");
        assert_eq!(*gaps.last().unwrap(), 600);
        // Quiet for ten minutes: a new episode starts at the short backoff
        // (telling how many of the last episode were left out).
        assert!(b.admit("dial peer A", at(7_000)).is_some());
        assert_eq!(b.admit("dial peer A", at(7_005)), None);
        assert_eq!(b.admit("dial peer A", at(7_010)), Some(1));
    }

    #[test]
    fn numbers_fold_but_peer_ids_stay_apart() {
        assert_eq!(
            fold_numbers(
                "Removing active connection 3 to peer 12D3KooWPkpQ at /ip4/127.0.0.1/tcp/31602"
            ),
            fold_numbers(
                "Removing active connection 17 to peer 12D3KooWPkpQ at /ip4/127.0.0.1/tcp/31602"
            )
        );
        assert_ne!(
            fold_numbers("Failed to dial peer 12D3KooWPkpQ after 5 trials"),
            fold_numbers("Failed to dial peer 12D3KooWPYka after 5 trials")
        );
        assert_eq!(fold_numbers("after 5 trials"), "after # trials");
    }

    /// Through a real subscriber: a hundred identical dial errors from the
    /// network layer give one WARN line; the node's own events pass.
    #[test]
    fn a_subscriber_logs_noise_once() {
        use std::sync::Arc;
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::Layer;
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let w = buf.clone();
        let (filter, rx) = PeerNoise::new();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || w.clone())
            .with_filter(filter);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..100 {
                tracing::error!(target: "arc_malachitebft_network", "Error dialing peer: connection refused (/p2p/12D3KooWPkpQ)");
            }
            // What the reporter thread does, here on the test's thread.
            for c in rx.try_iter() {
                log(&c);
            }
            tracing::info!(target: "arc_malachitebft_network", "Network peer state");
            tracing::error!("the node's own error");
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(
            lines[0].contains("WARN") && lines[0].contains("Error dialing peer"),
            "{out}"
        );
        assert!(
            lines[0].contains("source=\"arc_malachitebft_network\""),
            "{out}"
        );
        assert!(lines[1].contains("INFO") && lines[1].contains("Network peer state"));
        assert!(lines[2].contains("ERROR") && lines[2].contains("the node's own error"));
    }
}
