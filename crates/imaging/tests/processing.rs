//! The processing core on synthetic images, hostile ones included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use imaging::{self as processing, Format, Limits, Rejection, samples};

fn has_app1(jpeg: &[u8]) -> bool {
    jpeg.windows(2).any(|w| w == [0xFF, 0xE1])
}

#[test]
fn exif_orientation_is_applied_and_metadata_stripped() {
    let input = samples::jpeg_with_exif(1600, 1200, 6);
    assert!(has_app1(&input), "the sample carries EXIF");
    let out = processing::process(&input, &Limits::default()).unwrap();
    assert_eq!(out.format, Format::Jpeg);
    assert_eq!((out.width, out.height), (1200, 1600), "rotated a quarter turn");
    assert_eq!((out.display.width, out.display.height), (810, 1080));
    assert_eq!((out.thumb.width, out.thumb.height), (240, 320));
    assert_eq!(out.preview.width.max(out.preview.height), 32);
    for derivative in [&out.display, &out.thumb, &out.preview] {
        assert!(!has_app1(&derivative.jpeg), "no EXIF (and so no GPS) in derivatives");
        assert_eq!(image::guess_format(&derivative.jpeg).unwrap(), image::ImageFormat::Jpeg);
    }
    assert!(!out.blurhash.is_empty());
    assert!(blurhash::decode(&out.blurhash, 8, 8, 1.0).is_ok());
}

/// A large image read at a bounded size (leak traces): oriented as a full
/// decode is, scaled so its long edge is the bound, never enlarged.
#[test]
fn a_large_image_is_read_at_a_bounded_size_and_oriented() {
    let limits = Limits::default();
    let rotated = processing::decode_at_most(&samples::jpeg_with_exif(1600, 1200, 6), &limits, 400).unwrap();
    assert_eq!(rotated.dimensions(), (300, 400), "a quarter turn, long edge 400");
    let upright = processing::decode_at_most(&samples::jpeg(1600, 1200), &limits, 1000).unwrap();
    assert_eq!(upright.dimensions(), (1000, 750));
    let small = processing::decode_at_most(&samples::jpeg(300, 200), &limits, 1000).unwrap();
    assert_eq!(small.dimensions(), (300, 200), "never enlarged");
    let webp = processing::decode_at_most(&samples::webp(800, 600), &limits, 400).unwrap();
    assert_eq!(webp.dimensions(), (400, 300), "other formats: decoded, then scaled");
    let full = processing::decode(&samples::jpeg(1600, 1200), &limits).unwrap().1;
    let (mut total, mut count) = (0i64, 0i64);
    let shrunk = image::imageops::resize(&full, 1000, 750, image::imageops::FilterType::Lanczos3);
    for (a, b) in shrunk.as_raw().iter().zip(upright.as_raw()) {
        total += (i64::from(*a) - i64::from(*b)).abs();
        count += 1;
    }
    assert!(
        total / count < 6,
        "the same picture as a full decode scaled down: mean difference {}",
        total / count
    );
}

#[test]
fn small_images_are_not_enlarged_and_transparency_becomes_white() {
    let out = processing::process(&samples::png_with_alpha(200, 100), &Limits::default()).unwrap();
    assert_eq!(out.format, Format::Png);
    assert_eq!((out.display.width, out.display.height), (200, 100));
    let thumb = image::load_from_memory(&out.thumb.jpeg).unwrap().to_rgb8();
    let left = thumb.get_pixel(5, 50).0;
    assert!(left.iter().all(|c| *c > 230), "transparent pixels over white: {left:?}");
}

#[test]
fn webp_is_accepted() {
    let out = processing::process(&samples::webp(640, 480), &Limits::default()).unwrap();
    assert_eq!((out.format, out.thumb.width, out.thumb.height), (Format::Webp, 320, 240));
}

/// Which rejection a case expects.
type Expected = fn(&Rejection) -> bool;

#[test]
fn hostile_and_broken_inputs_are_refused_with_a_reason() {
    let jpeg = samples::jpeg(800, 600);
    let limits = Limits { max_pixels: 50_000_000, max_bytes: 1 << 20 };
    let cases: Vec<(&str, Vec<u8>, Expected)> = vec![
        ("empty", vec![], |r| matches!(r, Rejection::Empty)),
        ("bomb", samples::png_claiming(100_000, 100_000), |r| matches!(r, Rejection::TooManyPixels { .. })),
        ("truncated JPEG", jpeg[..jpeg.len() / 2].to_vec(), |r| matches!(r, Rejection::Corrupt(_))),
        ("truncated header", jpeg[..20].to_vec(), |r| matches!(r, Rejection::Corrupt(_))),
        ("SVG", br#"<svg xmlns="http://www.w3.org/2000/svg"/>"#.to_vec(), |r| {
            matches!(r, Rejection::Unsupported)
        }),
        ("HTML", b"<!doctype html><p>hi".to_vec(), |r| matches!(r, Rejection::Unsupported)),
        ("GIF", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(), |r| matches!(r, Rejection::Unsupported)),
        ("too many bytes", vec![0xFF; (1 << 20) + 1], |r| matches!(r, Rejection::TooManyBytes { .. })),
        ("garbage after a JPEG signature", [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[0x13; 500]].concat(), |r| {
            matches!(r, Rejection::Corrupt(_))
        }),
    ];
    for (case, bytes, expected) in cases {
        let outcome = processing::process(&bytes, &limits);
        match outcome {
            Err(rejection) => assert!(expected(&rejection), "{case}: {rejection:?}"),
            Ok(_) => panic!("{case}: accepted"),
        }
    }
}
