//! Record gossip: a second libp2p swarm (TCP, Noise, Yamux, gossipsub),
//! separate from Malachite's, that spreads submitted records to every
//! node's pool. Permissioned: connections from peers that are not the node
//! of a member are denied (libp2p's allow-list), so an outsider can neither
//! connect nor inject records; a received record still goes through the
//! ledger's admission rules.

use crate::app::Admission;
use libp2p::futures::StreamExt;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{allow_block_list, gossipsub, identity, noise, tcp, yamux, Multiaddr, PeerId};
use shanlian_ledger::record::Record;
use shanlian_ledger::types::NodeKey;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

#[derive(NetworkBehaviour)]
struct Behaviour {
    allowed: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    gossipsub: gossipsub::Behaviour,
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

/// Starts the gossip swarm. `allowed` are the peer ids of members' nodes;
/// `peers` are dialled (and redialled) to form the mesh.
pub fn start(
    node_key_seed: [u8; 32],
    listen: Multiaddr,
    peers: Vec<Multiaddr>,
    allowed: Vec<PeerId>,
    topic: String,
    admissions: mpsc::Sender<Admission>,
    max_record_bytes: usize,
) -> Result<Publisher, String> {
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
        .with_behaviour(|key| {
            let config = gossipsub::ConfigBuilder::default()
                .validation_mode(gossipsub::ValidationMode::Strict)
                .max_transmit_size(max_record_bytes + 1024)
                .build()
                .map_err(|e| e.to_string())?;
            let gossipsub = gossipsub::Behaviour::new(
                gossipsub::MessageAuthenticity::Signed(key.clone()),
                config,
            )?;
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

    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(4096);
    tokio::spawn(async move {
        let mut redial = tokio::time::interval(Duration::from_millis(500));
        // Records published before the mesh formed (no subscribed peer
        // yet) wait here and are retried; bounded so it cannot grow forever.
        let mut backlog: std::collections::VecDeque<Vec<u8>> = std::collections::VecDeque::new();
        loop {
            tokio::select! {
                event = swarm.select_next_some() => {
                    if let SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message { message, .. })) = event {
                        // Bad bytes from a member's node are dropped; the
                        // ledger's admission decides the rest.
                        if let Ok(record) = Record::from_bytes(&message.data, max_record_bytes) {
                            let (reply, _) = oneshot::channel();
                            if admissions.send(Admission { record, reply }).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                bytes = rx.recv() => match bytes {
                    Some(bytes) => {
                        if swarm.behaviour_mut().gossipsub.publish(topic.clone(), bytes.clone()).is_err() && backlog.len() < 100_000 {
                            backlog.push_back(bytes);
                        }
                    }
                    None => return,
                },
                _ = redial.tick() => {
                    while let Some(bytes) = backlog.pop_front() {
                        if swarm.behaviour_mut().gossipsub.publish(topic.clone(), bytes.clone()).is_err() {
                            backlog.push_front(bytes);
                            break;
                        }
                    }
                    let connected: Vec<PeerId> = swarm.connected_peers().copied().collect();
                    for p in &peers {
                        let known = p.iter().any(|proto| matches!(proto, libp2p::multiaddr::Protocol::P2p(id) if connected.contains(&id)));
                        if !known {
                            let _ = swarm.dial(p.clone());
                        }
                    }
                }
            }
        }
    });
    Ok(Publisher(tx))
}
