//! The engine's codecs: how consensus, liveness, proposal-part, sync and
//! WAL messages become bytes. One `ShanlianCodec` implements them all with
//! the ledger's canonical encoding over small "wire" mirror structs, and
//! decodes strictly: canonical bytes only, no nil round where a round must
//! be defined, no vote extensions (Shanlian disables them).

use crate::ctx::{Address, BlockHash, Ctx, Height, Proposal, ProposalPart, Vote};
use bincode::{Decode, Encode};
use bytes::Bytes;
use malachitebft_app_channel::app::consensus::LivenessMsg;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core::{
    ExtendedCommitCertificate, ExtendedCommitSignature, NilOrVal, PolkaCertificate, PolkaSignature,
    Round, RoundCertificate, RoundCertificateType, RoundSignature, SignedMessage, ValidatorProof,
    Validity, VoteType,
};
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use malachitebft_app_channel::app::types::{PeerId, ProposedValue, SignedConsensusMsg};
use malachitebft_sync::{ValueRequest, ValueResponse};
use shanlian_ledger::codec;
use shanlian_ledger::types::{self as lt, Hash32, Signature};

/// Why bytes could not be decoded (or, rarely, a value encoded).
#[derive(Debug, thiserror::Error)]
#[error("consensus message: {0}")]
pub struct CodecError(String);

fn err(e: impl std::fmt::Display) -> CodecError {
    CodecError(e.to_string())
}

/// The codec for every engine message type.
#[derive(Clone, Copy, Debug, Default)]
pub struct ShanlianCodec;

fn round(r: Round) -> Result<u32, CodecError> {
    r.as_u32()
        .ok_or_else(|| err("a nil round where a round is required"))
}

fn opt_round(r: Option<u32>) -> Round {
    r.map(Round::new).unwrap_or(Round::Nil)
}

fn value_id(v: &NilOrVal<BlockHash>) -> Option<Hash32> {
    match v {
        NilOrVal::Nil => None,
        NilOrVal::Val(h) => Some(h.0),
    }
}

fn nil_or_val(v: Option<Hash32>) -> NilOrVal<BlockHash> {
    v.map(|h| NilOrVal::Val(BlockHash(h)))
        .unwrap_or(NilOrVal::Nil)
}

fn vote_type(t: VoteType) -> u8 {
    match t {
        VoteType::Prevote => 0,
        VoteType::Precommit => 1,
    }
}

fn vote_type_from(t: u8) -> Result<VoteType, CodecError> {
    match t {
        0 => Ok(VoteType::Prevote),
        1 => Ok(VoteType::Precommit),
        _ => Err(err("unknown vote type")),
    }
}

#[derive(Encode, Decode)]
struct WVote {
    kind: u8,
    height: u64,
    round: u32,
    value: Option<Hash32>,
    validator: lt::Address,
    signature: Signature,
}

impl WVote {
    fn from_signed(v: &SignedMessage<Ctx, Vote>) -> Result<WVote, CodecError> {
        if v.message.extension.is_some() {
            return Err(err("vote extensions are disabled"));
        }
        Ok(WVote {
            kind: vote_type(v.message.kind),
            height: v.message.height.0,
            round: round(v.message.round)?,
            value: value_id(&v.message.value),
            validator: v.message.validator.0,
            signature: v.signature,
        })
    }
    fn into_signed(self) -> Result<SignedMessage<Ctx, Vote>, CodecError> {
        let vote = Vote {
            kind: vote_type_from(self.kind)?,
            height: Height(self.height),
            round: Round::new(self.round),
            value: nil_or_val(self.value),
            validator: Address(self.validator),
            extension: None,
        };
        Ok(SignedMessage::new(vote, self.signature))
    }
}

#[derive(Encode, Decode)]
struct WProposal {
    height: u64,
    round: u32,
    pol_round: Option<u32>,
    value: Hash32,
    proposer: lt::Address,
    signature: Signature,
}

#[derive(Encode, Decode)]
enum WConsensus {
    Vote(WVote),
    Proposal(WProposal),
}

