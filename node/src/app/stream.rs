//! Proposal streams: a proposer publishes its block as `Init`, `Data`
//! chunks and `Fin` (with its signature over the `ProposalBody`); receivers
//! reassemble the parts, which arrive out of order and duplicated, grouped
//! by publisher and stream id. Every part that is dropped is dropped for a
//! stated reason ([`Dropped`]), logged by the caller.

use crate::ctx::{Address, BlockHash, Ctx, Height, ProposalPart, ValidatorSet};
use bytes::Bytes;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::core::{Context, Round};
use malachitebft_app_channel::app::types::PeerId;
use shanlian_ledger::block::{BlockData, ProposalBody};
use shanlian_ledger::codec;
use shanlian_ledger::crypto::Verifier;
use shanlian_ledger::types::Signature;
use std::collections::{BTreeMap, HashMap};

/// Largest chunk of block bytes in one proposal part.
pub const PART_BYTES: usize = 256 * 1024;
/// Most proposal streams buffered at once (a height has one proposer per
/// round; more than this means somebody is flooding).
pub const MAX_STREAMS: usize = 64;

/// Why a part or a whole stream was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Dropped {
    #[error("the stream is for a height already decided")]
    PastHeight,
    #[error("too many proposal streams are open")]
    TooManyStreams,
    #[error("the stream is larger than any valid block")]
    TooLarge,
    #[error("the stream's first part is not Init")]
    NoInit,
    #[error("the stream has a second Init")]
    SecondInit,
    #[error("the stream has no Fin part with the proposer's signature")]
    NoSignature,
    #[error("the stream is for another height than the next")]
    WrongHeight,
    #[error("the stream's Init does not name this round's proposer")]
    NotTheProposer,
    #[error("the stream's bytes are not a canonical block")]
    Undecodable,
    #[error("the proposer's signature does not verify")]
    BadSignature,
}

/// A stream whose parts have all arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    pub height: u64,
    pub round: u32,
    pub pol_round: Option<u32>,
    pub proposer: Address,
    pub bytes: Vec<u8>,
    pub signature: Option<Signature>,
}

/// A stream being reassembled.
#[derive(Default)]
struct PartialStream {
    parts: BTreeMap<u64, ProposalPart>,
    fin: Option<u64>,
    bytes: usize,
}

impl PartialStream {
    fn complete(&self) -> bool {
        self.fin
            .is_some_and(|f| (0..f).all(|s| self.parts.contains_key(&s)))
    }
}

/// The streams being reassembled, bounded in number and size.
pub struct Reassembler {
    streams: HashMap<(PeerId, Bytes), PartialStream>,
    /// The most bytes a stream may carry: a full block of maximum-size
    /// records plus its header and framing.
    max_bytes: usize,
}

/// A stream id: height and round, big-endian, so ids sort by height.
pub fn stream_id(height: u64, round: u32) -> StreamId {
    let mut id = height.to_be_bytes().to_vec();
    id.extend_from_slice(&round.to_be_bytes());
    StreamId::new(Bytes::from(id))
}

fn height_of(id: &[u8]) -> Option<u64> {
    id.get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
}

impl Reassembler {
    pub fn new(max_bytes: usize) -> Reassembler {
        Reassembler {
            streams: HashMap::new(),
            max_bytes,
        }
    }

    /// Buffers one part of `publisher`'s stream; returns the stream once
    /// complete. `next` is the height being decided.
    pub fn push(
        &mut self,
        next: u64,
        publisher: PeerId,
        msg: StreamMessage<ProposalPart>,
    ) -> Result<Option<Assembled>, Dropped> {
        let key = (publisher, msg.stream_id.to_bytes());
        // Streams for past heights are useless.
        if height_of(&key.1).is_some_and(|h| h < next) {
            return Err(Dropped::PastHeight);
        }
        if !self.streams.contains_key(&key) && self.streams.len() >= MAX_STREAMS {
            return Err(Dropped::TooManyStreams);
        }
        let max_bytes = self.max_bytes;
        let s = self.streams.entry(key.clone()).or_default();
        match msg.content {
            StreamContent::Data(p) => {
                if let ProposalPart::Data(d) = &p {
                    s.bytes += d.len();
                }
                s.parts.insert(msg.sequence, p);
            }
            StreamContent::Fin => s.fin = Some(msg.sequence),
        }
        if s.bytes > max_bytes || s.parts.len() > max_bytes / PART_BYTES + 4 {
            self.streams.remove(&key);
            return Err(Dropped::TooLarge);
        }
        if !s.complete() {
            return Ok(None);
        }
        let Some(s) = self.streams.remove(&key) else {
            return Ok(None);
        };
        let mut parts = s.parts.into_values();
        let Some(ProposalPart::Init {
            height,
            round,
            pol_round,
            proposer,
        }) = parts.next()
        else {
            return Err(Dropped::NoInit);
        };
        let mut bytes = Vec::new();
        let mut signature = None;
        for p in parts {
            match p {
                ProposalPart::Data(d) => bytes.extend_from_slice(&d),
                ProposalPart::Fin { signature: s } => signature = Some(s),
                ProposalPart::Init { .. } => return Err(Dropped::SecondInit),
            }
        }
        Ok(Some(Assembled {
            height,
            round,
            pol_round,
            proposer,
            bytes,
            signature,
        }))
    }

