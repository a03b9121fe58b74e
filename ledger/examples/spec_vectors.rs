//! Prints the byte-level examples of docs/SPEC.md (label and hex).
//! `cargo run -p shanlian-ledger --example spec_vectors`
fn main() {
    for (label, hex) in shanlian_ledger::testkit::spec_vectors() {
        println!("{label}: {hex}");
    }
}
