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

/// `image` as a JPEG of `quality`.
pub fn jpeg_of(image: &image::RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode(image.as_raw(), image.width(), image.height(), ExtendedColorType::Rgb8)
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

/// A photo-like landscape of our own making: a sky with clouds, hills with
/// grass texture, houses with hard edges and a little sensor noise — the
/// mix of flat, textured and sharp regions a real photo has (the
/// watermark's tests use it; `seed` varies the scene).
pub fn landscape(width: u32, height: u32, seed: u32) -> image::RgbImage {
    let noise = ValueNoise::new(seed);
    let (w, h) = (width as f32, height as f32);
    let houses: Vec<(f32, f32, f32, [f32; 3])> = (0..5)
        .map(|i| {
            let r = noise.hash(i, 99);
            let x = w * (0.1 + 0.8 * r);
            let size = w * (0.04 + 0.05 * noise.hash(i, 7));
            (x, size, 0.5 + 0.1 * noise.hash(i, 3), [0.55 + 0.4 * r, 0.35 + 0.3 * noise.hash(i, 5), 0.3])
        })
        .collect();
    let mut sensor = 0x2545_F491_u32 ^ seed;
    image::RgbImage::from_fn(width, height, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        let (u, v) = (xf / w, yf / h);
        let horizon = 0.55 + 0.08 * (u * 5.0 + seed as f32).sin() + 0.05 * noise.octaves(u * 4.0, 0.5, 3);
        let mut rgb = if v < horizon {
            let cloud = (noise.octaves(u * 6.0, v * 12.0, 5) - 0.45).max(0.0) * 2.2;
            let sky = [0.35 + 0.3 * v, 0.55 + 0.3 * v, 0.95];
            [0, 1, 2].map(|c| sky[c] * (1.0 - cloud) + 0.97 * cloud)
        } else {
            let grass = noise.octaves(u * 80.0, v * 120.0, 4);
            let shade = 0.5 + 0.5 * noise.octaves(u * 8.0, v * 8.0, 3);
            [0.25 + 0.2 * grass, 0.45 + 0.3 * grass * shade, 0.15 + 0.1 * grass]
        };
        for (hx, size, top, colour) in &houses {
            if (xf - hx).abs() < *size && yf > h * top && yf < h * (top + 0.12) {
                let window = (((xf - hx + size) / (size / 3.0)) as u32).is_multiple_of(2)
                    && ((yf / (h * 0.03)) as u32).is_multiple_of(2);
                rgb = if window { [0.9, 0.85, 0.5] } else { *colour };
            }
        }
        sensor ^= sensor << 13;
        sensor ^= sensor >> 17;
        sensor ^= sensor << 5;
        let grain = (sensor & 0x7) as f32 - 3.5;
        image::Rgb(rgb.map(|c| (c * 255.0 + grain).clamp(0.0, 255.0) as u8))
    })
}

/// Smooth random values on a lattice, interpolated: clouds and grass.
struct ValueNoise {
    seed: u32,
}

impl ValueNoise {
    fn new(seed: u32) -> Self {
        Self { seed }
    }

    /// A value in [0, 1) for a lattice point.
    fn hash(&self, x: i32, y: i32) -> f32 {
        let mut h = (x as u32).wrapping_mul(0x27D4_EB2D)
            ^ (y as u32).wrapping_mul(0x1656_67B1)
            ^ self.seed.wrapping_mul(0x9E37_79B9);
        h ^= h >> 15;
        h = h.wrapping_mul(0x85EB_CA6B);
        h ^= h >> 13;
        (h & 0xFFFF) as f32 / 65536.0
    }

    fn at(&self, x: f32, y: f32) -> f32 {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
        let (xi, yi) = (x0 as i32, y0 as i32);
        let top = self.hash(xi, yi) + (self.hash(xi + 1, yi) - self.hash(xi, yi)) * sx;
        let bottom = self.hash(xi, yi + 1) + (self.hash(xi + 1, yi + 1) - self.hash(xi, yi + 1)) * sx;
        top + (bottom - top) * sy
    }

    /// Octaves of `at`, each twice as fine and half as strong; in [0, 1).
    fn octaves(&self, x: f32, y: f32, count: u32) -> f32 {
        let (mut sum, mut weight, mut total) = (0.0, 1.0, 0.0);
        for octave in 0..count {
            let f = (1 << octave) as f32;
            sum += weight * self.at(x * f, y * f);
            total += weight;
            weight *= 0.5;
        }
        sum / total
    }
}
