//! Verifiable draws (SPEC §15) end to end on a dev chain, recomputed by an
//! independent implementation written here from the spec text alone (no
//! `shanlian_core::draw`), and the vectors the web page's JavaScript checks
//! too (`tests/data/draws/vectors.json`, rewritten with
//! `SHANLIAN_WRITE_VECTORS=1`).

use serde_json::json;
use shanlian_ledger::draw;
use shanlian_ledger::merkle::{Blake3Hasher, MerkleHasher};
use shanlian_ledger::record::*;
use shanlian_ledger::testkit::DevNet;
use shanlian_ledger::types::*;

/// SPEC §15, written from its text.
mod spec {
    fn lp(h: &mut blake3::Hasher, s: &str) {
        h.update(&(s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    }

    pub fn seed_commitment(draw: &str, seed: &[u8; 32]) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(b"shanlian/draw-seed/v1");
        h.update(&[0]);
        lp(&mut h, draw);
        h.update(seed);
        *h.finalize().as_bytes()
    }

    pub fn entry(identity: &str, salt: &[u8; 32]) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(b"shanlian/commitment/v1");
        h.update(&[0]);
        lp(&mut h, identity);
        h.update(salt);
        *h.finalize().as_bytes()
    }

    /// RFC 9162 MTH with BLAKE3: leaf H(0x00 ‖ d), node H(0x01 ‖ l ‖ r),
    /// split at the largest power of two below n.
    pub fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
        match leaves.len() {
            0 => *blake3::hash(b"").as_bytes(),
            1 => {
                let mut h = blake3::Hasher::new();
                h.update(&[0]);
                h.update(&leaves[0]);
                *h.finalize().as_bytes()
            }
            n => {
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                let (l, r) = (mth(&leaves[..k]), mth(&leaves[k..]));
                let mut h = blake3::Hasher::new();
                h.update(&[1]);
                h.update(&l);
                h.update(&r);
                *h.finalize().as_bytes()
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn beacon(
        draw: &str,
        root: &[u8; 32],
        entries: u64,
        winners: u32,
        block_hash: &[u8; 32],
        revealed: &[([u8; 20], [u8; 32])],
    ) -> [u8; 32] {
        let mut r = revealed.to_vec();
        r.sort();
        let mut h = blake3::Hasher::new();
        h.update(b"shanlian/draw-beacon/v1\0");
        lp(&mut h, draw);
        h.update(root);
        h.update(&entries.to_le_bytes());
        h.update(&winners.to_le_bytes());
        h.update(block_hash);
        h.update(&(r.len() as u32).to_le_bytes());
        for (a, s) in r {
            h.update(&a);
            h.update(&s);
        }
        *h.finalize().as_bytes()
    }

    /// Winners: a virtual array `0..n` shuffled in place for k steps.
    pub fn winners(beacon: &[u8; 32], n: u64, k: u32) -> Vec<u64> {
        let mut counter = 0u64;
        let mut next = || {
            let mut h = blake3::Hasher::new();
            h.update(beacon);
            h.update(&counter.to_le_bytes());
            counter += 1;
            u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().unwrap())
        };
        let mut uniform = |m: u64| -> u64 {
            // Accept x < 2^64 − (2^64 mod m).
            let bound: u128 = (1u128 << 64) - ((1u128 << 64) % u128::from(m));
            loop {
                let x = next();
                if u128::from(x) < bound {
                    return x % m;
                }
            }
        };
        let mut arr = std::collections::HashMap::new();
        let mut out = vec![];
        for i in 0..u64::from(k) {
            let j = i + uniform(n - i);
            let vi = *arr.get(&i).unwrap_or(&i);
            let vj = *arr.get(&j).unwrap_or(&j);
            arr.insert(i, vj);
            arr.insert(j, vi);
            out.push(vj);
        }
        out
    }
}

fn salt(i: u64) -> [u8; 32] {
    *blake3::hash(format!("salt {i}").as_bytes()).as_bytes()
}

/// The vectors: the spec implementation and the core agree on each, and the
/// file (read by the JavaScript tests) is current.
#[test]
fn draw_vectors() {
    let mut cases = Vec::new();
    for (draw_id, n, k, revealers) in [
        ("FC-DEMO-1", 5u64, 3u32, 3usize),
        ("FC-REWARD-2026-11", 1000, 10, 2),
        ("FC-GAME-7", 1, 1, 1),
        ("FC-ALL", 16, 16, 0),
    ] {
        let entries: Vec<(String, [u8; 32])> = (0..n)
            .map(|i| (format!("TICKET-{i:06}"), salt(i)))
            .collect();
        let commits: Vec<[u8; 32]> = entries.iter().map(|(e, s)| spec::entry(e, s)).collect();
        let root = spec::mth(&commits);
        let core_commits: Vec<Commitment> = entries
            .iter()
            .map(|(e, s)| draw::entry_commitment(e, s))
            .collect();
        assert_eq!(draw::entry_root(&core_commits), root, "{draw_id} root");
        let seeds: Vec<([u8; 20], [u8; 32])> = (0..revealers)
            .map(|i| ([(30 - i) as u8; 20], [(i + 1) as u8; 32]))
            .collect();
        let block_hash = *blake3::hash(draw_id.as_bytes()).as_bytes();
        let beacon = spec::beacon(draw_id, &root, n, k, &block_hash, &seeds);
        assert_eq!(
            draw::beacon(&draw::BeaconInput {
                draw: draw_id,
                entries_root: root,
                entries: n,
                winners: k,
                block_hash,
                revealed: seeds.iter().map(|(a, s)| (Address(*a), *s)).collect(),
            }),
            beacon
        );
        let winners = spec::winners(&beacon, n, k);
        assert_eq!(draw::winners(&beacon, n, k), winners, "{draw_id} winners");
        for (_, s) in &seeds {
            assert_eq!(
                draw::seed_commitment(draw_id, s),
                spec::seed_commitment(draw_id, s)
            );
        }
        cases.push(json!({
            "draw": draw_id,
            "entries": entries.iter().take(8).map(|(e, s)| json!({"entry": e, "salt": hex::encode(s)})).collect::<Vec<_>>(),
            "entry_commitments": commits.iter().take(8).map(hex::encode).collect::<Vec<_>>(),
            "entries_count": n,
            "entries_root": hex::encode(root),
            "winners_count": k,
            "block_hash": hex::encode(block_hash),
            "revealed": seeds.iter().map(|(a, s)| json!({
                "member": hex::encode(a),
                "seed": hex::encode(s),
                "seed_commitment": hex::encode(spec::seed_commitment(draw_id, s)),
            })).collect::<Vec<_>>(),
            "beacon": hex::encode(beacon),
            "winners": winners,
        }));
    }
    // SPEC §15.6 quotes the first case.
    let spec_text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/SPEC.md")).unwrap();
    let first = &cases[0];
    for key in ["entries_root", "beacon", "block_hash"] {
        let v = first[key].as_str().unwrap();
        assert!(spec_text.contains(v), "SPEC §15.6 lacks the {key} {v}");
    }
    for v in [
        &first["entry_commitments"][0],
        &first["revealed"][0]["seed_commitment"],
    ] {
        assert!(
            spec_text.contains(v.as_str().unwrap()),
            "SPEC §15.6 lacks {v}"
        );
    }
    let file = json!({
        "about": "Verifiable-draw vectors (docs/SPEC.md §15): entry commitments, the entry-set root, seed commitments, the beacon and the winners. Entries list at most the first 8 of a set; entry i is TICKET-<i, 6 digits> with salt blake3(\"salt <i>\"). Written by ledger/tests/it/draws.rs (SHANLIAN_WRITE_VECTORS=1).",
        "cases": cases,
    });
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/draws/vectors.json");
    let text = serde_json::to_string_pretty(&file).unwrap() + "\n";
    if std::env::var("SHANLIAN_WRITE_VECTORS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
        std::fs::write(path, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(on_disk, text, "{path} is stale: SHANLIAN_WRITE_VECTORS=1 cargo test -p shanlian-ledger --test it draw_vectors");
}

/// A whole draw on a dev chain: the centre, the auditor and an invited
/// charity commit; the charity withholds its reveal; the draw settles from
/// the other two seeds and the beacon block, and the independent
/// implementation gets the same winners. An entrant proves its entry is in
/// the set and whether it won; a tampered entry set is caught.
#[test]
fn a_draw_with_a_withheld_reveal_recomputed_independently() {
    let n = &mut DevNet::new().unwrap();
    n.commit(&[]).unwrap();
    let h = n.state.height;
    // 300 entrants, each committed with a salt only they (and the centre) hold.
    let entries: Vec<(String, [u8; 32])> = (0..300)
        .map(|i| (format!("440301199001{i:06}"), salt(i)))
        .collect();
    let commits: Vec<Commitment> = entries
        .iter()
        .map(|(e, s)| draw::entry_commitment(e, s))
        .collect();
    let root = draw::entry_root(&commits);
    let id = "FC-REWARD-2026-12";
    let seeds = [[0xa1u8; 32], [0xb2; 32], [0xc3; 32]];
    let red_cross = n.address("red-cross");
    let sign = |n: &mut DevNet, who: &str, p: Payload| {
        let r = n.sign(who, p);
        n.commit_all(std::slice::from_ref(&r)).unwrap();
    };
    sign(
        n,
        "lottery-centre",
        Payload::OpenDraw(OpenDraw {
            draw: DrawId(id.into()),
            draw_kind: DrawKind::Reward,
            title: "彩民回馈抽奖".into(),
            entries_root: root,
            entries: 300,
            winners: 5,
            closes: h + 3,
            reveal_by: h + 6,
            seed_commitment: draw::seed_commitment(id, &seeds[0]),
            invited: vec![red_cross],
        }),
    );
    for (who, seed) in [("auditor", &seeds[1]), ("red-cross", &seeds[2])] {
        sign(
            n,
            who,
            Payload::CommitDrawSeed(CommitDrawSeed {
                draw: DrawId(id.into()),
                seed_commitment: draw::seed_commitment(id, seed),
            }),
        );
    }
    while n.state.height < h + 4 {
        n.commit(&[]).unwrap();
    }
    for (who, seed) in [("lottery-centre", &seeds[0]), ("auditor", &seeds[1])] {
        sign(
            n,
            who,
            Payload::RevealDrawSeed(RevealDrawSeed {
                draw: DrawId(id.into()),
                seed: *seed,
            }),
        );
    }
    while n.state.height < h + 6 {
        n.commit(&[]).unwrap();
    }
    // Recompute from what the chain shows: the beacon block's header and
    // the revealed seeds.
    let block_hash = n.store.header(h + 4).unwrap().unwrap().hash();
    let revealed = [
        (n.address("lottery-centre").0, seeds[0]),
        (n.address("auditor").0, seeds[1]),
    ];
    let beacon = spec::beacon(id, &root, 300, 5, &block_hash, &revealed);
    let winners = spec::winners(&beacon, 300, 5);
    sign(
        n,
        "auditor",
        Payload::SettleDraw(SettleDraw {
            draw: DrawId(id.into()),
            winners: winners.clone(),
        }),
    );
    let d = n
        .state
        .tables
        .draws
        .get(&DrawId(id.into()))
        .unwrap()
        .clone();
    let out = d.outcome.unwrap();
    assert_eq!(out.winners, winners);
    assert_eq!(out.beacon, beacon);
    assert_eq!(out.withheld, vec![red_cross]);
    // The auditor's run recomputes the outcome and flags the withheld reveal.
    let audit = shanlian_ledger::audit::run(&n.store).unwrap();
    let draw_findings: Vec<&str> = audit
        .findings
        .iter()
        .filter(|f| f.subject == id)
        .map(|f| f.code)
        .collect();
    assert_eq!(draw_findings, vec!["draw.withheld"]);
    // An entrant: "was my entry in, and did I win?"
    let leaves = draw::entry_leaves(&commits);
    for (i, (identity, s)) in entries.iter().enumerate().take(40) {
        let path =
            shanlian_ledger::merkle::path_in_leaves::<Blake3Hasher>(&leaves, i as u64).unwrap();
        let c = draw::entry_commitment(identity, s);
        let computed = shanlian_ledger::merkle::root_from_inclusion_proof::<Blake3Hasher>(
            &Blake3Hasher::hash_leaf(&c.0),
            i as u64,
            300,
            &path,
        )
        .unwrap();
        assert_eq!(computed, d.entries_root);
        assert_eq!(
            out.winners.contains(&(i as u64)),
            winners.contains(&(i as u64))
        );
    }
    // A tampered entry set (one entrant swapped for another) no longer has
    // the published root, and the swapped entrant's proof fails.
    let mut tampered = commits.clone();
    tampered[7] = draw::entry_commitment("someone else", &salt(7));
    assert_ne!(draw::entry_root(&tampered), d.entries_root);
    let tl = draw::entry_leaves(&tampered);
    let path = shanlian_ledger::merkle::path_in_leaves::<Blake3Hasher>(&tl, 7).unwrap();
    let r =
        shanlian_ledger::merkle::root_from_inclusion_proof::<Blake3Hasher>(&tl[7], 7, 300, &path)
            .unwrap();
    assert_ne!(r, d.entries_root);
}

/// The demo year runs its reward draw to the end: settled, with 5 winners,
/// nobody withholding, and the demo donor's entry (entrant 0) provably in.
#[test]
fn the_demo_year_settles_its_draw() {
    use shanlian_ledger::demo;
    let mut net = DevNet::new().unwrap();
    let start = net.clock;
    demo::run_year(
        &mut shanlian_ledger::testkit::NetSink {
            net: &mut net,
            queue: Vec::new(),
        },
        start,
    )
    .unwrap();
    let d = net
        .state
        .tables
        .draws
        .get(&DrawId(demo::DRAW_ID.into()))
        .unwrap()
        .clone();
    let out = d.outcome.clone().expect("settled");
    assert_eq!(out.winners.len(), 5);
    assert!(out.withheld.is_empty());
    let entrants = demo::draw_entrants();
    let commits: Vec<Commitment> = entrants
        .iter()
        .map(|(e, s)| draw::entry_commitment(e, s))
        .collect();
    assert_eq!(draw::entry_root(&commits), d.entries_root);
    assert_eq!(
        entrants[0].0,
        demo::first_donor().1,
        "entrant 0 is the demo donor"
    );
}
