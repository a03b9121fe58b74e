//! Record gossip: a second libp2p swarm (TCP, Noise, Yamux, gossipsub),
//! separate from Malachite's, that spreads submitted records to every
//! node's pool. Permissioned: connections from peers that are not the node
//! of a member are denied (libp2p's allow-list), so an outsider can neither
//! connect nor inject records; a received record still goes through the
//! ledger's admission rules.
//!
//! Records travel in batches (one gossip message carries up to
//! [`BATCH_BYTES`] of records, each prefixed with its length as a `u32`
//! LE), flushed every [`BATCH_MS`] ms: a gossip message costs a signature
//! and a verification per hop, which per record would cost more than the
//! record's own checks.

use crate::app::{Admission, Membership};
use crate::metrics::Metrics;
use libp2p::futures::StreamExt;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{allow_block_list, gossipsub, identity, noise, tcp, yamux, Multiaddr, PeerId};
use shanlian_ledger::record::Record;
use shanlian_ledger::types::NodeKey;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(NetworkBehaviour)]
struct Behaviour {
    allowed: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    gossipsub: gossipsub::Behaviour,
}

/// Most record bytes in one gossip message.
pub const BATCH_BYTES: usize = 512 * 1024;
/// Bytes of gossip one peer may have in admission at once, each batch
/// counted at its size plus [`BATCH_COST`]. At the network bench's
/// saturated rate (about 7,000 records/s of ~300 bytes, a third of them
/// from each of three peers, in a batch every 20 ms) one peer sends about
/// 0.9 MB/s so counted: this holds several seconds of it, so a node whose
/// application loop is busy committing a large block (up to ~0.8 s there)
/// still takes every batch its peers send meanwhile, while a member's node
/// that floods is held to this share.
pub const PEER_ADMISSION_BYTES: usize = 8 << 20;
/// The same, from all peers together.
pub const ADMISSION_BYTES: usize = 32 << 20;
/// What a batch in admission costs besides its bytes (its task, its
/// decoded records' allocations): a flood of tiny batches is bounded too,
/// to at most 2,048 batches from one peer.
pub const BATCH_COST: usize = 4 << 10;

/// Admission work in flight, bounded per peer and in total, in bytes (each
/// batch at its size plus [`BATCH_COST`]). What waits for admission is the
/// decoded records of at most [`ADMISSION_BYTES`] of gossip (each record
/// keeps its bytes plus its parsed fields), however many peers send.
struct Inflight {
    per_peer: usize,
    total: std::sync::Arc<tokio::sync::Semaphore>,
    peers: std::collections::HashMap<PeerId, std::sync::Arc<tokio::sync::Semaphore>>,
}

/// Held while a batch is in admission.
type Permit = (
    tokio::sync::OwnedSemaphorePermit,
    tokio::sync::OwnedSemaphorePermit,
);

impl Inflight {
    fn new(per_peer: usize, total: usize) -> Inflight {
        Inflight {
            per_peer,
            total: std::sync::Arc::new(tokio::sync::Semaphore::new(total)),
            peers: std::collections::HashMap::new(),
        }
    }

    /// A permit for one more batch of `bytes` from `peer`, if within both
    /// bounds.
    fn try_start(&mut self, peer: PeerId, bytes: usize) -> Option<Permit> {
        if self.peers.len() > 1_024 {
            // Forget idle peers (all permits back).
            let n = self.per_peer;
            self.peers.retain(|_, s| s.available_permits() < n);
        }
        let cost = u32::try_from(bytes.saturating_add(BATCH_COST)).ok()?;
        let per_peer = self.per_peer;
        let mine = self
            .peers
            .entry(peer)
            .or_insert_with(|| std::sync::Arc::new(tokio::sync::Semaphore::new(per_peer)))
            .clone()
            .try_acquire_many_owned(cost)
            .ok()?;
        let all = self.total.clone().try_acquire_many_owned(cost).ok()?;
        Some((mine, all))
    }
}
/// How long a record may wait for its batch to fill.
pub const BATCH_MS: u64 = 20;

/// Frames records as one batch: `u32` LE length, then the bytes, repeated.
pub fn frame(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.iter().map(|r| r.len() + 4).sum());
    for r in records {
        out.extend_from_slice(&(r.len() as u32).to_le_bytes());
        out.extend_from_slice(r);
    }
    out
}

/// Splits a batch into its records' bytes; `None` if the framing is broken
/// (a length running past the end).
pub fn unframe(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        let rec = bytes.get(4..4 + len)?;
        out.push(rec);
        bytes = &bytes[4 + len..];
    }
    Some(out)
}