#[derive(Encode, Decode)]
enum WPart {
    Init {
        height: u64,
        round: u32,
        pol_round: Option<u32>,
        proposer: lt::Address,
    },
    Data(Vec<u8>),
    Fin {
        signature: Signature,
    },
}

impl From<&ProposalPart> for WPart {
    fn from(p: &ProposalPart) -> Self {
        match p {
            ProposalPart::Init {
                height,
                round,
                pol_round,
                proposer,
            } => WPart::Init {
                height: *height,
                round: *round,
                pol_round: *pol_round,
                proposer: proposer.0,
            },
            ProposalPart::Data(d) => WPart::Data(d.clone()),
            ProposalPart::Fin { signature } => WPart::Fin {
                signature: *signature,
            },
        }
    }
}

impl From<WPart> for ProposalPart {
    fn from(p: WPart) -> Self {
        match p {
            WPart::Init {
                height,
                round,
                pol_round,
                proposer,
            } => ProposalPart::Init {
                height,
                round,
                pol_round,
                proposer: Address(proposer),
            },
            WPart::Data(d) => ProposalPart::Data(d),
            WPart::Fin { signature } => ProposalPart::Fin { signature },
        }
    }
}

#[derive(Encode, Decode)]
struct WStream {
    stream_id: Vec<u8>,
    sequence: u64,
    /// `None` is the stream's `Fin`.
    content: Option<WPart>,
}

#[derive(Encode, Decode)]
struct WSig {
    address: lt::Address,
    signature: Signature,
}

#[derive(Encode, Decode)]
struct WPolka {
    height: u64,
    round: u32,
    value: Hash32,
    signatures: Vec<WSig>,
}

impl WPolka {
    fn from_cert(c: &PolkaCertificate<Ctx>) -> Result<Self, CodecError> {
        Ok(WPolka {
            height: c.height.0,
            round: round(c.round)?,
            value: c.value_id.0,
            signatures: c
                .polka_signatures
                .iter()
                .map(|s| WSig {
                    address: s.address.0,
                    signature: s.signature,
                })
                .collect(),
        })
    }
    fn into_cert(self) -> PolkaCertificate<Ctx> {
        PolkaCertificate {
            height: Height(self.height),
            round: Round::new(self.round),
            value_id: BlockHash(self.value),
            polka_signatures: self
                .signatures
                .into_iter()
                .map(|s| PolkaSignature::new(Address(s.address), s.signature))
                .collect(),
        }
    }
}

#[derive(Encode, Decode)]
struct WRoundSig {
    vote_type: u8,
    value: Option<Hash32>,
    address: lt::Address,
    signature: Signature,
}

#[derive(Encode, Decode)]
struct WRoundCert {
    height: u64,
    round: u32,
    /// 0 = skip, 1 = precommit
    cert_type: u8,
    signatures: Vec<WRoundSig>,
}

#[derive(Encode, Decode)]
enum WLiveness {
    Vote(WVote),
    Polka(WPolka),
    SkipRound(WRoundCert),
}

#[derive(Encode, Decode)]
struct WProof {
    public_key: Vec<u8>,
    peer_id: Vec<u8>,
    signature: Signature,
}

#[derive(Encode, Decode)]
struct WStatus {
    peer_id: Vec<u8>,
    tip_height: u64,
    history_min_height: u64,
}

#[derive(Encode, Decode)]
struct WRequest {
    start: u64,
    end: u64,
}

#[derive(Encode, Decode)]
struct WCertificate {
    height: u64,
    round: u32,
    value: Hash32,
    signatures: Vec<WSig>,
}

#[derive(Encode, Decode)]
struct WDecided {
    value_bytes: Vec<u8>,
    certificate: WCertificate,
}

#[derive(Encode, Decode)]
struct WResponse {
    start_height: u64,
    values: Vec<WDecided>,
}

#[derive(Encode, Decode)]
struct WProposedValue {
    height: u64,
    round: u32,
    valid_round: Option<u32>,
    proposer: lt::Address,
    value: Hash32,
    valid: bool,
}

