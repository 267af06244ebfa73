//! Image processing for uploads: identify by magic bytes, check dimensions from the
//! header before decoding (a decompression bomb is refused without
//! allocating its pixels), decode, apply the EXIF orientation, and make the
//! derivatives. Re-encoding is what strips metadata: nothing but pixels is
//! carried into a derivative.

#[cfg(feature = "samples")]
pub mod attacks;
#[cfg(feature = "samples")]
pub mod samples;
pub mod watermark;

use std::io::Cursor;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageFormat, ImageReader};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_pixels: u64,
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_pixels: 50_000_000, max_bytes: 25 * 1024 * 1024 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
        }
    }

    pub fn from_content_type(content_type: &str) -> Option<Self> {
        match content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" => Some(Format::Jpeg),
            "image/png" => Some(Format::Png),
            "image/webp" => Some(Format::Webp),
            _ => None,
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Format::Jpeg => ImageFormat::Jpeg,
            Format::Png => ImageFormat::Png,
            Format::Webp => ImageFormat::WebP,
        }
    }
}

/// Why an upload is refused; each maps to a 4xx.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the body is empty")]
    Empty,
    #[error("the image is larger than {max} bytes")]
    TooManyBytes { max: usize },
    #[error("only JPEG, PNG and WebP images are accepted")]
    Unsupported,
    #[error("the content is {actual} but was declared as {declared}")]
    Mismatch { declared: &'static str, actual: &'static str },
    #[error("the image is {width}×{height}, over the limit of {max} pixels")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("the image cannot be decoded: {0}")]
    Corrupt(String),
}

/// An image's format and stored dimensions, read from its header only.
pub fn identify(bytes: &[u8], limits: &Limits) -> Result<(Format, u32, u32), Rejection> {
    if bytes.is_empty() {
        return Err(Rejection::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(Rejection::TooManyBytes { max: limits.max_bytes });
    }
    let format = match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Format::Jpeg,
        Ok(ImageFormat::Png) => Format::Png,
        Ok(ImageFormat::WebP) => Format::Webp,
        _ => return Err(Rejection::Unsupported),
    };
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format.image_format())
        .into_dimensions()
        .map_err(|err| Rejection::Corrupt(err.to_string()))?;
    if width == 0 || height == 0 {
        return Err(Rejection::Corrupt("zero-sized image".into()));
    }
    if format == Format::Jpeg && !jpeg_is_complete(bytes) {
        return Err(Rejection::Corrupt(
            "the JPEG is truncated (no end-of-image marker after its data)".into(),
        ));
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(Rejection::TooManyPixels { width, height, max: limits.max_pixels });
    }
    Ok((format, width, height))
}

/// The JPEG decoder renders a truncated file as grey instead of failing, so
/// completeness is checked here: an end-of-image marker after the scan data.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let start_of_scan = bytes.windows(2).position(|w| w == [0xFF, 0xDA]);
    let end_of_image = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]);
    matches!((start_of_scan, end_of_image), (Some(sos), Some(eoi)) if eoi > sos)
}

#[derive(Debug, Clone)]
pub struct Derivative {
    pub width: u32,
    pub height: u32,
    pub jpeg: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Processed {
    pub format: Format,
    /// After orientation: as a viewer sees it.
    pub width: u32,
    pub height: u32,
    pub display: Derivative,
    pub thumb: Derivative,
    pub preview: Derivative,
    pub blurhash: String,
}

pub const DISPLAY_EDGE: u32 = 1080;
pub const THUMB_EDGE: u32 = 320;
pub const PREVIEW_EDGE: u32 = 32;

/// Everything the upload needs. CPU-bound: call it off the async executor.
pub fn process(bytes: &[u8], limits: &Limits) -> Result<Processed, Rejection> {
    let (format, rgb) = decode(bytes, limits)?;
    let (width, height) = (rgb.width(), rgb.height());

    let display = resize(rgb.as_raw(), width, height, DISPLAY_EDGE)?;
    let thumb = resize(&display.0, display.1, display.2, THUMB_EDGE)?;
    let small = resize(&thumb.0, thumb.1, thumb.2, PREVIEW_EDGE)?;
    let blurhash = blurhash_of(&small.0, small.1, small.2)?;
    let blurred = image::imageops::blur(
        &image::RgbImage::from_raw(small.1, small.2, small.0)
            .ok_or_else(|| Rejection::Corrupt("preview".into()))?,
        2.5,
    );
    Ok(Processed {
        format,
        width,
        height,
        display: encode(display.0, display.1, display.2, 82)?,
        thumb: encode(thumb.0, thumb.1, thumb.2, 80)?,
        preview: encode(blurred.into_raw(), small.1, small.2, 60)?,
        blurhash,
    })
}

/// Any accepted image as a viewer sees it (oriented, on white), within the
/// limits: the upload's checks, for every image media decodes from a client.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<(Format, image::RgbImage), Rejection> {
    let (format, stored_width, stored_height) = identify(bytes, limits)?;
    let corrupt = |err: image::ImageError| Rejection::Corrupt(err.to_string());
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut decode_limits = image::Limits::default();
    decode_limits.max_image_width = Some(stored_width);
    decode_limits.max_image_height = Some(stored_height);
    decode_limits.max_alloc = Some(limits.max_pixels * 4 + (64 << 20));
    reader.limits(decode_limits);
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let orientation = decoder.orientation().map_err(corrupt)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    image.apply_orientation(orientation);
    Ok((format, flatten_to_rgb(image)))
}

