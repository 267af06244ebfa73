//! The anchor: invisible-watermark (PyPI `imwatermark`) on the same photos,
//! payloads and attacked pixels, driven through anchor.py. Its marked
//! copies are served (JPEG q90) and attacked here, by the same code as ours.

use std::path::{Path, PathBuf};
use std::process::Command;

use image::RgbImage;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use imaging::attacks::ALL;
use serde_json::{Value, json};

pub const METHODS: [&str; 2] = ["dwtDct", "dwtDctSvd"];

pub struct Job<'a> {
    pub photo: &'a str,
    pub clean: &'a RgbImage,
    pub id: u64,
}

pub struct Results {
    /// Per method, per attack row: payloads read back exactly.
    pub exact: [Vec<u32>; 2],
    pub embed_ms: [f64; 2],
    pub decode_ms: [f64; 2],
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/watermark/anchor.py")
}

/// The corpus photos (name, path), made once into `dir`.
pub fn corpus(root: &Path, python: &Path, dir: &Path) -> Vec<(String, PathBuf)> {
    if !python.exists() {
        let status = Command::new(root.join("scripts/bootstrap")).arg("--bench").status().expect("bootstrap");
        assert!(status.success(), "scripts/bootstrap --bench failed");
    }
    std::fs::create_dir_all(dir).expect("corpus dir");
    let names: Vec<String> = serde_json::from_value(run_python(python, "corpus", dir)).expect("photo names");
    names.into_iter().map(|name| (name.clone(), dir.join(format!("{name}.png")))).collect()
}

fn run_python(python: &Path, command: &str, argument: &Path) -> Value {
    let output = Command::new(python).arg(script()).arg(command).arg(argument).output().expect("python");
    assert!(output.status.success(), "anchor.py {command}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("anchor.py prints JSON")
}

fn bits_of(id: u64) -> String {
    (0..48).map(|i| if id >> (47 - i) & 1 == 1 { '1' } else { '0' }).collect()
}

fn write_png(image: &RgbImage, path: &Path) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("png file"));
    image
        .write_with_encoder(PngEncoder::new_with_quality(file, CompressionType::Fast, FilterType::Sub))
        .expect("png");
}

/// Marks, serves, attacks and reads back every job, photo by photo (the
/// attacked copies of one photo at a time are on disk).
pub fn run(python: &Path, work: &Path, jobs: &[Job<'_>]) -> Results {
    let mut exact = [vec![0u32; ALL.len()], vec![0u32; ALL.len()]];
    let (mut embed_s, mut decode_s): ([Vec<f64>; 2], [Vec<f64>; 2]) = Default::default();
    let mut start = 0;
    while start < jobs.len() {
        let end = start + jobs[start..].iter().take_while(|j| j.photo == jobs[start].photo).count();
        let batch = &jobs[start..end];
        let dir = work.join(format!("anchor-{start}"));
        std::fs::create_dir_all(&dir).expect("batch dir");
        let mut embed_jobs = Vec::new();
        for (i, job) in batch.iter().enumerate() {
            let clean = dir.join(format!("clean-{i}.png"));
            write_png(job.clean, &clean);
            for method in METHODS {
                let marked = dir.join(format!("marked-{i}-{method}.png"));
                embed_jobs.push(
                    json!({ "clean": clean, "bits": bits_of(job.id), "method": method, "marked": marked }),
                );
            }
        }
        let jobs_file = dir.join("embed.json");
        std::fs::write(&jobs_file, serde_json::to_vec(&embed_jobs).expect("json")).expect("jobs");
        let embedded = run_python(python, "embed", &jobs_file);
        let mut decode_jobs = Vec::new();
        let mut expected = Vec::new();
        for (n, embed_job) in embed_jobs.iter().enumerate() {
            let method_index = n % 2;
            embed_s[method_index].push(embedded["embed_seconds"][n].as_f64().unwrap_or_default());
            let marked =
                image::open(embed_job["marked"].as_str().expect("path")).expect("marked").into_rgb8();
            let served = imaging::attacks::jpeg(&marked, 90);
            for (row, attack) in ALL.iter().enumerate() {
                let suspect = dir.join(format!("suspect-{n}-{row}.png"));
                write_png(&attack.apply(&served), &suspect);
                decode_jobs.push(
                    json!({ "suspect": suspect, "bits": embed_job["bits"], "method": METHODS[method_index] }),
                );
                expected.push((method_index, row, embed_job["bits"].as_str().unwrap_or_default().to_owned()));
            }
        }
        let jobs_file = dir.join("decode.json");
        std::fs::write(&jobs_file, serde_json::to_vec(&decode_jobs).expect("json")).expect("jobs");
        let decoded = run_python(python, "decode", &jobs_file);
        for (n, (method_index, row, bits)) in expected.iter().enumerate() {
            if decoded["read"][n].as_str() == Some(bits.as_str()) {
                exact[*method_index][*row] += 1;
            }
            decode_s[*method_index].push(decoded["decode_seconds"][n].as_f64().unwrap_or_default());
        }
        let _ = std::fs::remove_dir_all(&dir);
        start = end;
    }
    let median_ms = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or_default() * 1e3
    };
    Results {
        exact,
        embed_ms: [median_ms(&mut embed_s[0]), median_ms(&mut embed_s[1])],
        decode_ms: [median_ms(&mut decode_s[0]), median_ms(&mut decode_s[1])],
    }
}
