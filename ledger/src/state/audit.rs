//! SPEC §8.3, the auditors' rows: attestations of a committed log, and
//! findings about committed records.

use super::{History, State, Verdict};
use shanlian_core::error::Refusal;
use shanlian_core::record::*;

impl State {
    /// §8.3 AuditAttestation: the attested height must be committed before
    /// this block (heights 1 to h − 1; genesis, height 0, has no header),
    /// and the attested log must be that header's.
    pub(super) fn audit_attestation(
        &mut self,
        a: &AuditAttestation,
        history: &dyn History,
    ) -> Verdict {
        let h = history
            .header(a.height)?
            .ok_or(Refusal::UnknownHeight(a.height))?;
        if h.log_size != a.log_size || h.log_root != a.log_root {
            return Err(Refusal::AttestationMismatch {
                height: a.height,
                log_size: a.log_size,
            }
            .into());
        }
        Ok(())
    }

    /// §8.3 PublishReport: a project's report by its owner; a year's report
    /// for a year that has begun.
    pub(super) fn publish_report(&mut self, cx: &super::Cx, r: &PublishReport) -> Verdict {
        match &r.subject {
            ReportSubject::Project(id) => {
                let p = self.project(id)?;
                if p.owner != cx.signer {
                    return Err(Refusal::NotProjectOwner(id.clone()).into());
                }
            }
            ReportSubject::Charity { year } | ReportSubject::WelfareFund { year } => {
                let now = cx.time.utc_year();
                if *year > now {
                    return Err(Refusal::ReportFutureYear { year: *year, now }.into());
                }
            }
        }
        Ok(())
    }

    /// §8.3 Finding: the target must be committed (earlier, or earlier in
    /// this block).
    pub(super) fn finding(&mut self, f: &Finding, history: &dyn History) -> Verdict {
        self.target_signer(&f.target, history)?;
        Ok(())
    }
}
