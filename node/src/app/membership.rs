//! Who may be on the network: the node keys of active members, followed on
//! chain and published after every block to both swarms (consensus peers
//! and the gossip allow-list), so admissions, suspensions and key changes
//! take effect without a restart.

use super::App;
use shanlian_ledger::state::State;
use shanlian_ledger::types::NodeKey;
use std::collections::BTreeSet;

/// The node keys of the members allowed on the network (active members).
pub type Membership = BTreeSet<NodeKey>;

/// The node keys of active (not suspended) members in `state`.
pub fn membership(state: &State) -> Membership {
    state
        .tables
        .members
        .iter()
        .filter(|(_, m)| !m.suspended)
        .map(|(_, m)| m.node)
        .collect()
}

impl App {
    /// Publishes the membership if it changed with the last block.
    pub(super) fn publish_membership(&self) {
        let members = membership(&self.state);
        self.members.send_if_modified(|old| {
            if *old != members {
                *old = members;
                true
            } else {
                false
            }
        });
    }
}