    /// Forgets streams for heights below `next`.
    pub fn retain_from(&mut self, next: u64) {
        self.streams
            .retain(|(_, id), _| height_of(id).is_some_and(|h| h >= next));
    }

    /// Streams being reassembled.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }
}

/// Checks an assembled stream: for the next height, streamed by the
/// round's proposer, a canonical block, signed by the proposer over its
/// `ProposalBody`.
pub fn authenticate(
    ctx: &Ctx,
    next: u64,
    set: &ValidatorSet,
    a: Assembled,
) -> Result<(BlockData, BlockHash), Dropped> {
    if a.height != next {
        return Err(Dropped::WrongHeight);
    }
    let expected = ctx.select_proposer(set, Height(a.height), Round::new(a.round));
    if expected.address != a.proposer {
        return Err(Dropped::NotTheProposer);
    }
    let block = codec::decode_canonical::<BlockData>(&a.bytes).map_err(|_| Dropped::Undecodable)?;
    let hash = BlockHash(block.header.hash());
    let signature = a.signature.ok_or(Dropped::NoSignature)?;
    let body = ProposalBody {
        height: a.height,
        round: a.round,
        pol_round: a.pol_round,
        value: hash.0,
        proposer: a.proposer.0,
    };
    let key = Verifier::parse(&expected.public_key).map_err(|_| Dropped::BadSignature)?;
    key.verify_message(&body.sign_bytes(&ctx.genesis_hash), &signature)
        .map_err(|_| Dropped::BadSignature)?;
    Ok((block, hash))
}

/// The body a proposer signs for its stream of `block`.
pub fn proposal_body(
    me: Address,
    (height, round, pol_round): (u64, u32, Option<u32>),
    block: &BlockData,
) -> ProposalBody {
    ProposalBody {
        height,
        round,
        pol_round,
        value: block.header.hash(),
        proposer: me.0,
    }
}

