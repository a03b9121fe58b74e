// The lottery split of docs/SPEC.md §11: how a sales report divides into prize, issuance fee, and
// the central and local shares of the welfare fund. Integer arithmetic on BigInt, so the products
// cannot overflow.

const BP = 10000n;

/**
 * §11: { prize, fee, welfare, central, local } (BigInt) of `sales` fen of `game` (a genesis Game:
 * prize_bp, issuance_fee_bp, central_bp):
 *   prize   = floor(sales × prize_bp / 10000)
 *   fee     = floor(sales × issuance_fee_bp / 10000)
 *   welfare = sales − prize − fee            (remainders go to welfare)
 *   central = floor(welfare × central_bp / 10000)
 *   local   = welfare − central              (remainders go to local)
 * `local`, if positive, is the sales report's inflow into the welfare pool.
 */
export function lotterySplit(sales, game) {
  const s = BigInt(sales);
  const prize = (s * BigInt(game.prize_bp)) / BP;
  const fee = (s * BigInt(game.issuance_fee_bp)) / BP;
  const welfare = s - prize - fee;
  const central = (welfare * BigInt(game.central_bp)) / BP;
  return { prize, fee, welfare, central, local: welfare - central };
}