/// A gossip message's id: the BLAKE3 hash of its bytes (unsigned messages
/// have no author and sequence number to name them by).
fn message_id(m: &gossipsub::Message) -> gossipsub::MessageId {
    gossipsub::MessageId::new(blake3::hash(&m.data).as_bytes())
}

/// Whether a batch reached gossip. A message is named by its bytes, so
/// publishing the same bytes again within gossip's duplicate window (a
/// record submitted twice, alone in its batch; a batch that met full send
/// queues, which gossip keeps and still offers its peers) answers
/// `Duplicate`: that batch is out, and retrying it would fail forever at
/// the head of the backlog.
fn published(r: Result<gossipsub::MessageId, gossipsub::PublishError>) -> bool {
    matches!(r, Ok(_) | Err(gossipsub::PublishError::Duplicate))
}

/// The libp2p peer id of a member's node key.
pub fn peer_id(node: &NodeKey) -> Option<PeerId> {
    let key = identity::ed25519::PublicKey::try_from_bytes(&node.0).ok()?;
    Some(PeerId::from_public_key(&identity::PublicKey::from(key)))
}

/// Where to publish records this node admitted itself.
#[derive(Clone)]
pub struct Publisher(mpsc::Sender<Vec<u8>>);

impl Publisher {
    /// Spreads a record's bytes to the other nodes (best effort).
    pub async fn publish(&self, bytes: Vec<u8>) {
        let _ = self.0.send(bytes).await;
    }
}

/// What the gossip swarm needs.
pub struct GossipOptions {
    /// The node's libp2p identity seed (the same identity as consensus).
    pub node_key_seed: [u8; 32],
    pub listen: Multiaddr,
    /// Other nodes' gossip addresses, `…/p2p/<peer id>`.
    pub peers: Vec<Multiaddr>,
    /// Active members' node keys (from the application loop).
    pub members: tokio::sync::watch::Receiver<Membership>,
    pub topic: String,
    pub admissions: mpsc::Sender<Admission>,
    pub max_record_bytes: usize,
    pub genesis_hash: shanlian_ledger::types::Hash32,
    pub metrics: Metrics,
}