/// The parts of a proposal stream for `block`: Init, Data chunks, Fin with
/// `signature` (the proposer's, over [`proposal_body`]), then the end
/// marker.
pub fn parts(
    signature: Signature,
    me: Address,
    (height, round, pol_round): (u64, u32, Option<u32>),
    block: &BlockData,
) -> Vec<StreamMessage<ProposalPart>> {
    let id = stream_id(height, round);
    let bytes = codec::encode(block);
    let mut parts = vec![ProposalPart::Init {
        height,
        round,
        pol_round,
        proposer: me,
    }];
    parts.extend(
        bytes
            .chunks(PART_BYTES)
            .map(|c| ProposalPart::Data(c.to_vec())),
    );
    parts.push(ProposalPart::Fin { signature });
    let n = parts.len() as u64;
    let mut out: Vec<_> = parts
        .into_iter()
        .enumerate()
        .map(|(seq, p)| StreamMessage::new(id.clone(), seq as u64, StreamContent::Data(p)))
        .collect();
    out.push(StreamMessage::new(id, n, StreamContent::Fin));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shanlian_ledger::block::Header;
    use shanlian_ledger::genesis::dev_genesis;

    struct Net {
        ctx: Ctx,
        set: ValidatorSet,
        keys: Vec<(Address, shanlian_ledger::crypto::Keypair)>,
    }

    fn net() -> Net {
        let (genesis, members) = dev_genesis();
        let state = shanlian_ledger::state::State::from_genesis(genesis.clone()).0;
        let set = ValidatorSet::from(&state.validator_set(1));
        let keys = members
            .into_iter()
            .map(|m| {
                let a = Address(shanlian_ledger::types::Address::of_key(&m.key.public()));
                (a, m.key)
            })
            .collect();
        Net {
            ctx: Ctx {
                genesis_hash: genesis.hash(),
            },
            set,
            keys,
        }
    }

    fn block(n: usize) -> BlockData {
        let (genesis, _) = dev_genesis();
        BlockData {
            header: Header {
                chain_id: genesis.chain_id.clone(),
                height: 1,
                time: shanlian_ledger::types::Timestamp(1),
                prev_hash: genesis.hash(),
                log_size: 0,
                log_root: [0; 32],
                record_root: [0; 32],
                state_hash: [0; 32],
                proposer: shanlian_ledger::types::Address([0; 20]),
                validator_set_hash: [0; 32],
            },
            // Big enough to need several Data parts.
            records: vec![vec![7u8; 100_000]; n],
        }
    }

    /// The proposer of (height 1, round 0) and its parts for `b`.
    fn stream_of(net: &Net, b: &BlockData) -> (Address, Vec<StreamMessage<ProposalPart>>) {
        let p = net
            .ctx
            .select_proposer(&net.set, Height(1), Round::new(0))
            .address;
        let key = &net.keys.iter().find(|(a, _)| *a == p).unwrap().1;
        let signature = proposal_body(p, (1, 0, None), b).sign(key, &net.ctx.genesis_hash);
        (p, parts(signature, p, (1, 0, None), b))
    }

    #[test]
    fn parts_reassemble_in_any_order_and_authenticate() {
        let net = net();
        let b = block(6);
        let (_, mut msgs) = stream_of(&net, &b);
        assert!(msgs.len() > 4, "{} parts", msgs.len());
        msgs.reverse();
        let dup = msgs[1].clone();
        msgs.insert(2, dup);
        let mut r = Reassembler::new(10 << 20);
        let peer = PeerId::from_bytes(&libp2p::PeerId::random().to_bytes()).unwrap();
        let mut done = None;
        for m in msgs {
            if let Some(a) = r.push(1, peer, m).unwrap() {
                assert!(done.is_none(), "completed twice");
                done = Some(a);
            }
        }
        let (got, hash) = authenticate(&net.ctx, 1, &net.set, done.unwrap()).unwrap();
        assert_eq!(got, b);
        assert_eq!(hash.0, b.header.hash());
        assert!(r.is_empty());
    }

    #[test]
    fn every_drop_has_its_reason() {
        let net = net();
        let b = block(2);
        let (p, msgs) = stream_of(&net, &b);
        let peer = PeerId::from_bytes(&libp2p::PeerId::random().to_bytes()).unwrap();
        let assemble = |msgs: Vec<StreamMessage<ProposalPart>>| {
            let mut r = Reassembler::new(10 << 20);
            let mut out = Ok(None);
            for m in msgs {
                out = r.push(1, peer, m);
                if !matches!(out, Ok(None)) {
                    break;
                }
            }
            out
        };
        // A past height, and too large a stream.
        let mut r = Reassembler::new(10 << 20);
        assert_eq!(r.push(2, peer, msgs[0].clone()), Err(Dropped::PastHeight));
        let mut small = Reassembler::new(50_000);
        let data = msgs[1].clone();
        assert_eq!(small.push(1, peer, data), Err(Dropped::TooLarge));
        // Too many streams.
        for i in 0..MAX_STREAMS as u32 {
            let m = StreamMessage::new(stream_id(1, i + 1), 0, msgs[0].content.clone());
            assert_eq!(r.push(1, peer, m), Ok(None));
        }
        assert_eq!(
            r.push(1, peer, msgs[0].clone()),
            Err(Dropped::TooManyStreams)
        );
        r.retain_from(2);
        assert!(r.is_empty());
        // No Init first; a second Init.
        let mut no_init = msgs.clone();
        no_init[0].content = msgs[1].content.clone();
        assert_eq!(assemble(no_init), Err(Dropped::NoInit));
        let mut two_inits = msgs.clone();
        two_inits[1].content = msgs[0].content.clone();
        assert_eq!(assemble(two_inits), Err(Dropped::SecondInit));
        // Authentication failures.
        let ok = assemble(msgs.clone()).unwrap().unwrap();
        let auth = |a: Assembled| authenticate(&net.ctx, 1, &net.set, a).map(|_| ());
        assert_eq!(auth(ok.clone()), Ok(()));
        assert_eq!(
            authenticate(&net.ctx, 2, &net.set, ok.clone()).map(|_| ()),
            Err(Dropped::WrongHeight)
        );
        let other = net.keys.iter().find(|(a, _)| *a != p).unwrap().0;
        assert_eq!(
            auth(Assembled {
                proposer: other,
                ..ok.clone()
            }),
            Err(Dropped::NotTheProposer)
        );
        let mut bytes = ok.bytes.clone();
        bytes.push(0);
        assert_eq!(
            auth(Assembled {
                bytes,
                ..ok.clone()
            }),
            Err(Dropped::Undecodable)
        );
        assert_eq!(
            auth(Assembled {
                signature: None,
                ..ok.clone()
            }),
            Err(Dropped::NoSignature)
        );
        assert_eq!(
            auth(Assembled {
                pol_round: Some(0),
                ..ok.clone()
            }),
            Err(Dropped::BadSignature),
            "the signature covers the proof-of-lock round too"
        );
        let mut sig = ok.signature.unwrap();
        sig.0[3] ^= 1;
        assert_eq!(
            auth(Assembled {
                signature: Some(sig),
                ..ok
            }),
            Err(Dropped::BadSignature)
        );
    }
}
