//! Synthetic images for tests, the fuzz corpus and the benchmark: photos
//! with EXIF orientation, transparent PNGs, WebP, and hostile headers.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder};

/// A photo-like RGB image: smooth gradients plus per-pixel sensor-like
/// noise, so JPEG sizes and decode costs resemble a real photo's.
pub fn rgb_pattern(width: u32, height: u32) -> Vec<u8> {
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
    let mut state = 0x9E37_79B9_u32;
    for y in 0..height {
        for x in 0..width {
            // xorshift: cheap, deterministic noise
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = |shift: u32| ((state >> shift) & 0x3F) as u8;
            pixels.extend([
                (((x * 200) / width.max(1)) as u8).saturating_add(noise(0)),
                (((y * 200) / height.max(1)) as u8).saturating_add(noise(8)),
                ((((x + y) * 100) / (width + height).max(1)) as u8).saturating_add(noise(16)),
            ]);
        }
    }
    pixels
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .encode(&rgb_pattern(width, height), width, height, ExtendedColorType::Rgb8)
        .unwrap_or_default();
    out
}

/// `jpeg` with an EXIF segment carrying `orientation` and a GPS position.
pub fn jpeg_with_exif(width: u32, height: u32, orientation: u16) -> Vec<u8> {
    let plain = jpeg(width, height);
    // TIFF, big-endian: IFD0 { Orientation, GPSInfo -> GPS IFD { GPSLatitudeRef = "N" } }.
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    tiff.extend([0x00, 0x02]);
    tiff.extend([0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01]);
    tiff.extend(orientation.to_be_bytes());
    tiff.extend([0x00, 0x00]);
    tiff.extend([0x88, 0x25, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x26]);
    tiff.extend([0x00, 0x00, 0x00, 0x00]);
    tiff.extend([0x00, 0x01, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, b'N', 0x00, 0x00, 0x00]);
    tiff.extend([0x00, 0x00, 0x00, 0x00]);
    let mut segment = b"Exif\x00\x00".to_vec();
    segment.extend(tiff);
    let length = (segment.len() + 2) as u16;
    let mut out = plain[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(length.to_be_bytes());
    out.extend(segment);
    out.extend(&plain[2..]);
    out
}

/// An RGBA PNG whose left half is transparent.
pub fn png_with_alpha(width: u32, height: u32) -> Vec<u8> {
    let rgb = rgb_pattern(width, height);
    let mut rgba = Vec::with_capacity(rgb.len() / 3 * 4);
    for (i, p) in rgb.chunks_exact(3).enumerate() {
        let x = i as u32 % width;
        rgba.extend([p[0], p[1], p[2], if x < width / 2 { 0 } else { 255 }]);
    }
    let mut out = Vec::new();
    let _ = PngEncoder::new(&mut out).write_image(&rgba, width, height, ExtendedColorType::Rgba8);
    out
}

pub fn webp(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = WebPEncoder::new_lossless(&mut out).encode(
        &rgb_pattern(width, height),
        width,
        height,
        ExtendedColorType::Rgb8,
    );
    out
}

/// A PNG whose header claims `width`×`height` and that has no pixel data:
/// a decompression bomb's calling card.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut chunk = |kind_and_data: &[u8]| {
        out.extend(((kind_and_data.len() - 4) as u32).to_be_bytes());
        out.extend(kind_and_data);
        out.extend(crc32fast::hash(kind_and_data).to_be_bytes());
    };
    chunk(&ihdr);
    // A token of compressed data (an empty zlib stream), then the end.
    chunk(b"IDAT\x78\x9c\x03\x00\x00\x00\x00\x01");
    chunk(b"IEND");
    out
}