fn to_bytes<T: Encode>(w: &T) -> Bytes {
    Bytes::from(codec::encode(w))
}

fn from_bytes<T: Encode + Decode<()>>(b: &Bytes) -> Result<T, CodecError> {
    codec::decode_canonical(b).map_err(err)
}

impl Codec<ProposalPart> for ShanlianCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<ProposalPart, CodecError> {
        from_bytes::<WPart>(&bytes).map(ProposalPart::from)
    }
    fn encode(&self, p: &ProposalPart) -> Result<Bytes, CodecError> {
        Ok(to_bytes(&WPart::from(p)))
    }
}

impl Codec<SignedConsensusMsg<Ctx>> for ShanlianCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<SignedConsensusMsg<Ctx>, CodecError> {
        Ok(match from_bytes::<WConsensus>(&bytes)? {
            WConsensus::Vote(v) => SignedConsensusMsg::Vote(v.into_signed()?),
            WConsensus::Proposal(p) => SignedConsensusMsg::Proposal(SignedMessage::new(
                Proposal {
                    height: Height(p.height),
                    round: Round::new(p.round),
                    value: BlockHash(p.value),
                    pol_round: opt_round(p.pol_round),
                    proposer: Address(p.proposer),
                },
                p.signature,
            )),
        })
    }
    fn encode(&self, m: &SignedConsensusMsg<Ctx>) -> Result<Bytes, CodecError> {
        let w = match m {
            SignedConsensusMsg::Vote(v) => WConsensus::Vote(WVote::from_signed(v)?),
            SignedConsensusMsg::Proposal(p) => WConsensus::Proposal(WProposal {
                height: p.message.height.0,
                round: round(p.message.round)?,
                pol_round: p.message.pol_round.as_u32(),
                value: p.message.value.0,
                proposer: p.message.proposer.0,
                signature: p.signature,
            }),
        };
        Ok(to_bytes(&w))
    }
}

impl Codec<LivenessMsg<Ctx>> for ShanlianCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<LivenessMsg<Ctx>, CodecError> {
        Ok(match from_bytes::<WLiveness>(&bytes)? {
            WLiveness::Vote(v) => LivenessMsg::Vote(v.into_signed()?),
            WLiveness::Polka(p) => LivenessMsg::PolkaCertificate(p.into_cert()),
            WLiveness::SkipRound(r) => {
                let cert_type = match r.cert_type {
                    0 => RoundCertificateType::Skip,
                    1 => RoundCertificateType::Precommit,
                    _ => return Err(err("unknown round certificate type")),
                };
                let mut signatures = Vec::with_capacity(r.signatures.len());
                for s in r.signatures {
                    signatures.push(RoundSignature::new(
                        vote_type_from(s.vote_type)?,
                        nil_or_val(s.value),
                        Address(s.address),
                        s.signature,
                    ));
                }
                LivenessMsg::SkipRoundCertificate(RoundCertificate {
                    height: Height(r.height),
                    round: Round::new(r.round),
                    cert_type,
                    round_signatures: signatures,
                })
            }
        })
    }
    fn encode(&self, m: &LivenessMsg<Ctx>) -> Result<Bytes, CodecError> {
        let w = match m {
            LivenessMsg::Vote(v) => WLiveness::Vote(WVote::from_signed(v)?),
            LivenessMsg::PolkaCertificate(p) => WLiveness::Polka(WPolka::from_cert(p)?),
            LivenessMsg::SkipRoundCertificate(r) => WLiveness::SkipRound(WRoundCert {
                height: r.height.0,
                round: round(r.round)?,
                cert_type: match r.cert_type {
                    RoundCertificateType::Skip => 0,
                    RoundCertificateType::Precommit => 1,
                },
                signatures: r
                    .round_signatures
                    .iter()
                    .map(|s| WRoundSig {
                        vote_type: vote_type(s.vote_type),
                        value: value_id(&s.value_id),
                        address: s.address.0,
                        signature: s.signature,
                    })
                    .collect(),
            }),
        };
        Ok(to_bytes(&w))
    }
}

