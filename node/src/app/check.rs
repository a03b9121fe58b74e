//! Checking a proposed or synced block with the ledger. A valid block stays
//! applied to the state (see `App::open`) until another is checked or
//! built, so committing it needs no second pass. A fault while checking
//! (this node's store fails) is not a verdict: the node stops rather than
//! vote against a block it could not check.

use super::{App, AppError};
use crate::ctx::BlockHash;
use malachitebft_app_channel::app::types::core::Validity;
use shanlian_ledger::block::BlockData;
use shanlian_ledger::record::Record;
use shanlian_ledger::state::Transition;
use shanlian_ledger::types::Timestamp;
use shanlian_ledger::{chain, BlockError, ChainError};

impl App {
    /// Undoes a block still applied to the state from an earlier check.
    pub(super) fn close_open(&mut self) {
        if self.open.take().is_some() {
            self.state.rollback_block();
        }
    }

    /// Whether a block is valid on top of the committed state. `clock` is
    /// this validator's time for the future-time bound (none for a synced
    /// block, decided in the past).
    pub(super) fn check(
        &mut self,
        hash: BlockHash,
        block: &BlockData,
        clock: Option<Timestamp>,
    ) -> Result<Validity, AppError> {
        self.close_open();
        match self.try_check(block, clock) {
            Ok(tr) => {
                self.open = Some((hash, tr));
                Ok(Validity::Valid)
            }
            Err(ChainError::Invalid(e)) => {
                self.metrics.blocks_refused.inc();
                let code = match &e {
                    BlockError::Record { refusal, .. }
                    | BlockError::RecordBytes { refusal, .. } => refusal.code(),
                    _ => "block.invalid",
                };
                tracing::warn!(
                    height = block.header.height,
                    proposer = %block.header.proposer,
                    code,
                    reason = %e,
                    "refused a proposed block"
                );
                self.last_refusal = Some(format!("{code}: {e}"));
                Ok(Validity::Invalid)
            }
            Err(ChainError::Fault(f)) => Err(AppError::Fault(f)),
        }
    }

    /// Decodes and checks a block against the state (with `clock`, also
    /// its time against ours), leaving it applied but open on success.
    pub(super) fn try_check(
        &mut self,
        block: &BlockData,
        clock: Option<Timestamp>,
    ) -> Result<Transition, ChainError> {
        if let Some(now) = clock {
            chain::check_block_time(&self.state, block.header.time, now)?;
        }
        let max = self.state.genesis.params.max_record_bytes as usize;
        let records = chain::decode_records(block, max)?;
        let verified = self.verified(&records);
        chain::check_block(
            &mut self.state,
            &block.header,
            &records,
            &verified,
            &self.store,
        )
    }

    /// Signature flags for a block's records: those in our pool were
    /// checked at admission; the others are checked now.
    pub(super) fn verified(&mut self, records: &[Record]) -> Vec<bool> {
        let mut flags = self.pool.lock().known(records.iter().map(|r| r.id));
        let todo: Vec<usize> = (0..records.len()).filter(|i| !flags[*i]).collect();
        if !todo.is_empty() {
            let subset: Vec<Record> = todo.iter().map(|&i| records[i].clone()).collect();
            let checked = chain::verify_signatures(&mut self.state, &subset);
            for (k, &i) in todo.iter().enumerate() {
                flags[i] = checked[k];
            }
        }
        flags
    }
}
