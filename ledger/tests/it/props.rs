//! Property tests over random record sequences on a real (temporary) store:
//! money is conserved per fund, charity and pool; FIFO allocations equal a
//! naive reference model pair by pair and sum to the outflows; refusals
//! change nothing; the log is append-only across every stored height.

use proptest::prelude::*;
use shanlian_ledger::testkit::{payloads as p, DevNet};
use shanlian_ledger::trace;
use shanlian_ledger::tracing::{self, Direction, What};
use shanlian_ledger::types::*;
use std::collections::{HashMap, VecDeque};

const CHARITIES: [&str; 2] = ["charity-federation", "red-cross"];

#[derive(Debug, Clone)]
enum Op {
    Donate {
        charity: usize,
        project: bool,
        amount: u64,
    },
    Disburse {
        charity: usize,
        project: bool,
        amount: u64,
    },
    Refund {
        pick: usize,
        amount: u64,
    },
    Grant {
        from: usize,
        project: bool,
        amount: u64,
    },
    Sales {
        amount: u64,
    },
    Allocate {
        amount: u64,
        to_project: Option<usize>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2usize, any::<bool>(), 1..5_000u64).prop_map(|(charity, project, amount)| Op::Donate { charity, project, amount }),
        3 => (0..2usize, any::<bool>(), 1..8_000u64).prop_map(|(charity, project, amount)| Op::Disburse { charity, project, amount }),
        2 => (any::<usize>(), 1..3_000u64).prop_map(|(pick, amount)| Op::Refund { pick, amount }),
        1 => (0..2usize, any::<bool>(), 1..4_000u64).prop_map(|(from, project, amount)| Op::Grant { from, project, amount }),
        1 => (1..100_000u64).prop_map(|amount| Op::Sales { amount }),
        1 => (1..20_000u64, proptest::option::of(0..2usize)).prop_map(|(amount, to_project)| Op::Allocate { amount, to_project }),
    ]
}

/// The obvious FIFO: a queue of (source, remaining) per fund.
#[derive(Default)]
struct Model {
    queues: HashMap<FundRef, VecDeque<(RecordId, u64)>>,
    /// (source, outflow) → amount
    alloc: HashMap<(RecordId, RecordId), u64>,
    /// donation → (fund, remaining unconsumed)
    donations: HashMap<RecordId, FundRef>,
}

impl Model {
    fn balance(&self, f: &FundRef) -> u64 {
        self.queues
            .get(f)
            .map(|q| q.iter().map(|x| x.1).sum())
            .unwrap_or(0)
    }
    fn inflow(&mut self, f: &FundRef, id: RecordId, amount: u64) {
        self.queues
            .entry(f.clone())
            .or_default()
            .push_back((id, amount));
    }
    fn outflow(&mut self, f: &FundRef, id: RecordId, mut amount: u64) {
        let q = self.queues.entry(f.clone()).or_default();
        while amount > 0 {
            let front = q.front_mut().expect("balance checked");
            let take = front.1.min(amount);
            if take > 0 {
                *self.alloc.entry((front.0, id)).or_default() += take;
            }
            front.1 -= take;
            amount -= take;
            if front.1 == 0 {
                q.pop_front();
            }
        }
    }
    fn remaining(&self, f: &FundRef, id: &RecordId) -> u64 {
        self.queues
            .get(f)
            .and_then(|q| q.iter().find(|x| &x.0 == id))
            .map(|x| x.1)
            .unwrap_or(0)
    }
    fn refund(&mut self, f: &FundRef, id: &RecordId, amount: u64) {
        if let Some(e) = self
            .queues
            .get_mut(f)
            .and_then(|q| q.iter_mut().find(|x| &x.0 == id))
        {
            e.1 -= amount;
        }
    }
}

/// Charity `c`'s project fund or its general fund.
fn fund_of(net: &DevNet, c: usize, project: bool) -> FundRef {
    if project {
        project_of(c)
    } else {
        FundRef::General(net.address(CHARITIES[c]))
    }
}

