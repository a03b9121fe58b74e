//! docs/SPEC.md cannot drift from the code: every example vector the code
//! produces must appear in the spec verbatim, under its label.

#[test]
fn spec_lists_every_vector() {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/SPEC.md"))
        .expect("docs/SPEC.md");
    let flat: String = spec.split_whitespace().collect::<Vec<_>>().join(" ");
    for (label, hex) in shanlian_ledger::testkit::spec_vectors() {
        let needle = format!("{label}: {hex}");
        assert!(
            flat.contains(&needle),
            "docs/SPEC.md lacks or has a stale `{label}` vector:\n{needle}"
        );
    }
}
