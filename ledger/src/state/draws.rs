//! SPEC §8.3, the draw rows, and §15: verifiable draws. The centre opens a
//! draw with its seed committed; auditors and invited members commit
//! seeds up to the closing height; each committer reveals after the beacon
//! block (`closes + 1`) is decided; anyone settles, stating the winners the
//! ledger recomputes ([`shanlian_core::draw`]).

use super::{Cx, History, State, Verdict};
use crate::fault::Fault;
use shanlian_core::draw;
use shanlian_core::error::Refusal;
use shanlian_core::record::*;
use shanlian_core::types::*;
use shanlian_core::values::*;

impl State {
    fn draw(&self, id: &DrawId) -> Result<Draw, Refusal> {
        self.tables
            .draws
            .get(id)
            .cloned()
            .ok_or_else(|| Refusal::UnknownDraw(id.clone()))
    }

    /// §8.3 OpenDraw.
    pub(super) fn open_draw(&mut self, cx: &Cx, d: &OpenDraw) -> Verdict {
        if self.tables.draws.get(&d.draw).is_some() {
            return Err(Refusal::DrawExists(d.draw.clone()).into());
        }
        if d.closes <= cx.height {
            return Err(Refusal::DrawClosesTooSoon {
                closes: d.closes,
                height: cx.height,
            }
            .into());
        }
        for m in &d.invited {
            self.member(m)?;
        }
        let draw = Draw {
            owner: cx.signer,
            draw_kind: d.draw_kind,
            title: d.title.clone(),
            entries_root: d.entries_root,
            entries: d.entries,
            winners: d.winners,
            opened: cx.height,
            closes: d.closes,
            reveal_by: d.reveal_by,
            invited: d.invited.clone(),
            seeds: vec![DrawSeed {
                member: cx.signer,
                commitment: d.seed_commitment,
                seed: None,
                record: cx.rec.id,
            }],
            outcome: None,
        };
        self.tables.draws.put(d.draw.clone(), draw);
        Ok(())
    }

    /// §8.3 CommitDrawSeed: an auditor or an invited member, in a block up
    /// to the closing height, once.
    pub(super) fn commit_draw_seed(&mut self, cx: &Cx, c: &CommitDrawSeed) -> Verdict {
        let mut d = self.draw(&c.draw)?;
        if cx.height > d.closes {
            return Err(Refusal::DrawClosed {
                draw: c.draw.clone(),
                closes: d.closes,
            }
            .into());
        }
        if d.seeds.iter().any(|s| s.member == cx.signer) {
            return Err(Refusal::DrawAlreadyCommitted(c.draw.clone()).into());
        }
        let role = self.member(&cx.signer)?.role;
        if role != Role::Auditor && !d.invited.contains(&cx.signer) {
            return Err(Refusal::DrawNotInvited(c.draw.clone()).into());
        }
        d.seeds.push(DrawSeed {
            member: cx.signer,
            commitment: c.seed_commitment,
            seed: None,
            record: cx.rec.id,
        });
        self.tables.draws.put(c.draw.clone(), d);
        Ok(())
    }

    /// §8.3 RevealDrawSeed: a committer, in blocks `closes + 2` to
    /// `reveal_by`, the seed matching its commitment.
    pub(super) fn reveal_draw_seed(&mut self, cx: &Cx, r: &RevealDrawSeed) -> Verdict {
        let mut d = self.draw(&r.draw)?;
        let from = d.closes.saturating_add(2);
        if cx.height < from {
            return Err(Refusal::DrawRevealTooEarly {
                draw: r.draw.clone(),
                from,
            }
            .into());
        }
        if cx.height > d.reveal_by || d.outcome.is_some() {
            return Err(Refusal::DrawRevealLate {
                draw: r.draw.clone(),
                reveal_by: d.reveal_by,
            }
            .into());
        }
        let s = d
            .seeds
            .iter_mut()
            .find(|s| s.member == cx.signer)
            .ok_or_else(|| Refusal::DrawNotCommitter(r.draw.clone()))?;
        if s.seed.is_some() {
            return Err(Refusal::DrawAlreadyRevealed(r.draw.clone()).into());
        }
        if draw::seed_commitment(&r.draw.0, &r.seed) != s.commitment {
            return Err(Refusal::DrawRevealMismatch(r.draw.clone()).into());
        }
        s.seed = Some(r.seed);
        self.tables.draws.put(r.draw.clone(), d);
        Ok(())
    }

    /// §8.3 SettleDraw: after the reveal deadline, or once every committer
    /// has revealed (and the beacon block is decided); the stated winners
    /// must be the computed ones. Committers that did not reveal are put on
    /// the record and their seeds left out (§15.4).
    pub(super) fn settle_draw(
        &mut self,
        cx: &Cx,
        s: &SettleDraw,
        history: &dyn History,
    ) -> Verdict {
        let mut d = self.draw(&s.draw)?;
        if d.outcome.is_some() {
            return Err(Refusal::DrawSettled(s.draw.clone()).into());
        }
        let all_revealed = d.seeds.iter().all(|x| x.seed.is_some());
        let ready =
            cx.height >= d.closes.saturating_add(2) && (all_revealed || cx.height > d.reveal_by);
        if !ready {
            let from = if all_revealed {
                d.closes.saturating_add(2)
            } else {
                d.reveal_by.saturating_add(1)
            };
            return Err(Refusal::DrawNotReady {
                draw: s.draw.clone(),
                from,
            }
            .into());
        }
        let beacon_height = d.closes + 1;
        let block_hash = history
            .header(beacon_height)?
            .ok_or_else(|| {
                Fault::Invariant(format!(
                    "draw {}: no committed header at the beacon height {beacon_height}",
                    s.draw
                ))
            })?
            .hash();
        let (beacon, expected) = draw::outcome(&d.beacon_input(&s.draw.0, block_hash));
        if s.winners != expected {
            return Err(Refusal::DrawWrongOutcome {
                draw: s.draw.clone(),
                expected,
            }
            .into());
        }
        d.outcome = Some(DrawOutcome {
            height: cx.height,
            block_hash,
            beacon,
            winners: expected,
            withheld: d
                .seeds
                .iter()
                .filter(|x| x.seed.is_none())
                .map(|x| x.member)
                .collect(),
            record: cx.rec.id,
        });
        self.tables.draws.put(s.draw.clone(), d);
        Ok(())
    }
}
