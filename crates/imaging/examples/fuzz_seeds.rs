//! Writes the small seed corpus for the fuzz target: `cargo run -p imaging --example fuzz_seeds -- DIR`.
#![allow(clippy::unwrap_used)]

fn main() {
    let dir = std::path::Path::new(&std::env::args().nth(1).unwrap()).to_path_buf();
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("jpeg_exif", imaging::samples::jpeg_with_exif(24, 16, 6)),
        ("png_alpha", imaging::samples::png_with_alpha(16, 12)),
        ("webp", imaging::samples::webp(16, 12)),
        ("png_bomb", imaging::samples::png_claiming(100_000, 100_000)),
    ];
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
