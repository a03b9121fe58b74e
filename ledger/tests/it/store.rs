//! The on-disk store (fjall; sled for folders created before it): reopen
//! resumes exactly, proofs verify against headers, and wrong use is refused.

use shanlian_ledger::genesis::dev_genesis;
use shanlian_ledger::state::Location;
use shanlian_ledger::store::query::{LedgerReader, Page, MAX_PAGE};
use shanlian_ledger::store::{Store, StoreError};
use shanlian_ledger::testkit::{payloads as p, DevNet};
use shanlian_ledger::types::*;

/// A small chain with every kind of traced flow.
pub fn build_chain(net: &mut DevNet, blocks: usize) -> Vec<shanlian_ledger::record::Record> {
    let start = net.clock;
    let end = Timestamp(start.0 + 86_400_000 * 365);
    let mut all = Vec::new();
    let regs = vec![
        net.sign("charity-federation", p::project("CF-1", start, end)),
        net.sign("red-cross", p::project("RC-1", start, end)),
    ];
    net.commit_all(&regs).unwrap();
    all.extend(regs);
    let cf = shanlian_ledger::types::FundRef::Project(ProjectId("CF-1".into()));
    for b in 0..blocks {
        let mut recs = Vec::new();
        for i in 0..5u64 {
            let r = net.receipt();
            recs.push(net.sign(
                "charity-federation",
                p::donation(r, cf.clone(), 1_000 + i, i as u8),
            ));
        }
        recs.push(net.sign("charity-federation", p::disbursement(cf.clone(), 2_000)));
        recs.push(net.sign("charity-federation", p::grant(cf.clone(), "RC-1", 500)));
        recs.push(net.sign(
            "lottery-centre",
            p::sales("SSQ", &format!("2026{b:03}"), 100_000),
        ));
        recs.push(net.sign(
            "lottery-centre",
            p::allocate(10_000, WelfarePurpose::Elderly, Some("RC-1")),
        ));
        net.commit_all(&recs).unwrap();
        all.extend(recs);
    }
    all
}

