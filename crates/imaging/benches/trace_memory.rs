//! Memory of leak traces of a huge suspect: two traces at once of a marked
//! copy upscaled to 50 megapixels (a JPEG), each in a process of its own
//! measuring its peak RSS — ours (the suspect read at the clean display's
//! size) beside a whole decode of the suspect, the way traces read it
//! before. The target: two concurrent traces add at most 300 MiB, and still
//! find the buyer. `cargo bench -p imaging --bench trace_memory`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::peak_rss_mib;
use imaging::watermark::{self, MarkId, WatermarkKey};
use imaging::{Limits, samples};

const MARK: u64 = 0x00AB_CDEF_0123;

fn key() -> WatermarkKey {
    WatermarkKey::from_secret(&[7; 40])
}

/// Child mode: two traces at once, then "before after found found".
fn trace_twice(clean: &str, suspect: &str, whole: bool) {
    let (clean, suspect) = (std::fs::read(clean).unwrap(), std::fs::read(suspect).unwrap());
    let limits = Limits { max_pixels: 60_000_000, max_bytes: 100 << 20 };
    let before = peak_rss_mib();
    let found: Vec<Option<u64>> = std::thread::scope(|scope| {
        let traces: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let found = if whole {
                        let suspect = imaging::decode(&suspect, &limits).unwrap().1;
                        let clean = image::load_from_memory(&clean).unwrap().into_rgb8();
                        watermark::detect(&clean, &suspect, &key())
                    } else {
                        watermark::trace(&clean, &suspect, &limits, &key()).unwrap()
                    };
                    found.map(|d| d.id.get())
                })
            })
            .collect();
        traces.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let found: Vec<String> = found.iter().map(|f| f.map_or("none".into(), |id| format!("{id:x}"))).collect();
    println!("{before:.1} {:.1} {}", peak_rss_mib(), found.join(" "));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--trace-twice") {
        return trace_twice(&args[at + 1], &args[at + 2], args[at + 3] == "whole");
    }
    let dir = std::env::temp_dir().join(format!("shutter-trace-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let clean = samples::jpeg_of(&samples::landscape(1080, 720, 5), 82);
    let copies = watermark::marked_copies(&clean, &key(), MarkId::new(MARK).unwrap()).unwrap();
    let display = image::load_from_memory(&copies.display.jpeg).unwrap().into_rgb8();
    let huge = image::imageops::resize(&display, 8660, 5774, image::imageops::FilterType::Triangle);
    let suspect = samples::jpeg_of(&huge, 90);
    let (clean_path, suspect_path) = (dir.join("clean.jpg"), dir.join("suspect.jpg"));
    std::fs::write(&clean_path, &clean).unwrap();
    std::fs::write(&suspect_path, &suspect).unwrap();
    println!(
        "suspect: 8660×5774 ({:.1} MP) JPEG of a marked 1080×720 copy, {:.1} MiB",
        8660.0 * 5774.0 / 1e6,
        suspect.len() as f64 / 1_048_576.0
    );
    for (mode, name) in [("bounded", "ours (read at the display's size)"), ("whole", "whole decode (before)")]
    {
        let child = Command::new(&args[0])
            .args(["--trace-twice", clean_path.to_str().unwrap(), suspect_path.to_str().unwrap(), mode])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&child.stdout);
        let fields: Vec<&str> = out.split_whitespace().collect();
        let (before, after): (f64, f64) = (fields[0].parse().unwrap(), fields[1].parse().unwrap());
        println!(
            "{name}: two concurrent traces add {:.0} MiB peak RSS ({before:.0} → {after:.0}); found {}",
            after - before,
            fields[2..].join(", ")
        );
    }
    println!("target: ≤ 300 MiB added, mark {MARK:x} found by both");
    std::fs::remove_dir_all(&dir).ok();
}
