#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| shanlian_ledger::testkit::fuzz::trace_json(data));