impl Codec<StreamMessage<ProposalPart>> for ShanlianCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<StreamMessage<ProposalPart>, CodecError> {
        let w: WStream = from_bytes(&bytes)?;
        let content = match w.content {
            Some(p) => StreamContent::Data(ProposalPart::from(p)),
            None => StreamContent::Fin,
        };
        Ok(StreamMessage::new(
            StreamId::new(Bytes::from(w.stream_id)),
            w.sequence,
            content,
        ))
    }
    fn encode(&self, m: &StreamMessage<ProposalPart>) -> Result<Bytes, CodecError> {
        let content = match &m.content {
            StreamContent::Data(p) => Some(WPart::from(p)),
            StreamContent::Fin => None,
        };
        Ok(to_bytes(&WStream {
            stream_id: m.stream_id.to_bytes().to_vec(),
            sequence: m.sequence,
            content,
        }))
    }
}

impl Codec<ValidatorProof<Ctx>> for ShanlianCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<ValidatorProof<Ctx>, CodecError> {
        let w: WProof = from_bytes(&bytes)?;
        Ok(ValidatorProof::new(w.public_key, w.peer_id, w.signature))
    }
    fn encode(&self, p: &ValidatorProof<Ctx>) -> Result<Bytes, CodecError> {
        Ok(to_bytes(&WProof {
            public_key: p.public_key.clone(),
            peer_id: p.peer_id.clone(),
            signature: p.signature,
        }))
    }
}

impl Codec<Status<Ctx>> for ShanlianCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<Status<Ctx>, CodecError> {
        let w: WStatus = from_bytes(&bytes)?;
        Ok(Status {
            peer_id: PeerId::from_bytes(&w.peer_id).map_err(err)?,
            tip_height: Height(w.tip_height),
            history_min_height: Height(w.history_min_height),
        })
    }
    fn encode(&self, s: &Status<Ctx>) -> Result<Bytes, CodecError> {
        Ok(to_bytes(&WStatus {
            peer_id: s.peer_id.to_bytes(),
            tip_height: s.tip_height.0,
            history_min_height: s.history_min_height.0,
        }))
    }
}

impl Codec<Request<Ctx>> for ShanlianCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<Request<Ctx>, CodecError> {
        let w: WRequest = from_bytes(&bytes)?;
        if w.start > w.end {
            return Err(err("empty height range"));
        }
        Ok(Request::ValueRequest(ValueRequest::new(
            Height(w.start)..=Height(w.end),
        )))
    }
    fn encode(&self, r: &Request<Ctx>) -> Result<Bytes, CodecError> {
        let Request::ValueRequest(v) = r;
        Ok(to_bytes(&WRequest {
            start: v.range.start().0,
            end: v.range.end().0,
        }))
    }
}

fn wire_response(r: &Response<Ctx>) -> Result<WResponse, CodecError> {
    let Response::ValueResponse(v) = r;
    let mut values = Vec::with_capacity(v.values.len());
    for d in &v.values {
        let c = &d.certificate;
        let mut signatures = Vec::with_capacity(c.commit_signatures.len());
        for s in &c.commit_signatures {
            if s.extension.is_some() {
                return Err(err("vote extensions are disabled"));
            }
            signatures.push(WSig {
                address: s.address.0,
                signature: s.signature,
            });
        }
        values.push(WDecided {
            value_bytes: d.value_bytes.to_vec(),
            certificate: WCertificate {
                height: c.height.0,
                round: round(c.round)?,
                value: c.value_id.0,
                signatures,
            },
        });
    }
    Ok(WResponse {
        start_height: v.start_height.0,
        values,
    })
}

