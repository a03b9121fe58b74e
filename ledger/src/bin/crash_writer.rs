//! The writer process of the ledger's crash test (`tests/it/crash.rs`):
//! commits blocks to the store in the folder given as its argument forever,
//! flushing every third and printing `flushed <height>`, until the test
//! kills it with SIGKILL. Test scaffolding (feature `testkit`), not a tool.

use shanlian_ledger::store::Store;
use shanlian_ledger::testkit::{payloads as p, DevNet};
use shanlian_ledger::types::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: crash_writer <store folder>")?;
    let mut net = DevNet::on(Store::open(std::path::Path::new(&dir))?)?;
    // Block times must keep increasing across restarts.
    net.clock = Timestamp(net.state.time.0 + 1_000);
    let fund = FundRef::General(net.address("charity-federation"));
    loop {
        let mut recs = Vec::new();
        for i in 0..40u8 {
            let r = net.receipt();
            recs.push(net.sign(
                "charity-federation",
                p::donation(r, fund.clone(), 100 + i as u64, i),
            ));
        }
        recs.push(net.sign("charity-federation", p::disbursement(fund.clone(), 1_500)));
        net.commit_all(&recs)?;
        if net.state.height.is_multiple_of(3) {
            net.store.flush()?;
            println!("flushed {}", net.state.height);
        }
    }
}