/// Opens a store just dropped in this process. sled's background flusher
/// may still hold the directory's lock for a moment after the last handle
/// is dropped (a node restarts as a new process and never meets this).
fn reopen(path: &std::path::Path) -> Store {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match Store::open(path) {
            Ok(s) => return s,
            Err(e) if std::time::Instant::now() > deadline => panic!("reopen: {e}"),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}

/// A data folder created before fjall holds a sled database: it still opens,
/// on sled, with its chain, goes on committing, and verifies.
#[test]
fn a_sled_store_from_before_fjall_still_opens_and_grows() {
    use shanlian_ledger::store::kv::SledKv;
    let dir = tempfile::tempdir().unwrap();
    let height = {
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let store = Store::on(std::sync::Arc::new(SledKv::open(db).unwrap()));
        let mut net = DevNet::on(store).unwrap();
        build_chain(&mut net, 3);
        net.store.flush().unwrap();
        net.state.height
    };
    assert!(Store::is_sled(dir.path()));
    let mut net = DevNet::on(reopen(dir.path())).unwrap();
    assert_eq!(net.state.height, height);
    let cf = FundRef::Project(ProjectId("CF-1".into()));
    let r = net.receipt();
    let more = vec![net.sign("charity-federation", p::donation(r, cf, 700, 1))];
    net.commit_all(&more).unwrap();
    net.store.flush().unwrap();
    assert!(net.state.height > height);
    assert!(
        Store::is_sled(dir.path()),
        "the folder was not converted behind the operator's back"
    );
    shanlian_ledger::verify::verify_store(&net.store, None, |_| {}).unwrap();
    // A new folder is fjall's.
    let fresh = tempfile::tempdir().unwrap();
    drop(Store::open(fresh.path()).unwrap());
    assert!(!Store::is_sled(fresh.path()));
}

/// A store copied into another engine holds the same chain: it verifies,
/// its tip and every stored entry are the same; an occupied store is not
/// copied into.
#[test]
fn a_store_copies_into_another_engine_whole() {
    let mut net = DevNet::on(Store::memory()).unwrap();
    build_chain(&mut net, 3);
    let copy = Store::temporary().unwrap();
    let n = net.store.copy_into(&copy).unwrap();
    assert!(n > 50, "{n} entries");
    let all = |s: &Store| -> Vec<_> { s.scan_range(&[], &[0xff]).map(Result::unwrap).collect() };
    assert_eq!(all(&copy), all(&net.store));
    assert_eq!(copy.tip().unwrap(), net.store.tip().unwrap());
    let report = shanlian_ledger::verify::verify_store(&copy, None, |_| {}).unwrap();
    assert_eq!(report.height, net.state.height);
    let e = net.store.copy_into(&copy).unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");
}

#[test]
fn reopen_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let (records, height, hash, entries) = {
        let mut net = DevNet::on(Store::open(dir.path()).unwrap()).unwrap();
        let records = build_chain(&mut net, 4);
        net.store.flush().unwrap();
        (
            records,
            net.state.height,
            net.state.state_hash,
            net.state.entries(),
        )
    };
    let mut net = DevNet::on(reopen(dir.path())).unwrap();
    assert_eq!(net.state.height, height);
    assert_eq!(net.state.state_hash, hash);
    assert_eq!(net.state.entries(), entries);
    // The replay window survived the restart: an old record is still a duplicate.
    let refused = net.commit(&records[3..4]).unwrap();
    assert_eq!(refused[0].1.code(), "record.duplicate");
    // Every record is provably in the log at the tip.
    let tip = net.store.header(net.state.height).unwrap().unwrap();
    for r in &records {
        let loc = net.store.location(&r.id).unwrap().unwrap();
        let (_, stored) = net.store.record(&r.id).unwrap().unwrap();
        assert_eq!(&stored, r);
        // Leaf index = log size before its block + index in block.
        let before = if loc.height == 1 {
            0
        } else {
            net.store.header(loc.height - 1).unwrap().unwrap().log_size
        };
        let index = before + loc.index as u64;
        let proof = net.store.inclusion_proof(index, tip.log_size).unwrap();
        proof.verify(&r.id.0, &tip.log_root).unwrap();
    }
    assert_eq!(net.store.log_root_at(tip.log_size).unwrap(), tip.log_root);
    // Indexes answer the questions donors and auditors ask.
    let fed = net.address("charity-federation");
    let cf = FundRef::Project(ProjectId("CF-1".into()));
    let all = |page: &dyn Fn(Option<Location>, usize) -> Page<Location>, size: usize| {
        // Every item once, in commit order, whatever the page size.
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let p = page(after, size);
            assert!(p.items.len() <= size);
            out.extend(p.items.iter().copied());
            match p.next {
                Some(n) => after = Some(n),
                None => return out,
            }
        }
    };
    let by_fund = |a, n| net.store.records_of_fund(&cf, a, n).unwrap();
    let whole = all(&by_fund, MAX_PAGE);
    assert_eq!(whole.len(), 1 + 4 * 7);
    assert!(whole
        .windows(2)
        .all(|w| (w[0].height, w[0].index) < (w[1].height, w[1].index)));
    for size in [1, 3, 7, 29] {
        assert_eq!(all(&by_fund, size), whole, "page size {size}");
    }
    let by_member = |a, n| net.store.records_of_member(&fed, a, n).unwrap();
    assert_eq!(all(&by_member, 4).len(), 1 + 4 * 7);
    let donor = shanlian_ledger::crypto::commitment("donor-0", &[0; 32]);
    let by_donor = |a, n| net.store.donations_by_donor(&donor, a, n).unwrap();
    assert_eq!(all(&by_donor, MAX_PAGE).len(), 4);
    assert_eq!(all(&by_donor, 1), all(&by_donor, MAX_PAGE));
    // Every stored record is found by id, at its log position.
    for h in 1..=tip.height {
        for (i, bytes) in net
            .store
            .block(h)
            .unwrap()
            .unwrap()
            .records
            .iter()
            .enumerate()
        {
            let id = RecordId::of_bytes(bytes);
            let c = net.store.committed(&id).unwrap().unwrap();
            assert_eq!((c.height, c.index), (h, i as u32));
            assert_eq!(net.store.committed_at(h, i as u32).unwrap(), Some(id));
        }
        let hash = net.store.header(h).unwrap().unwrap().hash();
        assert_eq!(net.store.height_of(&hash).unwrap(), Some(h));
        assert_eq!(
            net.store.validator_set_at(h).unwrap().hash(),
            net.store.header(h).unwrap().unwrap().validator_set_hash
        );
    }
}

