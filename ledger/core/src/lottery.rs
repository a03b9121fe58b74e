//! Welfare-lottery rules: how sales split into prize fund, issuance fee
//! and public-welfare fund, and how the welfare fund splits central/local.
//!
//! Rounding (docs/SPEC.md § Lottery split): every share but the last is
//! `floor(amount × bp / 10,000)`; the last share (welfare of sales, local
//! of welfare) takes the remainder, so the parts always sum to the whole,
//! fen-exact.

use crate::genesis::Game;
use crate::types::Fen;

/// One sales report's split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub prize: Fen,
    pub issuance_fee: Fen,
    pub welfare_central: Fen,
    pub welfare_local: Fen,
}

impl Split {
    pub fn welfare(&self) -> Fen {
        Fen(self.welfare_central.0 + self.welfare_local.0)
    }
}

fn share(amount: u64, bp: u32) -> u64 {
    // u128: amount × 10,000 cannot overflow.
    (amount as u128 * bp as u128 / 10_000) as u64
}

/// Splits `sales` by the game's basis points (genesis has checked that
/// prize + fee + welfare = 10,000).
pub fn split_sales(game: &Game, sales: Fen) -> Split {
    let prize = share(sales.0, game.prize_bp);
    let fee = share(sales.0, game.issuance_fee_bp);
    let welfare = sales.0 - prize - fee;
    let central = share(welfare, game.central_bp);
    Split {
        prize: Fen(prize),
        issuance_fee: Fen(fee),
        welfare_central: Fen(central),
        welfare_local: Fen(welfare - central),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::GameId;
    use proptest::prelude::*;

    fn ssq() -> Game {
        Game {
            id: GameId("SSQ".into()),
            name: "x".into(),
            prize_bp: 5_100,
            issuance_fee_bp: 1_300,
            welfare_bp: 3_600,
            central_bp: 5_000,
        }
    }

    #[test]
    fn published_shares() {
        let s = split_sales(&ssq(), Fen(10_000_000));
        assert_eq!(s.prize, Fen(5_100_000));
        assert_eq!(s.issuance_fee, Fen(1_300_000));
        assert_eq!(s.welfare(), Fen(3_600_000));
        assert_eq!(s.welfare_central, Fen(1_800_000));
        // Odd fen: remainders go to welfare, then to local.
        let s = split_sales(&ssq(), Fen(1));
        assert_eq!(
            (s.prize, s.issuance_fee, s.welfare_central, s.welfare_local),
            (Fen(0), Fen(0), Fen(0), Fen(1))
        );
    }

    proptest! {
        #[test]
        fn split_conserves_every_fen(sales in 1u64..u64::MAX / 2, prize in 0u32..=8_000, central in 0u32..=10_000) {
            let fee = (10_000 - 2_000 - prize).min(1_500);
            let g = Game { prize_bp: prize, issuance_fee_bp: fee, welfare_bp: 10_000 - prize - fee, central_bp: central, ..ssq() };
            let s = split_sales(&g, Fen(sales));
            prop_assert_eq!(s.prize.0 + s.issuance_fee.0 + s.welfare_central.0 + s.welfare_local.0, sales);
            prop_assert!(s.welfare().0 as u128 * 10_000 >= sales as u128 * g.welfare_bp as u128);
        }
    }
}
