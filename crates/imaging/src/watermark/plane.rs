//! A single-channel f32 image: the luma the mark lives in, with the
//! resampling and sampling the embedder and the detector share.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

#[derive(Debug, Clone)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<f32>,
}

impl Plane {
    pub fn new(width: usize, height: usize) -> Self {
        Self { width, height, pixels: vec![0.0; width * height] }
    }

    /// BT.601 luma, as JPEG's Y channel.
    pub fn luma(rgb: &RgbImage) -> Self {
        let pixels = rgb
            .as_raw()
            .chunks_exact(3)
            .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .collect();
        Self { width: rgb.width() as usize, height: rgb.height() as usize, pixels }
    }

    #[inline]
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.pixels[y * self.width + x]
    }

    /// Bilinear sample at (x, y) in pixel-centre coordinates; `None` outside.
    #[inline]
    pub fn sample(&self, x: f32, y: f32) -> Option<f32> {
        if !(x >= 0.0 && y >= 0.0) {
            return None;
        }
        let (x0, y0) = (x as usize, y as usize);
        if x0 + 1 >= self.width || y0 + 1 >= self.height {
            return None;
        }
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let row = y0 * self.width + x0;
        let p = &self.pixels;
        let top = p[row] + (p[row + 1] - p[row]) * fx;
        let bottom = p[row + self.width] + (p[row + self.width + 1] - p[row + self.width]) * fx;
        Some(top + (bottom - top) * fy)
    }

    /// Resampled to `width`×`height` with an antialiasing (triangle) filter;
    /// `None` only for an empty target.
    pub fn resized(&self, width: usize, height: usize) -> Option<Plane> {
        let (width, height) = (width.max(1), height.max(1));
        if width == self.width && height == self.height {
            return Some(self.clone());
        }
        let bytes: Vec<u8> = self.pixels.iter().flat_map(|v| v.to_le_bytes()).collect();
        let source = ImageRef::new(self.width as u32, self.height as u32, &bytes, PixelType::F32).ok()?;
        let mut target = Image::new(width as u32, height as u32, PixelType::F32);
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        Resizer::new().resize(&source, &mut target, &options).ok()?;
        let pixels =
            target.buffer().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Some(Plane { width, height, pixels })
    }

    /// Scaled by `factor` (rounded dimensions, at least 1×1).
    pub fn scaled(&self, factor: f32) -> Option<Plane> {
        let size = |n: usize| ((n as f32 * factor).round() as usize).max(1);
        self.resized(size(self.width), size(self.height))
    }

    /// Horizontal and vertical central differences (one-sided at the borders).
    pub fn gradients(&self) -> (Plane, Plane) {
        let (w, h) = (self.width, self.height);
        let (mut gx, mut gy) = (Plane::new(w, h), Plane::new(w, h));
        if w < 2 || h < 2 {
            return (gx, gy);
        }
        let p = &self.pixels;
        for y in 0..h {
            let row = &p[y * w..(y + 1) * w];
            let out = &mut gx.pixels[y * w..(y + 1) * w];
            out[0] = row[1] - row[0];
            out[w - 1] = row[w - 1] - row[w - 2];
            for (g, around) in out[1..w - 1].iter_mut().zip(row.windows(3)) {
                *g = (around[2] - around[0]) * 0.5;
            }
            let (up, down, scale) = match y {
                0 => (0, 1, 1.0),
                _ if y == h - 1 => (h - 2, h - 1, 1.0),
                _ => (y - 1, y + 1, 0.5),
            };
            let (above, below) = (&p[up * w..(up + 1) * w], &p[down * w..(down + 1) * w]);
            for (g, (a, b)) in gy.pixels[y * w..(y + 1) * w].iter_mut().zip(above.iter().zip(below)) {
                *g = (b - a) * scale;
            }
        }
        (gx, gy)
    }
}