#[test]
fn wrong_genesis_and_out_of_order_commits_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = DevNet::on(Store::open(dir.path()).unwrap()).unwrap();
    build_chain(&mut net, 1);
    let (mut other, _) = dev_genesis();
    other.chain_id = "another-chain".into();
    assert!(matches!(
        net.store.open_state(&other),
        Err(StoreError::GenesisMismatch { .. })
    ));
    let block = net.store.block(2).unwrap().unwrap();
    let cert = net.store.certificate(2).unwrap().unwrap();
    let tr = shanlian_ledger::state::Transition {
        height: 2,
        ..Default::default()
    };
    assert!(matches!(
        net.store.commit(&block, &cert, &tr),
        Err(StoreError::NotNext { tip: 2, got: 2 })
    ));
}

/// Corrections and findings are found beside the record they name, in
/// commit order; other records have none.
#[test]
fn annotations_are_indexed_by_target() {
    use shanlian_ledger::record::{Correction, Finding, Payload};
    let mut net = DevNet::on(Store::memory()).unwrap();
    let fund = FundRef::General(net.address("charity-federation"));
    let r = net.receipt();
    let d = net.sign("charity-federation", p::donation(r, fund, 1_000, 1));
    net.commit_all(std::slice::from_ref(&d)).unwrap();
    let c = net.sign(
        "charity-federation",
        Payload::Correction(Correction {
            target: d.id,
            field: "channel".into(),
            corrected: "BankTransfer".into(),
            reason: "entered wrongly".into(),
        }),
    );
    let f = net.sign(
        "auditor",
        Payload::Finding(Finding {
            target: d.id,
            severity: Severity::Minor,
            text: "channel corrected after the fact".into(),
        }),
    );
    net.commit_all(std::slice::from_ref(&c)).unwrap();
    net.commit_all(std::slice::from_ref(&f)).unwrap();
    let got: Vec<RecordId> = net
        .store
        .annotations(&d.id)
        .unwrap()
        .into_iter()
        .map(|l| net.store.record_at(l).unwrap().unwrap().id)
        .collect();
    assert_eq!(got, vec![c.id, f.id]);
    assert!(net.store.annotations(&c.id).unwrap().is_empty());
}

/// The log tiles a store writes block by block (from the nodes each
/// block's check completed while it hashed the log) equal the tiles of
/// one append of every record id from scratch, across tile boundaries
/// that fall inside blocks; every record's inclusion proof, read through
/// them, verifies at the tip, and the replay agrees.
#[test]
fn log_tiles_written_per_block_equal_one_append_from_scratch() {
    use shanlian_ledger::merkle::{self, Blake3Hasher, Frontier, MemTiles, TileReader};
    let mut net = DevNet::on(Store::memory()).unwrap();
    let fund = FundRef::General(net.address("red-cross"));
    let mut ids = Vec::new();
    // 7 blocks of 97: the 256-leaf tile boundaries fall inside blocks,
    // and band 1 gains two nodes.
    for _ in 0..7 {
        let recs: Vec<_> = (0..97)
            .map(|i| {
                let r = net.receipt();
                net.sign("red-cross", p::donation(r, fund.clone(), 100 + i, 1))
            })
            .collect();
        net.commit_all(&recs).unwrap();
        ids.extend(recs.iter().map(|r| r.id.0));
    }
    let tip = net.store.header(net.state.height).unwrap().unwrap();
    let before = tip.log_size - ids.len() as u64;
    // From scratch: the log before these blocks, then all of them at once.
    let mut log = Frontier::<Blake3Hasher>::new();
    let mut scratch = MemTiles::new();
    for h in 1..=net.state.height {
        let block = net.store.block(h).unwrap().unwrap();
        if block.header.log_size <= before {
            for r in shanlian_ledger::chain::decode_records(&block, 4096).unwrap() {
                scratch.apply(merkle::append_batch(&mut log, &scratch, &[r.id.0]).unwrap());
            }
        }
    }
    assert_eq!(log.size(), before);
    scratch.apply(merkle::append_batch(&mut log, &scratch, &ids).unwrap());
    assert_eq!(log.root(), tip.log_root);
    assert!(
        scratch.tiles.keys().any(|t| t.band == 1),
        "{:?}",
        scratch.tiles.keys()
    );
    assert!(scratch.tiles.len() >= 4, "{:?}", scratch.tiles.keys());
    for (id, tile) in &scratch.tiles {
        assert_eq!(
            net.store.tile(*id).unwrap().as_ref(),
            Some(tile),
            "tile {id:?}"
        );
    }
    for (i, id) in ids.iter().enumerate() {
        let proof = net
            .store
            .inclusion_proof(before + i as u64, tip.log_size)
            .unwrap();
        proof.verify(id, &tip.log_root).unwrap();
    }
    shanlian_ledger::verify::verify_store(&net.store, None, |_| {}).unwrap();
}
