//! SPEC §8.3, the bureau's rows: members, keys, validators, project
//! approval and the public lists.

use super::{Cx, State, Verdict};
use shanlian_core::crypto::{check_member_key, Domain};
use shanlian_core::error::Refusal;
use shanlian_core::record::*;
use shanlian_core::types::*;
use shanlian_core::values::*;

impl State {
    /// §8.3 AdmitMember.
    pub(super) fn admit_member(&mut self, cx: &Cx, m: &AdmitMember) -> Verdict {
        check_member_key(&m.public_key).map_err(|e| Refusal::WeakKey(e.to_string()))?;
        let a = Address::of_key(&m.public_key);
        let t = &mut self.tables;
        if t.members.contains(&a) {
            return Err(Refusal::MemberExists(a).into());
        }
        if t.keys.contains(&m.public_key) {
            return Err(Refusal::KeyInUse(m.public_key).into());
        }
        t.members.put(
            a,
            Member {
                role: m.role,
                name: m.name.clone(),
                uscc: m.uscc.clone(),
                key: m.public_key,
                node: m.node,
                suspended: false,
                power: 0,
                admitted_height: cx.height,
            },
        );
        t.keys.put(
            m.public_key,
            KeyEntry {
                member: a,
                current: true,
            },
        );
        if m.role == Role::Charity {
            t.funds.put(
                FundRef::General(a),
                FundState {
                    owner: a,
                    ..Default::default()
                },
            );
        }
        Ok(())
    }

    /// §8.3 UpdateMember.
    pub(super) fn update_member(&mut self, u: &UpdateMember) -> Verdict {
        let mut m = self.member(&u.member)?;
        if let Some(n) = &u.name {
            m.name = n.clone();
        }
        if let Some(c) = &u.uscc {
            m.uscc = c.clone();
        }
        if let Some(n) = u.node {
            m.node = n;
        }
        self.tables.members.put(u.member, m);
        Ok(())
    }

    /// §8.3 SuspendMember.
    pub(super) fn suspend_member(&mut self, cx: &Cx, s: &SuspendMember) -> Verdict {
        let mut m = self.member(&s.member)?;
        if s.member == cx.signer {
            return Err(Refusal::SelfSuspension.into());
        }
        if m.suspended {
            return Err(Refusal::AlreadySuspended(s.member).into());
        }
        m.suspended = true;
        self.tables.members.put(s.member, m);
        Ok(())
    }

    /// §8.3 ReinstateMember.
    pub(super) fn reinstate_member(&mut self, r: &ReinstateMember) -> Verdict {
        let mut m = self.member(&r.member)?;
        if !m.suspended {
            return Err(Refusal::NotSuspended(r.member).into());
        }
        m.suspended = false;
        self.tables.members.put(r.member, m);
        Ok(())
    }

    /// §8.3 RotateKey. A validator's vote key may change only through the
    /// delayed validator-set path (remove it, rotate, re-add), so every
    /// change of a validator set is announced before it applies (§7.3).
    pub(super) fn rotate_key(&mut self, r: &RotateKey) -> Verdict {
        let mut m = self.member(&r.member)?;
        let scheduled = self
            .tables
            .pending_validators
            .iter()
            .any(|((_, a), _)| *a == r.member);
        if m.power > 0 || scheduled {
            return Err(Refusal::ValidatorKeyRotation(r.member).into());
        }
        check_member_key(&r.new_key).map_err(|e| Refusal::WeakKey(e.to_string()))?;
        if self.tables.keys.contains(&r.new_key) {
            return Err(Refusal::KeyInUse(r.new_key).into());
        }
        let old = self
            .cached_verifier(&m.key)
            .ok_or(Refusal::BadRotationConsent)?;
        old.verify(
            Domain::RotateKey,
            &self.genesis_hash,
            &RotateKey::consent_bytes(&r.member, &r.new_key),
            &r.old_key_signature,
        )
        .map_err(|_| Refusal::BadRotationConsent)?;
        let t = &mut self.tables;
        t.keys.put(
            m.key,
            KeyEntry {
                member: r.member,
                current: false,
            },
        );
        t.keys.put(
            r.new_key,
            KeyEntry {
                member: r.member,
                current: true,
            },
        );
        m.key = r.new_key;
        t.members.put(r.member, m);
        Ok(())
    }

    /// §8.3 SetValidator.
    pub(super) fn set_validator(&mut self, cx: &Cx, v: &SetValidator) -> Verdict {
        let m = self.member(&v.member)?;
        // A suspended member may be removed, not given power.
        if m.suspended && v.power > 0 {
            return Err(Refusal::MemberSuspended(v.member).into());
        }
        let earliest = cx.height + self.genesis.params.validator_change_delay;
        if v.effective_height < earliest {
            return Err(Refusal::ValidatorChangeTooSoon {
                effective: v.effective_height,
                earliest,
            }
            .into());
        }
        self.tables
            .pending_validators
            .put((v.effective_height, v.member), v.power);
        // The set must keep voting power at every height from now on: check
        // it at each height where a scheduled change lands (the set only
        // changes there), starting from the members' current powers.
        let mut heights: Vec<u64> = self
            .tables
            .pending_validators
            .iter()
            .map(|((h, _), _)| *h)
            .collect();
        heights.sort_unstable();
        heights.dedup();
        for h in heights {
            let total = self.validator_set(h).total_power();
            if total == 0 {
                return Err(Refusal::EmptyValidatorSet.into());
            }
            if total > u64::MAX / 4 {
                return Err(Refusal::Overflow.into());
            }
        }
        Ok(())
    }

    /// §8.3 ApproveProject.
    pub(super) fn approve_project(&mut self, a: &ApproveProject) -> Verdict {
        let mut p = self.project(&a.project)?.clone();
        if p.status != ProjectStatus::Pending {
            return Err(Refusal::ProjectNotPending(a.project.clone()).into());
        }
        p.status = ProjectStatus::Active;
        p.approval_ref = Some(a.approval_ref.clone());
        self.tables.projects.put(a.project.clone(), p);
        Ok(())
    }

    /// §8.3 ListOrganisation.
    pub(super) fn list_organisation(&mut self, cx: &Cx, l: &ListOrganisation) -> Verdict {
        self.member(&l.organisation)?;
        let key = (l.organisation, l.list);
        if self.tables.listings.contains(&key) {
            return Err(Refusal::OrganisationListed(l.organisation, l.list).into());
        }
        self.tables.listings.put(
            key,
            Listing {
                reason: l.reason.clone(),
                since: cx.time,
            },
        );
        Ok(())
    }

    /// §8.3 DelistOrganisation.
    pub(super) fn delist_organisation(&mut self, l: &DelistOrganisation) -> Verdict {
        let key = (l.organisation, l.list);
        if !self.tables.listings.contains(&key) {
            return Err(Refusal::NotListed(l.organisation, l.list).into());
        }
        self.tables.listings.remove(&key);
        Ok(())
    }
}
