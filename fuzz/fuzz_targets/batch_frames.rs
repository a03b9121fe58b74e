#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| shanlian_ledger::testkit::fuzz::batch_frames(data));
