//! The state machine's tables, declared once. Each line names a table, its
//! key and value types and its key family (SPEC §9.1, [`keys`]); the macro
//! makes the journaled field, its place in every block's write set, and its
//! loading from the store. Adding a table is one line here and one family
//! constant in [`keys`].

use crate::journal::{Journaled, Table};
use shanlian_core::codec::{self, DecodeError};
use shanlian_core::keys;
use shanlian_core::types::*;
use shanlian_core::values::*;

macro_rules! state_tables {
    ($( $(#[$doc:meta])* $name:ident : $key:ty => $value:ty = $family:path; )*) => {
        /// Every state table (SPEC §9.1), each an in-memory map with an
        /// undo journal (see [`crate::journal`]).
        #[derive(Debug, Clone)]
        pub struct Tables {
            $( $(#[$doc])* pub $name: Table<$key, $value>, )*
        }

        /// How many tables there are.
        pub const COUNT: usize = [$( $family ),*].len();

        impl Tables {
            pub fn new() -> Tables {
                Tables { $( $name: Table::new($family), )* }
            }

            /// Every table, in declaration order, for the journal machinery.
            pub fn all(&mut self) -> [&mut dyn Journaled; COUNT] {
                [$( &mut self.$name as &mut dyn Journaled ),*]
            }

            /// Every table, read-only.
            pub fn all_ref(&self) -> [&dyn Journaled; COUNT] {
                [$( &self.$name as &dyn Journaled ),*]
            }

            /// Loads one stored entry into its table (store open), without
            /// journaling. `Ok(false)` for a key of no state family.
            pub fn load(&mut self, key: &[u8], value: &[u8]) -> Result<bool, DecodeError> {
                let Some((family, rest)) = key.split_first() else {
                    return Ok(false);
                };
                $(
                    if *family == $family {
                        let k: $key = codec::decode_canonical(rest)?;
                        let v: $value = codec::decode_canonical(value)?;
                        self.$name.load(k, v);
                        return Ok(true);
                    }
                )*
                Ok(false)
            }
        }

        impl Default for Tables {
            fn default() -> Self {
                Tables::new()
            }
        }
    };
}

state_tables! {
    /// Address → Member.
    members: Address => Member = keys::MEMBERS;
    /// Every key ever admitted, current or rotated out → its member.
    keys: PublicKey => KeyEntry = keys::KEYS;
    /// Validator changes waiting for their height: (height, member) → power.
    pending_validators: (u64, Address) => u64 = keys::PENDING_VALIDATORS;
    /// ProjectId → Project.
    projects: ProjectId => Project = keys::PROJECTS;
    /// Every fund's position on its tracing axis.
    funds: FundRef => FundState = keys::FUNDS;
    /// Refunded ranges at or after a fund's FIFO position (absent when none).
    holes: FundRef => Holes = keys::HOLES;
    /// (charity, receipt) → the donation's live state.
    donations: (Address, ReceiptNo) => Donation = keys::DONATIONS;
    /// (organisation, list) → why and since when it is listed.
    listings: (Address, ListKind) => Listing = keys::LISTINGS;
    /// Lottery totals per game.
    games: GameId => GameTotals = keys::GAMES;
    /// (game, period, region) → the sales report recorded for it.
    sales_reports: (GameId, String, String) => RecordId = keys::SALES_REPORTS;
    /// UTC year → welfare allocations by purpose.
    welfare_years: u32 => WelfareYear = keys::WELFARE_YEARS;
    /// (charity, UTC year) → its income and spending that year.
    charity_years: (Address, u32) => CharityYear = keys::CHARITY_YEARS;
    /// DrawId → the draw, its seeds and outcome.
    draws: DrawId => Draw = keys::DRAWS;
}
