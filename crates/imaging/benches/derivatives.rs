//! Derivatives of one 12-megapixel JPEG on one core, beside `vipsthumbnail`
//! (Debian `libvips-tools`) doing the same three sizes in the same run, and
//! our peak memory for it. `cargo bench -p imaging`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::peak_rss_mib;
use imaging::{Limits, process, samples};

const RUNS: usize = 5;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    // Child mode: process one file once and report peak memory, so the
    // figure is ours alone (not the sample generation's).
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|a| a == "--process-once") {
        let bytes = std::fs::read(&args[position + 1]).unwrap();
        let before = peak_rss_mib();
        process(&bytes, &Limits::default()).unwrap();
        println!("{before:.1} {:.1}", peak_rss_mib());
        return;
    }

    let dir = std::env::temp_dir().join(format!("shutter-imaging-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("photo.jpg");
    let bytes = samples::jpeg_with_exif(4000, 3000, 1);
    std::fs::write(&photo, &bytes).unwrap();
    println!("input: 4000×3000 JPEG, {:.1} MiB", bytes.len() as f64 / 1_048_576.0);

    let ours = median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                let out = process(&bytes, &Limits::default()).unwrap();
                assert_eq!(out.display.width, 1080);
                started.elapsed()
            })
            .collect(),
    );
    let child = Command::new(&args[0]).args(["--process-once", photo.to_str().unwrap()]).output().unwrap();
    let memory = String::from_utf8_lossy(&child.stdout).trim().to_owned();
    println!(
        "ours (decode, orient, 1080 + 320 + 32 px, blur, BlurHash, 3 JPEG encodes), one thread: median {:.0} ms of {RUNS}",
        ours.as_secs_f64() * 1000.0
    );
    println!("ours, peak RSS of a process doing it once (before → after, MiB): {memory}");

    let vips = median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                for (size, name) in [("1080", "d.jpg[Q=82]"), ("320", "t.jpg[Q=80]"), ("32", "p.jpg[Q=60]")] {
                    let status = Command::new("vipsthumbnail")
                        .env("VIPS_CONCURRENCY", "1")
                        .args([photo.to_str().unwrap(), "-s", size, "-o", dir.join(name).to_str().unwrap()])
                        .status();
                    if !status.is_ok_and(|s| s.success()) {
                        return None;
                    }
                }
                Some(started.elapsed())
            })
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default(),
    );
    match vips {
        v if v.is_zero() => println!("vipsthumbnail: not installed (apt-get install libvips-tools)"),
        v => println!(
            "vipsthumbnail, the same three sizes (three runs of the tool, VIPS_CONCURRENCY=1): median {:.0} ms → ours is {:.2}× its time",
            v.as_secs_f64() * 1000.0,
            ours.as_secs_f64() / v.as_secs_f64()
        ),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
