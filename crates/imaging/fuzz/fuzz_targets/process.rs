//! The whole upload path on arbitrary bytes: identify, limits, decode,
//! orient, resize, encode. It must never panic, and never take more memory
//! than the limits allow. Run: `cargo +nightly fuzz run process` in crates/imaging.
#![no_main]

use imaging::{Limits, process};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Smaller limits than production keep each run fast; the checks are the same.
    let limits = Limits { max_pixels: 4_000_000, max_bytes: 1 << 20 };
    let _ = process(data, &limits);
});