/// Starts the gossip swarm. Only the nodes of active `members` may
/// connect (followed as membership changes on chain: a suspended member's
/// node is disconnected); `peers` that are members' nodes are dialled (and
/// redialled) to form the mesh.
pub fn start(opts: GossipOptions) -> Result<Publisher, String> {
    let GossipOptions {
        node_key_seed,
        listen,
        peers,
        mut members,
        topic,
        admissions,
        max_record_bytes,
        genesis_hash,
        metrics,
    } = opts;
    let mut allowed = crate::node::peer_ids(&members.borrow_and_update());
    let keypair = identity::Keypair::ed25519_from_bytes(node_key_seed)
        .map_err(|e| format!("node key: {e}"))?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| format!("gossip transport: {e}"))?
        .with_behaviour(|_key| {
            // Messages are not signed: each record in a batch carries its
            // own signature, checked at admission, and only members' nodes
            // can connect (the allow-list, over authenticated Noise
            // connections); the per-peer admission bound counts the peer
            // that delivered a batch, never a claimed author. Signed
            // gossip cost every node an ed25519 check of every copy it
            // received of every batch (each arrives about three times in
            // a mesh of four): 6% of the network's CPU under load. A
            // message's id is the hash of its bytes, so copies are dropped
            // as duplicates. Incoming messages' author fields are not
            // checked (`None`), so a node of an earlier version, which signs
            // its gossip, is still heard during a rolling upgrade (it
            // refuses ours until it is upgraded: its mode is Strict).
            let config = gossipsub::ConfigBuilder::default()
                .validation_mode(gossipsub::ValidationMode::None)
                .message_id_fn(message_id)
                .max_transmit_size(BATCH_BYTES + max_record_bytes + 1024)
                .build()
                .map_err(|e| e.to_string())?;
            let gossipsub =
                gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)?;
            let mut allowed_peers =
                allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
            for p in &allowed {
                allowed_peers.allow_peer(*p);
            }
            Ok(Behaviour {
                allowed: allowed_peers,
                gossipsub,
            })
        })
        .map_err(|e| format!("gossip behaviour: {e}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    let topic = gossipsub::IdentTopic::new(topic);
    swarm
        .behaviour_mut()
        .gossipsub
        .subscribe(&topic)
        .map_err(|e| format!("gossip topic: {e}"))?;
    swarm
        .listen_on(listen.clone())
        .map_err(|e| format!("gossip listen address {listen}: {e}"))?;

    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(65536);
    tokio::spawn(async move {
        let mut redial = tokio::time::interval(Duration::from_millis(500));
        let mut flush = tokio::time::interval(Duration::from_millis(BATCH_MS));
        // Records waiting for their batch.
        let mut batch: Vec<Vec<u8>> = Vec::new();
        let mut batch_bytes = 0usize;
        // Batches published before the mesh formed (no subscribed peer
        // yet) wait here and are retried; bounded so it cannot grow forever.
        let mut backlog: std::collections::VecDeque<Vec<u8>> = std::collections::VecDeque::new();
        let mut inflight = Inflight::new(PEER_ADMISSION_BYTES, ADMISSION_BYTES);
        loop {
            let full = batch_bytes >= BATCH_BYTES;
            tokio::select! {
                event = swarm.select_next_some() => {
                    if let SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message { message, propagation_source, .. })) = event {
                        // Checked and admitted off this loop, so the swarm
                        // keeps being polled meanwhile; bounded per peer and
                        // in total, so a flooding peer costs at most its
                        // share. The excess is dropped before it is decoded:
                        // gossip does not send it again, so such a record
                        // reaches the blocks through the nodes that took it.
                        let Some(permit) = inflight.try_start(propagation_source, message.data.len()) else {
                            let dropped = metrics.gossip_batches_dropped.inc() + 1;
                            // Logged at the 1st, 2nd, 4th, 8th… drop: a flood
                            // does not flood the log too.
                            if dropped.is_power_of_two() {
                                tracing::warn!(peer = %propagation_source, bytes = message.data.len(), dropped, "gossip: too many bytes in admission from this peer (or all peers); batch dropped");
                            }
                            continue;
                        };
                        // Bad bytes from a member's node are dropped; the
                        // ledger's admission decides the rest.
                        let Some(records) = unframe(&message.data) else {
                            tracing::warn!(peer = %propagation_source, "gossip: badly framed batch dropped");
                            continue;
                        };
                        let records: Vec<Record> = records
                            .into_iter()
                            .filter_map(|b| Record::from_bytes(b, max_record_bytes).ok())
                            .collect();
                        let admissions = admissions.clone();
                        tokio::spawn(async move {
                            let _ = crate::app::submit(&admissions, genesis_hash, records).await;
                            drop(permit);
                        });
                    }
                }
                bytes = rx.recv(), if !full => match bytes {
                    Some(bytes) => {
                        batch_bytes += bytes.len() + 4;
                        batch.push(bytes);
                    }
                    None => return,
                },
                _ = flush.tick(), if !batch.is_empty() || full => {
                    let data = frame(&batch);
                    batch.clear();
                    batch_bytes = 0;
                    if !published(swarm.behaviour_mut().gossipsub.publish(topic.clone(), data.clone())) && backlog.len() < 1024 {
                        backlog.push_back(data);
                    }
                }
                _ = redial.tick() => {
                    metrics.set_peers(crate::metrics::GOSSIP, swarm.connected_peers().count());
                    while let Some(bytes) = backlog.pop_front() {
                        if !published(swarm.behaviour_mut().gossipsub.publish(topic.clone(), bytes.clone())) {
                            backlog.push_front(bytes);
                            break;
                        }
                    }
                    let connected: Vec<PeerId> = swarm.connected_peers().copied().collect();
                    for p in &peers {
                        let id = crate::node::peer_of(p);
                        let dial = id.is_some_and(|id| allowed.contains(&id) && !connected.contains(&id));
                        if dial {
                            let _ = swarm.dial(p.clone());
                        }
                    }
                }
                changed = members.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let now = crate::node::peer_ids(&members.borrow_and_update());
                    for p in now.difference(&allowed) {
                        swarm.behaviour_mut().allowed.allow_peer(*p);
                    }
                    for p in allowed.difference(&now) {
                        tracing::info!(peer = %p, "gossip: no longer a member's node; disconnecting");
                        swarm.behaviour_mut().allowed.disallow_peer(*p);
                    }
                    allowed = now;
                }
            }
        }
    });
    Ok(Publisher(tx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_named_by_its_bytes_alone() {
        let msg = |data: &[u8], source: Option<PeerId>| gossipsub::Message {
            source,
            data: data.to_vec(),
            sequence_number: None,
            topic: gossipsub::IdentTopic::new("t").hash(),
        };
        let batch = frame(&[vec![1u8, 2, 3]]);
        // The same batch from two peers is one message (a copy is dropped).
        assert_eq!(
            message_id(&msg(&batch, None)),
            message_id(&msg(&batch, Some(PeerId::random())))
        );
        assert_ne!(
            message_id(&msg(&batch, None)),
            message_id(&msg(&frame(&[vec![1u8, 2, 4]]), None))
        );
    }

    #[test]
    fn a_duplicate_batch_counts_as_published_and_no_peers_does_not() {
        use gossipsub::PublishError as E;
        assert!(published(Ok(gossipsub::MessageId::new(b"id"))));
        assert!(published(Err(E::Duplicate)));
        assert!(!published(Err(E::NoPeersSubscribedToTopic)));
        assert!(!published(Err(E::AllQueuesFull(3))));
    }

    #[test]
    fn framing_round_trips_and_refuses_overruns() {
        let recs = vec![vec![1u8, 2, 3], vec![], vec![9u8; 300]];
        let f = frame(&recs);
        let back: Vec<Vec<u8>> = unframe(&f)
            .unwrap()
            .into_iter()
            .map(|r| r.to_vec())
            .collect();
        assert_eq!(back, recs);
        assert!(unframe(&f[..f.len() - 1]).is_none());
        assert!(unframe(&[5, 0, 0, 0, 1]).is_none());
        assert!(unframe(&[1, 0]).is_none());
        assert_eq!(unframe(&[]).unwrap().len(), 0);
    }

    proptest::proptest! {
        /// Any bytes (a batch request body, a gossip message): no panic,
        /// and what decodes is exactly what framing writes back.
        #[test]
        fn unframe_takes_any_bytes(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            if let Some(frames) = unframe(&data) {
                let owned: Vec<Vec<u8>> = frames.iter().map(|f| f.to_vec()).collect();
                proptest::prop_assert_eq!(frame(&owned), data);
            }
        }
    }
}

#[cfg(test)]
mod inflight_tests {
    use super::*;

    #[test]
    fn admission_work_is_bounded_per_peer_and_in_total() {
        // Room for two 1,000-byte batches per peer, three in all.
        let one = 1_000 + BATCH_COST;
        let mut f = Inflight::new(2 * one, 3 * one);
        let (a, b) = (PeerId::random(), PeerId::random());
        let a1 = f.try_start(a, 1_000).unwrap();
        let _a2 = f.try_start(a, 1_000).unwrap();
        assert!(
            f.try_start(a, 1_000).is_none(),
            "a third batch from one peer"
        );
        let _b1 = f.try_start(b, 1_000).unwrap();
        assert!(f.try_start(b, 1_000).is_none(), "a fourth batch in total");
        drop(a1);
        // One of a's finished: a may start one more (within the total).
        assert!(f.try_start(a, 1_000).is_some());
    }

    #[test]
    fn the_bound_is_in_bytes_so_small_batches_are_not_dropped_early() {
        let mut f = Inflight::new(PEER_ADMISSION_BYTES, ADMISSION_BYTES);
        let a = PeerId::random();
        // A busy second of gossip from one peer, in 20 ms batches of about
        // 100 records each, all still waiting for a busy application loop:
        // every one is taken (the bound of batches in flight was 8).
        let held: Vec<_> = (0..50).map(|_| f.try_start(a, 30_000)).collect();
        assert!(held.iter().all(Option::is_some));
        // A flood is still held to its share, by bytes...
        let mut flood = Vec::new();
        while let Some(p) = f.try_start(a, BATCH_BYTES) {
            flood.push(p);
        }
        let taken = 50 * (30_000 + BATCH_COST) + flood.len() * (BATCH_BYTES + BATCH_COST);
        assert!(taken <= PEER_ADMISSION_BYTES, "{taken}");
        assert!(PEER_ADMISSION_BYTES - taken < BATCH_BYTES + BATCH_COST);
        // ...and by count: empty batches cost BATCH_COST each.
        let c = PeerId::random();
        let mut tiny = 0;
        while let Some(p) = f.try_start(c, 0) {
            std::mem::forget(p);
            tiny += 1;
        }
        assert_eq!(tiny, PEER_ADMISSION_BYTES / BATCH_COST);
        // A batch too large to count is refused, not wrapped around.
        assert!(f.try_start(PeerId::random(), usize::MAX).is_none());
    }
}
