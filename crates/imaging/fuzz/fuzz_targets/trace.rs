//! A leak trace on arbitrary bytes: decode within the limits, register on a
//! marked photo, read the mark. It must never panic, and never attribute.
//! Run: `cargo +nightly fuzz run trace corpus/process` in crates/imaging.
#![no_main]

use std::sync::OnceLock;

use imaging::Limits;
use imaging::watermark::{WatermarkKey, trace};
use libfuzzer_sys::fuzz_target;

fn clean() -> &'static Vec<u8> {
    static CLEAN: OnceLock<Vec<u8>> = OnceLock::new();
    CLEAN.get_or_init(|| imaging::samples::jpeg(320, 240))
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_pixels: 4_000_000, max_bytes: 1 << 20 };
    let key = WatermarkKey::from_secret(b"fuzz");
    // Nothing the fuzzer makes was marked with this key.
    let traced = trace(clean(), data, &limits, &key);
    assert!(!matches!(traced, Ok(Some(_))), "attributed: {traced:?}");
});
