//! What a leaker does to a copy before posting it: re-encoding, scaling,
//! cropping, screenshots, brightness and contrast — for the watermark's
//! tests and its benchmark.

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{ExtendedColorType, RgbImage};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Attack {
    None,
    Jpeg(u8),
    /// Scale to this fraction of each dimension (bilinear).
    Scale(f32),
    /// Remove this fraction of each dimension from each side.
    Crop(f32),
    /// 75% bilinear, saved as PNG (lossless, so only the scaling remains).
    Screenshot,
    /// Brightness and contrast both changed by this fraction (+0.1, −0.1).
    BrightnessContrast(f32),
    /// Resize 75% → crop 5% → JPEG 70.
    Chain,
}

pub const ALL: [Attack; 12] = [
    Attack::None,
    Attack::Jpeg(90),
    Attack::Jpeg(70),
    Attack::Jpeg(50),
    Attack::Scale(0.75),
    Attack::Scale(0.5),
    Attack::Crop(0.05),
    Attack::Crop(0.10),
    Attack::Screenshot,
    Attack::BrightnessContrast(0.1),
    Attack::BrightnessContrast(-0.1),
    Attack::Chain,
];

impl Attack {
    pub fn name(&self) -> String {
        match self {
            Attack::None => "none".into(),
            Attack::Jpeg(q) => format!("JPEG q{q}"),
            Attack::Scale(f) => format!("downscale {:.0}%", f * 100.0),
            Attack::Crop(f) => format!("crop {:.0}% each side", f * 100.0),
            Attack::Screenshot => "screenshot (75% bilinear, PNG)".into(),
            Attack::BrightnessContrast(f) => format!("brightness/contrast {:+.0}%", f * 100.0),
            Attack::Chain => "resize 75% → crop 5% → JPEG 70".into(),
        }
    }

    pub fn apply(&self, image: &RgbImage) -> RgbImage {
        match *self {
            Attack::None => image.clone(),
            Attack::Jpeg(quality) => jpeg(image, quality),
            Attack::Scale(f) | Attack::Crop(f) if f <= 0.0 => image.clone(),
            Attack::Scale(f) => scale(image, f),
            Attack::Crop(f) => crop(image, f),
            Attack::Screenshot => scale(image, 0.75),
            Attack::BrightnessContrast(f) => brightness_contrast(image, f),
            Attack::Chain => jpeg(&crop(&scale(image, 0.75), 0.05), 70),
        }
    }
}

pub fn jpeg(image: &RgbImage, quality: u8) -> RgbImage {
    let mut bytes = Vec::new();
    let encoded = JpegEncoder::new_with_quality(&mut bytes, quality).encode(
        image.as_raw(),
        image.width(),
        image.height(),
        ExtendedColorType::Rgb8,
    );
    match encoded.ok().and_then(|()| image::load_from_memory(&bytes).ok()) {
        Some(decoded) => decoded.into_rgb8(),
        None => image.clone(),
    }
}

pub fn scale(image: &RgbImage, factor: f32) -> RgbImage {
    let size = |n: u32| ((n as f32 * factor).round() as u32).max(1);
    image::imageops::resize(image, size(image.width()), size(image.height()), FilterType::Triangle)
}

pub fn crop(image: &RgbImage, each_side: f32) -> RgbImage {
    let (w, h) = image.dimensions();
    let (dx, dy) = ((w as f32 * each_side).round() as u32, (h as f32 * each_side).round() as u32);
    image::imageops::crop_imm(image, dx, dy, w - 2 * dx, h - 2 * dy).to_image()
}

pub fn brightness_contrast(image: &RgbImage, amount: f32) -> RgbImage {
    let mut out = image.clone();
    for value in out.iter_mut() {
        let v = (f32::from(*value) - 128.0) * (1.0 + amount) + 128.0 + 255.0 * amount;
        *value = v.round().clamp(0.0, 255.0) as u8;
    }
    out
}
