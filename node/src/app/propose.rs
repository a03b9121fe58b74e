//! Building this node's block for the next height from the pool, and the
//! test-only proposer faults.

use super::{now, App, AppError};
use crate::ctx::BlockHash;
use shanlian_ledger::chain;
use shanlian_ledger::record::{Payload, Record, RecordBody, SignedRecord};
use shanlian_ledger::types::{Fen, FundRef, ReceiptNo, Timestamp};

/// Test-only misbehaviour of a proposer (`run --test-fault`), so the
/// end-to-end tests can check that honest validators refuse bad blocks.
/// Never set in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// Propose blocks that contain a record with a broken signature (the
    /// proposer's own state skips the signature check, so the header is
    /// otherwise consistent).
    BadSignature,
    /// Propose blocks with an extra disbursement that over-spends the
    /// proposer's general fund.
    OverSpend,
}

impl App {
    /// Builds this node's block for the next height from the pool, oldest
    /// records first, leaving out those the ledger refuses. Within the
    /// genesis limit, a block holds what this node applied in a quarter of
    /// the propose timeout last time: the other validators (sharing
    /// machines, perhaps slower) must receive and check it before their
    /// propose timeout, or the round is lost.
    pub(super) fn build_block(
        &mut self,
        timeout: std::time::Duration,
    ) -> Result<BlockHash, AppError> {
        self.close_open();
        let genesis_max = self.state.genesis.params.max_records_per_block as usize;
        let max = if self.build_rate > 0.0 {
            ((self.build_rate * timeout.as_secs_f64() / 4.0) as usize).clamp(256, genesis_max)
        } else {
            genesis_max.min(2_000)
        };
        let started = std::time::Instant::now();
        let mut candidates = self.pool.lock().oldest(max + max / 10 + 16);
        // Every pool record passed the signature check at admission
        // (its id is the hash of its whole bytes).
        let mut verified = vec![true; candidates.len()];
        if self.fault == Some(Fault::BadSignature) {
            tracing::warn!("TEST FAULT: proposing a record with a broken signature");
            candidates.insert(0, self.bad_signature());
            verified.insert(0, true);
        }
        let time = Timestamp(now().0.max(self.state.time.0 + 1));
        let limit = candidates.len();
        let (mut block, tr, refused) = chain::propose(
            &mut self.state,
            time,
            self.me.0,
            &candidates,
            &verified,
            &self.store,
        )?;
        if limit >= 256 {
            let rate = limit as f64 / started.elapsed().as_secs_f64().max(1e-6);
            self.build_rate = if self.build_rate > 0.0 {
                0.7 * self.build_rate + 0.3 * rate
            } else {
                rate
            };
        }
        if self.fault == Some(Fault::OverSpend) {
            // Appended after the header was computed: the honest nodes
            // refuse the record itself before they compare roots.
            tracing::warn!("TEST FAULT: proposing an over-spending disbursement");
            block.records.push(self.over_spend().bytes);
        }
        // Refused records leave the pool; their reasons stay queryable.
        if !refused.is_empty() {
            tracing::debug!(
                refused = refused.len(),
                "records refused while building a block"
            );
            self.pool.lock().refuse(refused);
        }
        let hash = BlockHash(block.header.hash());
        self.blocks.insert(hash, block);
        self.open = Some((hash, tr));
        Ok(hash)
    }

    /// [`Fault::BadSignature`]: a donation to this (charity) node's own
    /// general fund with one bit of its signature flipped.
    fn bad_signature(&self) -> Record {
        let mut r = self.signed_by_me(crate::demo::donation(
            ReceiptNo(format!("FAULT-{}", now().0)),
            FundRef::General(self.me.0),
            100,
            1,
        ));
        r.signed.signature.0[0] ^= 1;
        Record::new(r.signed)
    }

    /// [`Fault::OverSpend`]: ten trillion yuan out of this (charity)
    /// node's general fund.
    fn over_spend(&self) -> Record {
        let mut p = crate::demo::disbursement(FundRef::General(self.me.0), 1, "over-spend");
        if let Payload::RecordDisbursement(d) = &mut p {
            d.amount = Fen(1_000_000_000_000_000);
        }
        self.signed_by_me(p)
    }

    fn signed_by_me(&self, payload: Payload) -> Record {
        let t = now();
        let body = RecordBody {
            created: t,
            expires: Timestamp(t.0 + 60_000),
            nonce: t.0,
            payload,
        };
        Record::new(SignedRecord::sign(body, &self.key, &self.ctx.genesis_hash))
    }
}
