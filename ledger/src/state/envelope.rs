//! SPEC §8.2, rules 1–10: what every record must satisfy whatever its
//! payload — size, fields, time window, replay, signer, role, signature.
//! Pool admission applies exactly these with the node's clock.

use super::{State, Verdict};
use crate::fault::Fault;
use shanlian_core::error::Refusal;
use shanlian_core::record::{check_fields, Record};
use shanlian_core::types::*;

impl State {
    /// Checks rules 1–10 at time `time` and returns the signing member.
    /// Changes nothing but the verifier cache.
    pub(super) fn check_envelope(
        &mut self,
        rec: &Record,
        time: Timestamp,
        sig_ok: bool,
    ) -> Verdict<Address> {
        let p = &self.genesis.params;
        // Rule 1: size.
        let max = p.max_record_bytes as usize;
        if rec.bytes.len() > max {
            return Err(Refusal::TooLarge {
                size: rec.bytes.len(),
                max,
            }
            .into());
        }
        // §8.1 again: records built in memory (`Record::new`) skip decoding.
        check_fields(&rec.signed.body.payload)?;
        let body = &rec.signed.body;
        // Rule 2: not from the future.
        if body.created.0 > time.0.saturating_add(p.clock_skew_ms) {
            return Err(Refusal::NotYetValid {
                created: body.created,
                block_time: time,
            }
            .into());
        }
        // Rule 3: not expired.
        if body.expires < time {
            return Err(Refusal::Expired {
                expires: body.expires,
                block_time: time,
            }
            .into());
        }
        // Rule 4: a bounded expiry window.
        let window = body.expires.0.saturating_sub(body.created.0);
        if body.expires < body.created || window > p.max_expiry_window_ms {
            return Err(Refusal::ExpiryWindow {
                window_ms: window,
                max_ms: p.max_expiry_window_ms,
            }
            .into());
        }
        // Rule 5: not committed within the window.
        if self.recent.contains(&rec.id) {
            return Err(Refusal::Duplicate(rec.id).into());
        }
        // Rules 6–8: a current key of an active member.
        let signer_key = rec.signed.signer;
        let entry = self
            .tables
            .keys
            .get(&signer_key)
            .cloned()
            .ok_or(Refusal::UnknownSigner(signer_key))?;
        if !entry.current {
            return Err(Refusal::RetiredKey(signer_key).into());
        }
        let signer = entry.member;
        // Every key in the key table belongs to a member: a missing one is
        // a broken state, not a verdict on the record.
        let member = self.tables.members.get(&signer).cloned().ok_or_else(|| {
            Fault::Invariant(format!(
                "key {signer_key} belongs to {signer}, which is no member"
            ))
        })?;
        if member.suspended {
            return Err(Refusal::SignerSuspended(signer).into());
        }
        // Rule 9: the role permits the payload.
        let payload = &body.payload;
        if !payload.permits(member.role) {
            return Err(Refusal::RoleNotPermitted {
                role: member.role,
                payload: payload.kind(),
            }
            .into());
        }
        // Rule 10: the signature (SPEC §4).
        if !sig_ok {
            let msg = rec.signing_message(&self.genesis_hash);
            let v = self
                .cached_verifier(&signer_key)
                .ok_or(Refusal::BadSignature)?;
            v.verify_message(&msg, &rec.signed.signature)
                .map_err(|_| Refusal::BadSignature)?;
        }
        Ok(signer)
    }
}