fn project_of(c: usize) -> FundRef {
    FundRef::Project(ProjectId(format!("PRJ-{c}")))
}

fn run(ops: Vec<Op>, block_sizes: Vec<usize>) -> Result<(), TestCaseError> {
    let mut net = DevNet::new().unwrap();
    let start = net.clock;
    let regs: Vec<_> = (0..2)
        .map(|c| {
            net.sign(
                CHARITIES[c],
                p::project(
                    &format!("PRJ-{c}"),
                    start,
                    Timestamp(start.0 + 86_400_000 * 365),
                ),
            )
        })
        .collect();
    net.commit_all(&regs).unwrap();
    let mut model = Model::default();
    let mut receipts: Vec<(usize, ReceiptNo, RecordId, FundRef)> = Vec::new();
    let mut ops = ops.into_iter();
    let mut sizes = block_sizes.into_iter().cycle();
    loop {
        let n = sizes.next().unwrap_or(3);
        let batch: Vec<Op> = ops.by_ref().take(n).collect();
        if batch.is_empty() {
            break;
        }
        let mut recs = Vec::new();
        let mut targets: HashMap<RecordId, usize> = HashMap::new();
        // Ops in one block see the model as the block builds, so feed the
        // ledger one record at a time and mirror what it accepted.
        for o in batch {
            let (rec, fund) = match &o {
                Op::Donate {
                    charity,
                    project,
                    amount,
                } => {
                    let f = fund_of(&net, *charity, *project);
                    let r = net.receipt();
                    let rec = net.sign(
                        CHARITIES[*charity],
                        p::donation(r.clone(), f.clone(), *amount, 1),
                    );
                    receipts.push((*charity, r, rec.id, f.clone()));
                    (rec, f)
                }
                Op::Disburse {
                    charity,
                    project,
                    amount,
                } => {
                    let f = fund_of(&net, *charity, *project);
                    (
                        net.sign(CHARITIES[*charity], p::disbursement(f.clone(), *amount)),
                        f,
                    )
                }
                Op::Refund { pick, amount } => {
                    if receipts.is_empty() {
                        continue;
                    }
                    let i = pick % receipts.len();
                    let (c, r, _, f) = receipts[i].clone();
                    let rec = net.sign(CHARITIES[c], p::refund(r, *amount));
                    targets.insert(rec.id, i);
                    (rec, f)
                }
                Op::Grant {
                    from,
                    project,
                    amount,
                } => {
                    let f = fund_of(&net, *from, *project);
                    (
                        net.sign(
                            CHARITIES[*from],
                            p::grant(f.clone(), &format!("PRJ-{}", 1 - from), *amount),
                        ),
                        f,
                    )
                }
                Op::Sales { amount } => {
                    let period = format!("P{}", net.receipt());
                    (
                        net.sign("lottery-centre", p::sales("KL8", &period, *amount)),
                        FundRef::WelfarePool,
                    )
                }
                Op::Allocate { amount, to_project } => {
                    let to = to_project.map(|c| format!("PRJ-{c}"));
                    (
                        net.sign(
                            "lottery-centre",
                            p::allocate(*amount, WelfarePurpose::Elderly, to.as_deref()),
                        ),
                        FundRef::WelfarePool,
                    )
                }
            };
            recs.push((o, rec, fund));
        }
        let records: Vec<_> = recs.iter().map(|r| r.1.clone()).collect();
        let refused = net.commit(&records).unwrap();
        let refused: HashMap<RecordId, String> = refused
            .into_iter()
            .map(|(id, e)| (id, e.code().to_string()))
            .collect();
        for (o, rec, fund) in &recs {
            let expect_ok = match o {
                Op::Donate { .. } | Op::Sales { .. } => true,
                Op::Disburse { amount, .. } => model.balance(fund) >= *amount,
                Op::Grant { amount, .. } => model.balance(fund) >= *amount,
                Op::Allocate { amount, .. } => model.balance(fund) >= *amount,
                Op::Refund { amount, .. } => {
                    let (_, _, id, f) = &receipts[targets[&rec.id]];
                    model.remaining(f, id) >= *amount
                }
            };
            prop_assert_eq!(
                expect_ok,
                !refused.contains_key(&rec.id),
                "{:?}: {:?}",
                o,
                refused.get(&rec.id)
            );
            if !expect_ok {
                let code = &refused[&rec.id];
                prop_assert!(
                    [
                        "fund.insufficient",
                        "refund.exceeds_donation",
                        "lottery.insufficient_welfare_pool"
                    ]
                    .contains(&code.as_str()),
                    "{code}"
                );
                continue;
            }
            match o {
                Op::Donate { amount, .. } => {
                    model.inflow(fund, rec.id, *amount);
                    model.donations.insert(rec.id, fund.clone());
                }
                Op::Disburse { amount, .. } => model.outflow(fund, rec.id, *amount),
                Op::Refund { amount, .. } => {
                    let (_, _, id, f) = receipts[targets[&rec.id]].clone();
                    model.refund(&f, &id, *amount);
                }
                Op::Grant { from, amount, .. } => {
                    model.outflow(fund, rec.id, *amount);
                    model.inflow(&project_of(1 - from), rec.id, *amount);
                }
                Op::Sales { amount } => {
                    let game = net.genesis.game(&GameId("KL8".into())).unwrap().clone();
                    let split = shanlian_ledger::lottery::split_sales(&game, Fen(*amount));
                    model.inflow(fund, rec.id, split.welfare_local.0);
                }
                Op::Allocate { amount, to_project } => {
                    model.outflow(fund, rec.id, *amount);
                    if let Some(c) = to_project {
                        model.inflow(&project_of(*c), rec.id, *amount);
                    }
                }
            }
        }
        // Conservation after every block.
        let mut total_in = 0u64;
        let mut total_out = 0u64;
        for (f, fs) in net.state.tables.funds.iter() {
            prop_assert_eq!(fs.balance().0, model.balance(f), "fund {:?}", f);
            prop_assert_eq!(fs.inflow, fs.refunded + fs.outflow + fs.balance().0);
            total_in += fs.inflow;
            total_out += fs.refunded + fs.outflow;
        }
        prop_assert!(total_in >= total_out);
        for (_, g) in net.state.tables.games.iter() {
            prop_assert_eq!(
                g.sales.0,
                g.prize.0 + g.issuance_fee.0 + g.welfare_central.0 + g.welfare_local.0
            );
        }
    }

    // Tracing: every donation's direct allocations equal the model's, what
    // is left in its own fund equals the model's remaining, money is
    // conserved at every hop, and the trace proof of each verifies against
    // the genesis alone to the same answer.
    let genesis = net.store.genesis().unwrap().unwrap();
    for (c, receipt, id, fund) in &receipts {
        let Some(t) =
            trace::trace_donation(&net.store, &net.address(CHARITIES[*c]), receipt).unwrap()
        else {
            continue;
        };
        let steps = &t.flow.steps;
        let mut got: HashMap<RecordId, u64> = HashMap::new();
        for s in steps.iter().filter(|s| s.depth == 0) {
            if let What::Spent { outflow, .. } = s.what {
                *got.entry(outflow).or_default() += s.amount.0;
            }
        }
        let want: HashMap<RecordId, u64> = model
            .alloc
            .iter()
            .filter(|((s, _), a)| s == id && **a > 0)
            .map(|((_, o), a)| (*o, *a))
            .collect();
        prop_assert_eq!(&got, &want, "allocations of donation {}", receipt);
        prop_assert!(steps
            .iter()
            .filter(|s| s.depth == 0)
            .all(|s| &s.fund == fund));
        prop_assert_eq!(
            t.flow.total(0, |w| *w == What::NotShownSpent),
            model.remaining(fund, id),
            "donation {} in {:?}: {:?}",
            receipt,
            fund,
            t
        );
        prop_assert_eq!(
            t.flow.total(0, |w| matches!(w, What::Refunded { .. })),
            t.donation.refunded.0
        );
        // Conservation: the donation's amount is spent, refunded or still
        // there; what each followed grant carried is accounted for one
        // hop down.
        let depth0: u64 = steps
            .iter()
            .filter(|s| s.depth == 0)
            .map(|s| s.amount.0)
            .sum();
        prop_assert_eq!(depth0, t.donation.amount.0);
        for d in 0..tracing::MAX_DEPTH {
            let followed: u64 = steps
                .iter()
                .filter(|s| s.depth == d)
                .filter(|s| matches!(s.what, What::Spent { followed: true, .. }))
                .map(|s| s.amount.0)
                .sum();
            let below: u64 = steps
                .iter()
                .filter(|s| s.depth == d + 1)
                .map(|s| s.amount.0)
                .sum();
            prop_assert_eq!(followed, below, "hop {} of {}", d, receipt);
        }
        let proof = net.store.trace_proof(id, Direction::Forward).unwrap();
        let proved = tracing::verify(&genesis, &proof).unwrap();
        prop_assert_eq!(&proved.steps, steps);
        for s in steps {
            if let What::Spent { outflow, .. } = &s.what {
                prop_assert!(proved.records.contains_key(outflow));
            }
        }
    }

    // The reverse question: what each outflow drew on equals the model's
    // pairs for it, and its proof verifies to the same answer.
    let outflows: std::collections::BTreeSet<RecordId> =
        model.alloc.keys().map(|(_, o)| *o).collect();
    for o in &outflows {
        let sources = trace::sources_of_record(&net.store, o).unwrap();
        let mut got: HashMap<RecordId, u64> = HashMap::new();
        for s in &sources {
            *got.entry(s.record).or_default() += s.amount.0;
        }
        let want: HashMap<RecordId, u64> = model
            .alloc
            .iter()
            .filter(|((_, x), a)| x == o && **a > 0)
            .map(|((s, _), a)| (*s, *a))
            .collect();
        prop_assert_eq!(&got, &want, "sources of outflow {}", o);
        let proof = net.store.trace_proof(o, Direction::Reverse).unwrap();
        prop_assert_eq!(tracing::verify(&genesis, &proof).unwrap().sources, sources);
    }

    // Append-only log: every stored root is consistent with every later one.
    let tip = net.state.height;
    let headers: Vec<_> = (1..=tip)
        .map(|h| net.store.header(h).unwrap().unwrap())
        .collect();
    for a in &headers {
        for b in headers.iter().filter(|b| b.height >= a.height) {
            if a.log_size == 0 {
                continue;
            }
            let proof = net.store.consistency_proof(a.log_size, b.log_size).unwrap();
            prop_assert!(proof.verify(&a.log_root, &b.log_root).is_ok());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn money_is_conserved_and_fifo_matches_the_model(
        ops in proptest::collection::vec(op(), 1..80),
        sizes in proptest::collection::vec(1..6usize, 1..5),
    ) {
        run(ops, sizes)?;
    }
}

/// One governance action of a random history.
#[derive(Debug, Clone)]
enum Gov {
    /// Give member `m` (of the six dev members and two admitted later)
    /// `power` from `delay` heights on.
    SetPower { m: usize, power: u64, delay: u64 },
    /// Rotate member `m`'s key (refused while it has or awaits power).
    Rotate { m: usize },
    /// Admit the next new member.
    Admit,
    /// An empty block.
    Idle,
}

fn gov() -> impl Strategy<Value = Gov> {
    prop_oneof![
        4 => (0..8usize, 0..4u64, 2..5u64).prop_map(|(m, power, delay)| Gov::SetPower { m, power, delay }),
        2 => (0..8usize).prop_map(|m| Gov::Rotate { m }),
        1 => Just(Gov::Admit),
        2 => Just(Gov::Idle),
    ]
}

/// The light client's tracker, fed only the committed governance records,
/// computes the validator set the state machine computes, at every height.
fn tracker_agrees(history: Vec<Gov>) -> Result<(), TestCaseError> {
    use shanlian_ledger::crypto::{Domain, Keypair};
    use shanlian_ledger::record::{AdmitMember, Payload, RotateKey, SetValidator};
    use shanlian_ledger::validators::ValidatorTracker;
    let mut net = DevNet::on(shanlian_ledger::store::Store::memory()).unwrap();
    let mut tracker = ValidatorTracker::from_genesis(&net.genesis);
    let labels = [
        "bureau",
        "charity-federation",
        "red-cross",
        "one-foundation",
        "lottery-centre",
        "auditor",
    ];
    let mut keys: Vec<Keypair> = labels
        .iter()
        .map(|l| Keypair::from_seed(net.key(l).seed()))
        .collect();
    let mut addresses: Vec<Address> = labels.iter().map(|l| net.address(l)).collect();
    let mut admitted = 0u32;
    for (n, g) in history.into_iter().enumerate() {
        let h = net.state.height + 1;
        let record = match g {
            Gov::SetPower { m, power, delay } if m < addresses.len() => Some(net.sign(
                "bureau",
                Payload::SetValidator(SetValidator {
                    member: addresses[m],
                    power,
                    effective_height: h + delay,
                }),
            )),
            Gov::Rotate { m } if m < addresses.len() => {
                let new =
                    Keypair::from_seed(*blake3::hash(format!("rotated-{n}").as_bytes()).as_bytes());
                let consent = keys[m].sign(
                    Domain::RotateKey,
                    &net.genesis_hash,
                    &RotateKey::consent_bytes(&addresses[m], &new.public()),
                );
                let r = net.sign(
                    "bureau",
                    Payload::RotateKey(RotateKey {
                        member: addresses[m],
                        new_key: new.public(),
                        old_key_signature: consent,
                    }),
                );
                Some((r, new)).map(|(r, new)| {
                    keys.push(new); // kept aside; swapped in below if committed
                    r
                })
            }
            Gov::Admit if admitted < 2 => {
                admitted += 1;
                let k = Keypair::from_seed(
                    *blake3::hash(format!("admitted-{admitted}").as_bytes()).as_bytes(),
                );
                let r = net.sign(
                    "bureau",
                    Payload::AdmitMember(AdmitMember {
                        public_key: k.public(),
                        role: Role::Charity,
                        name: format!("admitted {admitted}"),
                        uscc: Uscc("91350100M000100Y43".into()),
                        node: NodeKey([admitted as u8; 32]),
                    }),
                );
                addresses.push(Address::of_key(&k.public()));
                keys.push(Keypair::from_seed(k.seed()));
                Some(r)
            }
            _ => None,
        };
        let records: Vec<_> = record.into_iter().collect();
        let refused = net.commit(&records).unwrap();
        if let Some(r) = records.first() {
            let committed = refused.is_empty();
            match (&r.signed.body.payload, committed) {
                (Payload::RotateKey(rot), true) => {
                    let m = addresses.iter().position(|a| *a == rot.member).unwrap();
                    let new = keys.pop().unwrap();
                    keys[m] = new;
                }
                (Payload::RotateKey(_), false) => {
                    keys.pop();
                }
                (Payload::AdmitMember(_), false) => {
                    addresses.pop();
                    keys.pop();
                }
                _ => {}
            }
            if committed {
                tracker.apply(&r.signed.body.payload, h).unwrap();
            }
        }
        // Every height from here to a few ahead: the state's view (current
        // powers plus pending changes) equals the tracker's.
        for ahead in 1..=5 {
            let at = net.state.height + ahead;
            prop_assert_eq!(
                tracker.set_at(at),
                net.state.validator_set(at),
                "height {}",
                at
            );
        }
    }
    // And, knowing the whole history, the set of every past height is the
    // one its header committed to (what a bundle verifier checks).
    for h in 1..=net.state.height {
        let header = net.store.header(h).unwrap().unwrap();
        prop_assert_eq!(
            tracker.set_at(h).hash(),
            header.validator_set_hash,
            "height {}",
            h
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    #[test]
    fn tracker_follows_the_validator_set(history in proptest::collection::vec(gov(), 1..40)) {
        tracker_agrees(history)?;
    }
}
