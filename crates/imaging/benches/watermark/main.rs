//! The forensic watermark against the attacks a leaker uses, beside
//! invisible-watermark (imwatermark, dwtDct and dwtDctSvd) on the same photos,
//! payloads and attacked pixels. Prints one table.
//!
//!   cargo bench -p imaging --bench watermark
//!
//! WATERMARK_COPIES (default 8) marked copies per photo; WATERMARK_ANCHOR=0
//! skips imwatermark; WATERMARK_VERBOSE=1 prints every copy's figures. The corpus is scikit-image's sample photographs
//! upscaled to 1600 px (made by anchor.py through `scripts/bootstrap --bench`),
//! each turned into the 1080-px display derivative uploads get.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod anchor;
mod quality;

use std::path::Path;
use std::time::Instant;

use image::RgbImage;
use imaging::attacks::{ALL, Attack};
use imaging::watermark::{self, Comparison, MarkId, PILOT_THRESHOLD, WatermarkKey};
use rand::{Rng, SeedableRng};

/// Keys that did not mark a copy, each tried on every attacked copy.
const OTHER_KEYS: usize = 8;

struct Copy {
    /// Its photo: an index into the clean derivatives.
    photo: usize,
    id: MarkId,
    /// As served: marked, then JPEG q90.
    served: RgbImage,
}

