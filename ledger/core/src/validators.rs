//! Following the validator set from genesis (SPEC §7.3, §13.3): what a light
//! client knows about members and validators at any height, from the
//! genesis file and the governance records it was shown (each proven
//! committed in a certified block).
//!
//! The state machine computes the same sets from its tables
//! (`State::validator_set`); a property test in the ledger checks that the
//! two agree at every height of random governance histories.
//!
//! What the tracker needs to know of a block's records is only what
//! changes a validator set or a member's identity: `AdmitMember`,
//! `UpdateMember`, `RotateKey`, `SetValidator`. Their effects:
//!
//! * a member's key changes in the block of its `AdmitMember` or `RotateKey`
//!   record, so the key of member `m` in the set of height `h` is the last
//!   key given to `m` in a block **before** `h` (genesis keys count as
//!   block 0);
//! * `SetValidator { member, power, effective_height }` schedules `power`
//!   for `member` at `effective_height`; a later record for the same
//!   `(effective_height, member)` replaces an earlier one;
//! * the set of height `h` starts from the genesis powers and applies every
//!   scheduled change with `effective_height ≤ h` in `(effective_height,
//!   address)` order; members with power 0 are left out.

use crate::block::{Validator, ValidatorSet};
use crate::genesis::Genesis;
use crate::record::Payload;
use crate::types::*;
use std::collections::{BTreeMap, HashMap};

/// A member as a light client knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KnownMember {
    pub address: Address,
    pub role: Role,
    pub name: String,
    pub uscc: Uscc,
    /// Keys in order, each with the height of the block that gave it
    /// (0 for genesis).
    pub keys: Vec<(u64, PublicKey)>,
}

impl KnownMember {
    /// The member's key in force for a block at `height` (given in an
    /// earlier block).
    pub fn key_at(&self, height: u64) -> Option<PublicKey> {
        self.keys
            .iter()
            .rev()
            .find(|(from, _)| *from < height)
            .map(|(_, k)| *k)
    }
}

/// What a light client has learnt of members and validators.
#[derive(Debug, Clone)]
pub struct ValidatorTracker {
    members: BTreeMap<Address, KnownMember>,
    key_owner: HashMap<PublicKey, Address>,
    genesis_power: BTreeMap<Address, u64>,
    /// Scheduled power changes: (effective height, member) → power.
    changes: BTreeMap<(u64, Address), u64>,
}

/// Why a governance record could not be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackError {
    #[error("a {0} record does not change members or validators")]
    NotGovernance(&'static str),
}

impl ValidatorTracker {
    /// The members and validators of genesis.
    pub fn from_genesis(genesis: &Genesis) -> ValidatorTracker {
        let mut t = ValidatorTracker {
            members: BTreeMap::new(),
            key_owner: HashMap::new(),
            genesis_power: BTreeMap::new(),
            changes: BTreeMap::new(),
        };
        for m in &genesis.members {
            let a = m.address();
            t.members.insert(
                a,
                KnownMember {
                    address: a,
                    role: m.role,
                    name: m.name.clone(),
                    uscc: m.uscc.clone(),
                    keys: vec![(0, m.public_key)],
                },
            );
            t.key_owner.insert(m.public_key, a);
            if m.power > 0 {
                t.genesis_power.insert(a, m.power);
            }
        }
        t
    }

    /// Whether a payload kind is one the tracker follows.
    pub fn follows(payload: &Payload) -> bool {
        matches!(
            payload,
            Payload::AdmitMember(_)
                | Payload::UpdateMember(_)
                | Payload::RotateKey(_)
                | Payload::SetValidator(_)
        )
    }

    /// Applies a governance record committed in the block at `height`.
    /// Records must be applied in log order.
    pub fn apply(&mut self, payload: &Payload, height: u64) -> Result<(), TrackError> {
        match payload {
            Payload::AdmitMember(m) => {
                let a = Address::of_key(&m.public_key);
                self.members.insert(
                    a,
                    KnownMember {
                        address: a,
                        role: m.role,
                        name: m.name.clone(),
                        uscc: m.uscc.clone(),
                        keys: vec![(height, m.public_key)],
                    },
                );
                self.key_owner.insert(m.public_key, a);
            }
            Payload::UpdateMember(u) => {
                if let Some(m) = self.members.get_mut(&u.member) {
                    if let Some(n) = &u.name {
                        m.name = n.clone();
                    }
                    if let Some(c) = &u.uscc {
                        m.uscc = c.clone();
                    }
                }
            }
            Payload::RotateKey(r) => {
                if let Some(m) = self.members.get_mut(&r.member) {
                    m.keys.push((height, r.new_key));
                }
                self.key_owner.insert(r.new_key, r.member);
            }
            Payload::SetValidator(v) => {
                self.changes.insert((v.effective_height, v.member), v.power);
            }
            other => return Err(TrackError::NotGovernance(other.kind())),
        }
        Ok(())
    }

    /// The validator set of `height` as far as the tracker knows it.
    pub fn set_at(&self, height: u64) -> ValidatorSet {
        let mut power = self.genesis_power.clone();
        for ((_, a), p) in self.changes.range(..=(height, Address([0xff; 20]))) {
            power.insert(*a, *p);
        }
        ValidatorSet::new(
            power
                .into_iter()
                .filter_map(|(a, p)| {
                    let key = self.members.get(&a)?.key_at(height)?;
                    Some(Validator {
                        address: a,
                        public_key: key,
                        power: p,
                    })
                })
                .collect(),
        )
    }

    /// The member a key was given to, if the tracker has seen it.
    pub fn member_of_key(&self, key: &PublicKey) -> Option<&KnownMember> {
        self.members.get(self.key_owner.get(key)?)
    }

    /// A member by address.
    pub fn member(&self, address: &Address) -> Option<&KnownMember> {
        self.members.get(address)
    }
}
