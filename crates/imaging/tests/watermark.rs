//! The forensic mark: every attack a leaker uses leaves the payload
//! readable; nothing unmarked, marked under another key or showing another
//! photo is ever attributed. (How often, and how fast, on real
//! photographs: `cargo bench -p imaging --bench watermark`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use image::RgbImage;
use imaging::attacks::{ALL, Attack};
use imaging::watermark::{self, MarkId, WatermarkKey};
use imaging::{Limits, Rejection};

fn key(n: u8) -> WatermarkKey {
    WatermarkKey::from_secret(&[n; 40])
}

/// A display-sized photo of our own making.
fn photo(seed: u32) -> RgbImage {
    imaging::samples::landscape(1080, 720, seed)
}

fn marked(clean: &RgbImage, key: &WatermarkKey, id: u64) -> RgbImage {
    let mut copy = clean.clone();
    watermark::embed(&mut copy, key, MarkId::new(id).unwrap());
    imaging::attacks::jpeg(&copy, 90)
}

#[test]
fn every_attack_leaves_the_payload_readable() {
    for (seed, id) in [(1, 0x1234_5678_9ABC), (2, MarkId::MAX), (3, 1)] {
        let clean = photo(seed);
        let served = marked(&clean, &key(1), id);
        for attack in ALL {
            let found = watermark::detect(&clean, &attack.apply(&served), &key(1));
            let found = found.unwrap_or_else(|| panic!("photo {seed}: nothing read after {}", attack.name()));
            assert_eq!(found.id.get(), id, "photo {seed}, {}", attack.name());
            assert!(found.confidence > 0.99, "{}: {found:?}", attack.name());
        }
    }
}

#[test]
fn the_mark_is_invisible_enough() {
    let clean = photo(4);
    let mut copy = clean.clone();
    watermark::embed(&mut copy, &key(1), MarkId::new(42).unwrap());
    let squared: f64 =
        clean.iter().zip(copy.iter()).map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2)).sum();
    let psnr = 10.0 * (255.0f64.powi(2) / (squared / clean.as_raw().len() as f64)).log10();
    assert!(psnr >= 40.0, "PSNR {psnr:.1} dB");
    assert_ne!(clean, copy);
}

#[test]
fn unmarked_copies_are_never_attributed() {
    for seed in [5, 6] {
        let clean = photo(seed);
        let served = imaging::attacks::jpeg(&clean, 90);
        for attack in ALL {
            assert_eq!(watermark::detect(&clean, &attack.apply(&served), &key(1)), None, "{}", attack.name());
        }
    }
}

#[test]
fn another_key_or_another_photo_finds_nothing() {
    let clean = photo(7);
    let served = marked(&clean, &key(1), 99);
    for attack in [Attack::None, Attack::Jpeg(70), Attack::Chain] {
        let suspect = attack.apply(&served);
        let comparison = watermark::Comparison::new(&clean, &suspect).expect("a copy of the photo");
        assert_eq!(comparison.detect(&key(1)).map(|d| d.id.get()), Some(99));
        for other in 2..10 {
            assert_eq!(comparison.detect(&key(other)), None, "key {other} after {}", attack.name());
        }
    }
    // Another photo's copy is not a copy of this one at all.
    let elsewhere = marked(&photo(8), &key(1), 99);
    assert_eq!(watermark::detect(&clean, &elsewhere, &key(1)), None);
}

#[test]
fn copies_with_other_payloads_read_as_their_own() {
    let clean = photo(9);
    let ids = [7u64, 8, 0xFFFF_0000_1111];
    let copies: Vec<RgbImage> = ids.iter().map(|id| marked(&clean, &key(1), *id)).collect();
    assert_ne!(copies[0], copies[1]);
    for (copy, id) in copies.iter().zip(ids) {
        let read = watermark::detect(&clean, &Attack::Chain.apply(copy), &key(1)).map(|d| d.id.get());
        assert_eq!(read, Some(id));
    }
}

#[test]
fn a_buyers_copies_and_their_trace_from_files() {
    let clean = encode(&photo(10));
    let copies = watermark::marked_copies(&clean, &key(1), MarkId::new(5150).unwrap()).unwrap();
    assert_eq!((copies.display.width, copies.display.height), (1080, 720));
    assert_eq!(copies.thumb.width, imaging::THUMB_EDGE);
    let limits = Limits::default();
    for leaked in [&copies.display.jpeg, &copies.thumb.jpeg] {
        let found = watermark::trace(&clean, leaked, &limits, &key(1)).unwrap().expect("traced");
        assert_eq!(found.id.get(), 5150);
    }
    assert_eq!(watermark::trace(&clean, &clean, &limits, &key(1)).unwrap(), None, "the clean copy");
}

/// A leaker upscales their copy (here 3×, as a JPEG and as a PNG): read at
/// the clean display's size, it is still traced.
#[test]
fn an_upscaled_copy_is_traced_from_its_file() {
    let clean = encode(&photo(12));
    let copies = watermark::marked_copies(&clean, &key(1), MarkId::new(4242).unwrap()).unwrap();
    let display = image::load_from_memory(&copies.display.jpeg).unwrap().into_rgb8();
    let big = image::imageops::resize(&display, 3240, 2160, image::imageops::FilterType::Triangle);
    let mut png = Vec::new();
    big.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    for leaked in [encode(&big), png] {
        let found = watermark::trace(&clean, &leaked, &Limits::default(), &key(1)).unwrap().expect("traced");
        assert_eq!(found.id.get(), 4242);
    }
}

#[test]
fn a_trace_refuses_what_an_upload_refuses() {
    let clean = encode(&photo(11));
    let limits = Limits { max_pixels: 4_000_000, max_bytes: 1 << 20 };
    let refuse = |body: &[u8]| watermark::trace(&clean, body, &limits, &key(1)).unwrap_err();
    assert_eq!(refuse(b"not an image at all"), Rejection::Unsupported);
    assert!(matches!(
        refuse(&imaging::samples::png_claiming(50_000, 50_000)),
        Rejection::TooManyPixels { .. }
    ));
    assert!(matches!(refuse(&vec![0xFF; (1 << 20) + 1]), Rejection::TooManyBytes { .. }));
    assert_eq!(watermark::trace(&clean, &imaging::samples::jpeg(64, 64), &limits, &key(1)).unwrap(), None);
}

#[test]
fn mark_ids_are_48_bits() {
    assert!(MarkId::new(MarkId::MAX).is_some());
    assert!(MarkId::new(MarkId::MAX + 1).is_none());
}

fn encode(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82)
        .encode(image.as_raw(), image.width(), image.height(), image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}