#[derive(Default, Clone, Copy)]
struct Tally {
    exact: u32,
    wrong: u32,
    missed: u32,
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let copies_per_photo: usize = env_or("WATERMARK_COPIES", 8);
    let with_anchor = env_or("WATERMARK_ANCHOR", 1) == 1;
    let verbose = env_or("WATERMARK_VERBOSE", 0) == 1;
    let python = root.join(".tools/watermark/bin/python");
    let work = std::env::temp_dir().join(format!("shutter-watermark-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("work dir");
    let photos = anchor::corpus(&root, &python, &work.join("corpus"));
    let key = WatermarkKey::new(rand::rngs::StdRng::seed_from_u64(1).random());
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let other_keys: Vec<WatermarkKey> = (0..OTHER_KEYS).map(|_| WatermarkKey::new(rng.random())).collect();

    let mut copies = Vec::new();
    let mut cleans = Vec::new();
    let (mut embed_ms, mut psnr, mut ssim, mut copy_ms) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (name, path) in &photos {
        let clean_jpeg = display_jpeg(path);
        let started = Instant::now();
        let made = watermark::marked_copies(&clean_jpeg, &key, MarkId::new(7).expect("id"));
        copy_ms.push(started.elapsed().as_secs_f64() * 1e3);
        assert!(made.is_ok(), "a buyer's copies of {name}");
        let clean = image::load_from_memory(&clean_jpeg).expect("display").into_rgb8();
        for _ in 0..copies_per_photo {
            let id = MarkId::new(rng.random_range(0..=MarkId::MAX)).expect("48 bits");
            let mut marked = clean.clone();
            let started = Instant::now();
            watermark::embed(&mut marked, &key, id);
            embed_ms.push(started.elapsed().as_secs_f64() * 1e3);
            psnr.push(quality::psnr(&clean, &marked));
            ssim.push(quality::ssim(&clean, &marked));
            if verbose {
                eprintln!("{name}: PSNR {:.1} dB, SSIM {:.4}", psnr[psnr.len() - 1], ssim[ssim.len() - 1]);
            }
            let served = imaging::attacks::jpeg(&marked, 90);
            copies.push(Copy { photo: cleans.len(), id, served });
        }
        cleans.push((name.clone(), clean));
    }
    eprintln!("{} photos, {} marked copies; detecting…", photos.len(), copies.len());

    let mut ours = vec![Tally::default(); ALL.len()];
    let mut detect_ms = Vec::new();
    let (mut negatives, mut false_attributions, mut strongest_null) = (0u32, 0u32, f64::MIN);
    for copy in &copies {
        for (row, attack) in ALL.iter().enumerate() {
            let suspect = attack.apply(&copy.served);
            let started = Instant::now();
            let comparison = Comparison::new(&cleans[copy.photo].1, &suspect);
            let found = comparison.as_ref().and_then(|c| c.detect(&key));
            if *attack == Attack::None {
                detect_ms.push(started.elapsed().as_secs_f64() * 1e3);
            }
            if verbose {
                let pilot = comparison.as_ref().map(|c| c.read(&key).pilot()).unwrap_or_default();
                eprintln!("{} {}: pilot {pilot:.1}σ", cleans[copy.photo].0, attack.name());
            }
            let tally = &mut ours[row];
            match found {
                Some(d) if d.id == copy.id => tally.exact += 1,
                Some(_) => tally.wrong += 1,
                None => tally.missed += 1,
            }
            for other in &other_keys {
                negatives += 1;
                if let Some(c) = &comparison {
                    strongest_null = strongest_null.max(c.read(other).pilot());
                    false_attributions += u32::from(c.detect(other).is_some());
                }
            }
        }
    }
    // Unmarked copies: the clean derivative, served and attacked the same way.
    for (name, clean) in &cleans {
        let served = imaging::attacks::jpeg(clean, 90);
        for attack in ALL {
            let Some(comparison) = Comparison::new(clean, &attack.apply(&served)) else {
                negatives += 1 + OTHER_KEYS as u32;
                continue;
            };
            for k in std::iter::once(&key).chain(&other_keys) {
                negatives += 1;
                strongest_null = strongest_null.max(comparison.read(k).pilot());
                if comparison.detect(k).is_some() {
                    false_attributions += 1;
                    eprintln!("false attribution on unmarked {name} after {}", attack.name());
                }
            }
        }
    }

    let anchor = with_anchor.then(|| anchor::run(&python, &work, &copies_for_anchor(&copies, &cleans)));
    let _ = std::fs::remove_dir_all(&work);

    let total = copies.len() as u32;
    println!(
        "\nForensic watermark: {} photos × {copies_per_photo} payloads = {total} copies per attack (1080-px display derivative, served as JPEG q90)\n",
        photos.len()
    );
    println!("| attack | ours: exact | ours: wrong | imwatermark dwtDct | imwatermark dwtDctSvd |");
    println!("|---|---|---|---|---|");
    for (row, attack) in ALL.iter().enumerate() {
        let rate = |n: u32| format!("{n}/{total} ({:.1}%)", 100.0 * f64::from(n) / f64::from(total));
        let (dct, svd) = match &anchor {
            Some(a) => (rate(a.exact[0][row]), rate(a.exact[1][row])),
            None => ("–".into(), "–".into()),
        };
        println!("| {} | {} | {} | {dct} | {svd} |", attack.name(), rate(ours[row].exact), ours[row].wrong);
    }
    let wrong: u32 = ours.iter().map(|t| t.wrong).sum();
    println!(
        "\nWrong attributions: {} in {} detections ({} of marked copies with their own key, {negatives} of unmarked copies and of marked copies under {OTHER_KEYS} other keys); strongest pilot among the latter {strongest_null:.2}σ (threshold {PILOT_THRESHOLD}σ).",
        wrong + false_attributions,
        u64::from(total) * ALL.len() as u64 + u64::from(negatives),
        u64::from(total) * ALL.len() as u64,
    );
    println!(
        "False-positive bound per detection: P(pilot ≥ {PILOT_THRESHOLD}σ | no mark) ≤ e^(−{PILOT_THRESHOLD}²/2) = {:.1e}, times 2⁻¹⁶ for the tag = {:.1e}.",
        (-PILOT_THRESHOLD * PILOT_THRESHOLD / 2.0).exp(),
        (-PILOT_THRESHOLD * PILOT_THRESHOLD / 2.0).exp() / 65536.0
    );
    println!(
        "Quality (marked vs clean pixels): PSNR min {:.1} dB, mean {:.1} dB; SSIM min {:.4}, mean {:.4}.",
        min(&psnr),
        mean(&psnr),
        min(&ssim),
        mean(&ssim)
    );
    println!(
        "Speed, one core, 1080 px: ours embed median {:.1} ms, detect median {:.1} ms (registration included).",
        median(&mut embed_ms),
        median(&mut detect_ms)
    );
    println!(
        "A buyer's copies as media makes them (decode the clean display, mark, encode display and thumbnail): median {:.1} ms.",
        median(&mut copy_ms)
    );
    if let Some(a) = &anchor {
        for (m, method) in anchor::METHODS.iter().enumerate() {
            println!(
                "  imwatermark {method}: embed median {:.1} ms, decode median {:.1} ms.",
                a.embed_ms[m], a.decode_ms[m]
            );
        }
    }
}

/// The display derivative media stores for an upload of `path`.
fn display_jpeg(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).expect("corpus photo");
    imaging::process(&bytes, &imaging::Limits::default()).expect("a photo").display.jpeg
}

fn copies_for_anchor<'a>(copies: &[Copy], cleans: &'a [(String, RgbImage)]) -> Vec<anchor::Job<'a>> {
    copies
        .iter()
        .map(|c| anchor::Job { photo: &cleans[c.photo].0, clean: &cleans[c.photo].1, id: c.id.get() })
        .collect()
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or_default()
}