impl Codec<Response<Ctx>> for ShanlianCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<Response<Ctx>, CodecError> {
        let w: WResponse = from_bytes(&bytes)?;
        let values = w
            .values
            .into_iter()
            .map(|d| {
                let c = d.certificate;
                RawDecidedValue::new(
                    Bytes::from(d.value_bytes),
                    ExtendedCommitCertificate {
                        height: Height(c.height),
                        round: Round::new(c.round),
                        value_id: BlockHash(c.value),
                        commit_signatures: c
                            .signatures
                            .into_iter()
                            .map(|s| ExtendedCommitSignature {
                                address: Address(s.address),
                                signature: s.signature,
                                extension: None,
                            })
                            .collect(),
                    },
                )
            })
            .collect();
        Ok(Response::ValueResponse(ValueResponse::new(
            Height(w.start_height),
            values,
        )))
    }
    fn encode(&self, r: &Response<Ctx>) -> Result<Bytes, CodecError> {
        Ok(to_bytes(&wire_response(r)?))
    }
}

impl HasEncodedLen<Response<Ctx>> for ShanlianCodec {
    fn encoded_len(&self, r: &Response<Ctx>) -> Result<usize, CodecError> {
        Ok(codec::encode(&wire_response(r)?).len())
    }
}

impl Codec<ProposedValue<Ctx>> for ShanlianCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<ProposedValue<Ctx>, CodecError> {
        let w: WProposedValue = from_bytes(&bytes)?;
        Ok(ProposedValue {
            height: Height(w.height),
            round: Round::new(w.round),
            valid_round: opt_round(w.valid_round),
            proposer: Address(w.proposer),
            value: BlockHash(w.value),
            validity: if w.valid {
                Validity::Valid
            } else {
                Validity::Invalid
            },
        })
    }
    fn encode(&self, v: &ProposedValue<Ctx>) -> Result<Bytes, CodecError> {
        Ok(to_bytes(&WProposedValue {
            height: v.height.0,
            round: round(v.round)?,
            valid_round: v.valid_round.as_u32(),
            proposer: v.proposer.0,
            value: v.value.0,
            valid: v.validity == Validity::Valid,
        }))
    }
}

