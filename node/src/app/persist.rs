//! Crash-safety records, in the store's `consensus` tree: this node's own
//! block for each (height, round), and every block it validated for the
//! current height, written and flushed before the engine hears of them.
//! After a crash the engine replays its WAL; `GetValue` then returns the
//! very same block (never a second one for the same round), `StartedRound`
//! hands back the values already validated, and a decision on a block
//! received before the crash finds it.

use super::{App, AppError};
use crate::ctx::{Address, BlockHash, Height};
use malachitebft_app_channel::app::types::core::{Round, Validity};
use malachitebft_app_channel::app::types::ProposedValue;
use shanlian_ledger::block::BlockData;
use shanlian_ledger::codec;

/// A validated value remembered for `StartedRound` (and persisted).
#[derive(bincode::Encode, bincode::Decode)]
pub(super) struct Seen {
    pub round: u32,
    pub valid_round: Option<u32>,
    pub proposer: shanlian_ledger::types::Address,
    pub valid: bool,
    pub block: BlockData,
}

/// Key of our own proposal: `o` ‖ height ‖ round.
fn own_key(h: u64, r: u32) -> Vec<u8> {
    let mut k = vec![b'o'];
    k.extend_from_slice(&h.to_be_bytes());
    k.extend_from_slice(&r.to_be_bytes());
    k
}

/// Key of a validated value: `s` ‖ height ‖ round ‖ hash.
fn seen_key(h: u64, r: u32, hash: &BlockHash) -> Vec<u8> {
    let mut k = vec![b's'];
    k.extend_from_slice(&h.to_be_bytes());
    k.extend_from_slice(&r.to_be_bytes());
    k.extend_from_slice(&hash.0);
    k
}

fn aux(e: impl std::fmt::Display) -> AppError {
    AppError::Aux(e.to_string())
}

impl App {
    /// Reloads what this node proposed and validated for the next height
    /// before a restart; forgets older heights.
    pub(super) fn restore(&mut self) -> Result<(), AppError> {
        let next = self.state.height + 1;
        for (k, v) in self.aux.entries()? {
            let h = k
                .get(1..9)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            if h != next {
                self.aux.remove(&k)?;
                continue;
            }
            let r = k
                .get(9..13)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
                .unwrap_or(0);
            match k[0] {
                b'o' => {
                    let block: BlockData = codec::decode(&v).map_err(aux)?;
                    let hash = BlockHash(block.header.hash());
                    self.blocks.insert(hash, block);
                    self.own.insert(r, hash);
                }
                b's' => {
                    let seen: Seen = codec::decode(&v).map_err(aux)?;
                    let hash = BlockHash(seen.block.header.hash());
                    self.validated.entry(r).or_default().push(ProposedValue {
                        height: Height(next),
                        round: Round::new(seen.round),
                        valid_round: seen.valid_round.map(Round::new).unwrap_or(Round::Nil),
                        proposer: Address(seen.proposer),
                        value: hash,
                        validity: if seen.valid {
                            Validity::Valid
                        } else {
                            Validity::Invalid
                        },
                    });
                    self.blocks.insert(hash, seen.block);
                }
                _ => {
                    self.aux.remove(&k)?;
                }
            }
        }
        if !self.own.is_empty() || !self.validated.is_empty() {
            tracing::info!(
                height = next,
                own = self.own.len(),
                seen = self.validated.len(),
                "restored undecided proposals"
            );
        }
        Ok(())
    }

    /// Makes our block for (height, round) durable before the engine signs
    /// a proposal for it.
    pub(super) fn persist_own(
        &self,
        height: u64,
        round: u32,
        block: &BlockData,
    ) -> Result<(), AppError> {
        self.aux
            .insert(&own_key(height, round), &codec::encode(block))?;
        self.aux.flush()?;
        Ok(())
    }

    /// Makes a validated value durable before the engine hears of it.
    pub(super) fn persist_seen(
        &self,
        height: u64,
        hash: &BlockHash,
        seen: &Seen,
    ) -> Result<(), AppError> {
        self.aux
            .insert(&seen_key(height, seen.round, hash), &codec::encode(seen))?;
        self.aux.flush()?;
        Ok(())
    }

    /// Forgets every record of the height just decided.
    pub(super) fn clear_persisted(&self) -> Result<(), AppError> {
        Ok(self.aux.clear()?)
    }
}