/// An accepted image as [`decode`] gives it, but with its long edge at most
/// `edge`: a JPEG is decoded straight at 1/2, 1/4 or 1/8 of its size when
/// that still covers `edge` (its DCT scaling: the full-size pixels never
/// exist), then resampled. A leak trace needs no more of a suspect than its
/// clean image has, and a 50-megapixel suspect decoded whole is 150 MB.
pub fn decode_at_most(bytes: &[u8], limits: &Limits, edge: u32) -> Result<image::RgbImage, Rejection> {
    let (format, width, height) = identify(bytes, limits)?;
    let image = match format {
        Format::Jpeg => scaled_jpeg(bytes, width, height, edge)?,
        _ => None,
    };
    let image = match image {
        Some(image) => image,
        None => decode(bytes, limits)?.1,
    };
    let (w, h) = image.dimensions();
    if w.max(h) <= edge {
        return Ok(image);
    }
    let (pixels, w, h) = resize(image.as_raw(), w, h, edge)?;
    image::RgbImage::from_raw(w, h, pixels).ok_or_else(|| Rejection::Corrupt("resize".into()))
}

/// A JPEG decoded at the smallest DCT scale that still covers `edge`, and
/// oriented; `None` for what this path does not read (CMYK), left to [`decode`].
fn scaled_jpeg(
    bytes: &[u8],
    width: u32,
    height: u32,
    edge: u32,
) -> Result<Option<image::RgbImage>, Rejection> {
    let corrupt = |err: &dyn std::fmt::Display| Rejection::Corrupt(err.to_string());
    let long = width.max(height);
    if long <= edge {
        return Ok(None);
    }
    // EXIF orientation, read from the headers alone.
    let orientation = ImageReader::with_format(Cursor::new(bytes), ImageFormat::Jpeg)
        .into_decoder()
        .and_then(|mut d| d.orientation())
        .map_err(|e| corrupt(&e))?;
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.read_info().map_err(|e| corrupt(&e))?;
    let wanted = |side: u32| {
        u16::try_from((u64::from(side) * u64::from(edge)).div_ceil(u64::from(long))).unwrap_or(u16::MAX)
    };
    let (w, h) = decoder.scale(wanted(width), wanted(height)).map_err(|e| corrupt(&e))?;
    let pixels = decoder.decode().map_err(|e| corrupt(&e))?;
    let info = decoder.info().ok_or_else(|| Rejection::Corrupt("no JPEG header".into()))?;
    let (w, h) = (u32::from(w), u32::from(h));
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&v| [v, v, v]).collect(),
        jpeg_decoder::PixelFormat::L16 | jpeg_decoder::PixelFormat::CMYK32 => return Ok(None),
    };
    let image =
        image::RgbImage::from_raw(w, h, rgb).ok_or_else(|| Rejection::Corrupt("short JPEG data".into()))?;
    let mut image = DynamicImage::ImageRgb8(image);
    image.apply_orientation(orientation);
    Ok(Some(image.into_rgb8()))
}

/// RGB8; transparent areas are composited on white, as JPEG has no alpha.
fn flatten_to_rgb(image: DynamicImage) -> image::RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for pixel in rgba.pixels() {
        let [r, g, b, a] = pixel.0;
        let over_white = |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        out.extend([over_white(r), over_white(g), over_white(b)]);
    }
    image::RgbImage::from_raw(w, h, out).unwrap_or_default()
}

/// Scales so the long edge is at most `edge` (never up). Returns (pixels, w, h).
pub(crate) fn resize(
    rgb: &[u8],
    width: u32,
    height: u32,
    edge: u32,
) -> Result<(Vec<u8>, u32, u32), Rejection> {
    let long = width.max(height);
    if long <= edge {
        return Ok((rgb.to_vec(), width, height));
    }
    let scale = f64::from(edge) / f64::from(long);
    let (w, h) = (
        ((f64::from(width) * scale).round() as u32).max(1),
        ((f64::from(height) * scale).round() as u32).max(1),
    );
    let failed = |err: &dyn std::fmt::Display| Rejection::Corrupt(format!("resize: {err}"));
    let source = ImageRef::new(width, height, rgb, PixelType::U8x3).map_err(|e| failed(&e))?;
    let mut target = Image::new(w, h, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new().resize(&source, &mut target, &options).map_err(|e| failed(&e))?;
    Ok((target.into_vec(), w, h))
}

pub(crate) fn encode(rgb: Vec<u8>, width: u32, height: u32, quality: u8) -> Result<Derivative, Rejection> {
    let mut jpeg = Vec::with_capacity(rgb.len() / 8);
    JpegEncoder::new_with_quality(&mut jpeg, quality)
        .encode(&rgb, width, height, ExtendedColorType::Rgb8)
        .map_err(|err| Rejection::Corrupt(format!("encode: {err}")))?;
    Ok(Derivative { width, height, jpeg })
}

fn blurhash_of(rgb: &[u8], width: u32, height: u32) -> Result<String, Rejection> {
    let rgba: Vec<u8> = rgb.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    blurhash::encode(4, 3, width, height, &rgba).map_err(|err| Rejection::Corrupt(format!("blurhash: {err}")))
}