impl Codec<PolkaCertificate<Ctx>> for ShanlianCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<PolkaCertificate<Ctx>, CodecError> {
        Ok(from_bytes::<WPolka>(&bytes)?.into_cert())
    }
    fn encode(&self, c: &PolkaCertificate<Ctx>) -> Result<Bytes, CodecError> {
        Ok(to_bytes(&WPolka::from_cert(c)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use malachitebft_app_channel::app::types::core::Context;

    fn ctx() -> Ctx {
        Ctx {
            genesis_hash: [1; 32],
        }
    }

    fn rt<T>(v: &T) -> T
    where
        ShanlianCodec: Codec<T>,
        T: std::fmt::Debug,
    {
        let c = ShanlianCodec;
        let b = c.encode(v).expect("encode");
        c.decode(b).expect("decode")
    }

    #[test]
    fn messages_round_trip() {
        let a = Address(lt::Address([4; 20]));
        let vote = ctx().new_precommit(
            Height(9),
            Round::new(3),
            NilOrVal::Val(BlockHash([5; 32])),
            a,
        );
        let nil = ctx().new_prevote(Height(9), Round::new(0), NilOrVal::Nil, a);
        for v in [vote.clone(), nil] {
            let m = SignedConsensusMsg::Vote(SignedMessage::new(v, Signature([6; 64])));
            assert_eq!(rt(&m), m);
        }
        let p = ctx().new_proposal(Height(9), Round::new(3), BlockHash([5; 32]), Round::Nil, a);
        let m = SignedConsensusMsg::Proposal(SignedMessage::new(p, Signature([7; 64])));
        assert_eq!(rt(&m), m);
        for part in [
            ProposalPart::Init {
                height: 9,
                round: 3,
                pol_round: Some(1),
                proposer: a,
            },
            ProposalPart::Data(vec![1, 2, 3]),
            ProposalPart::Fin {
                signature: Signature([8; 64]),
            },
        ] {
            assert_eq!(rt(&part), part);
            let s = StreamMessage::new(
                StreamId::new(Bytes::from_static(b"id")),
                4,
                StreamContent::Data(part),
            );
            let back = rt(&s);
            assert_eq!(back.stream_id, s.stream_id);
            assert_eq!((back.sequence, back.content), (4, s.content));
            // The end marker round-trips too.
            let fin = StreamMessage::new(s.stream_id.clone(), 5, StreamContent::Fin);
            let back = rt(&fin);
            assert_eq!(
                (back.stream_id, back.sequence, back.content),
                (fin.stream_id, 5, StreamContent::Fin)
            );
        }
        let polka = PolkaCertificate {
            height: Height(2),
            round: Round::new(1),
            value_id: BlockHash([3; 32]),
            polka_signatures: vec![PolkaSignature::new(a, Signature([9; 64]))],
        };
        assert_eq!(rt(&polka), polka);
        let lv = LivenessMsg::PolkaCertificate(polka);
        assert_eq!(rt(&lv), lv);
        let pv = ProposedValue {
            height: Height(2),
            round: Round::new(0),
            valid_round: Round::Nil,
            proposer: a,
            value: BlockHash([3; 32]),
            validity: Validity::Invalid,
        };
        assert_eq!(rt(&pv), pv);
        let req = Request::ValueRequest(ValueRequest::new(Height(3)..=Height(7)));
        assert_eq!(rt(&req), req);
    }

    #[test]
    fn hostile_bytes_are_refused() {
        let c = ShanlianCodec;
        for junk in [&b""[..], b"\x05\x00\x00\x00", &[0xff; 40]] {
            assert!(
                Codec::<SignedConsensusMsg<Ctx>>::decode(&c, Bytes::copy_from_slice(junk)).is_err()
            );
            assert!(Codec::<Response<Ctx>>::decode(&c, Bytes::copy_from_slice(junk)).is_err());
            assert!(
                Codec::<StreamMessage<ProposalPart>>::decode(&c, Bytes::copy_from_slice(junk))
                    .is_err()
            );
        }
        // An inverted sync range and an unknown vote type.
        let inverted = to_bytes(&WRequest { start: 5, end: 4 });
        assert!(Codec::<Request<Ctx>>::decode(&c, inverted).is_err());
        let bad_kind = to_bytes(&WConsensus::Vote(WVote {
            kind: 7,
            height: 1,
            round: 0,
            value: None,
            validator: lt::Address([0; 20]),
            signature: Signature([0; 64]),
        }));
        assert!(Codec::<SignedConsensusMsg<Ctx>>::decode(&c, bad_kind).is_err());
        // A nil-round vote cannot be encoded.
        let a = Address(lt::Address([4; 20]));
        let v = ctx().new_prevote(Height(1), Round::Nil, NilOrVal::Nil, a);
        assert!(c
            .encode(&SignedConsensusMsg::Vote(SignedMessage::new(
                v,
                Signature([0; 64])
            )))
            .is_err());
    }

    proptest::proptest! {
        /// Any bytes from a peer, for every engine message type: an error
        /// or a value, never a panic; and a value re-encodes to the input.
        #[test]
        fn engine_messages_take_any_bytes(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let c = ShanlianCodec;
            let b = || Bytes::copy_from_slice(&data);
            if let Ok(m) = Codec::<SignedConsensusMsg<Ctx>>::decode(&c, b()) {
                proptest::prop_assert_eq!(c.encode(&m).unwrap().to_vec(), data.clone());
            }
            if let Ok(m) = Codec::<StreamMessage<ProposalPart>>::decode(&c, b()) {
                proptest::prop_assert_eq!(c.encode(&m).unwrap().to_vec(), data.clone());
            }
            let _ = Codec::<LivenessMsg<Ctx>>::decode(&c, b());
            let _ = Codec::<Response<Ctx>>::decode(&c, b());
            let _ = Codec::<Request<Ctx>>::decode(&c, b());
            let _ = Codec::<Status<Ctx>>::decode(&c, b());
            let _ = Codec::<ProposedValue<Ctx>>::decode(&c, b());
            let _ = Codec::<PolkaCertificate<Ctx>>::decode(&c, b());
        }
    }
}
