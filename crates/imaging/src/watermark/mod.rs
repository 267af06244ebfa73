//! A forensic mark: an invisible, keyed, robust watermark carrying a 48-bit
//! mark id, and its detector.
//!
//! The mark is a smooth luminance pattern of about 135 cells along the long
//! edge: each cell carries ±strength for one of 64 payload bits (the id and
//! a 16-bit keyed tag) or for the pilot, in an arrangement and with signs
//! only the key reproduces, stronger where the picture is busy. It lives in
//! low frequencies, so it survives re-encoding and downscaling.
//!
//! Detection is *informed*: the detector holds the clean image (media keeps
//! it), finds it inside the suspect copy (scale, crop, brightness and
//! contrast; `register`), subtracts it and correlates what is left with each
//! group's chips. A result is given only when the pilot's correlation
//! clears a threshold (`PILOT_THRESHOLD`) and the tag matches the id. Under
//! no mark, the pilot's statistic is a sum of independent random signs
//! weighted by the residual, so `P(z ≥ t) ≤ exp(−t²/2)` whatever the picture
//! (Hoeffding), and a tag of 16 bits leaves a random id 2⁻¹⁶ more.

mod copies;
mod layout;
mod plane;
mod register;

pub use copies::{MarkedCopies, marked_copies, trace};
use image::RgbImage;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::Digest;

use layout::{Arrangement, BITS, GROUPS, Grid, PILOT};
pub use plane::Plane;
pub use register::Transform;

/// Peak luminance step of the mark at a cell of average texture.
const STRENGTH: f32 = 3.0;
/// Per-pixel residuals beyond this many levels are clipped to it.
const RESIDUAL_CLIP: f32 = 6.0;
/// The pilot's correlation, in standard deviations, that says "marked".
pub const PILOT_THRESHOLD: f64 = 6.0;
const ID_BITS: u32 = 48;
const TAG_BITS: u32 = 16;

/// A mark id: 48 bits, opaque (media maps it to a purchase).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MarkId(u64);

impl MarkId {
    pub const MAX: u64 = (1 << ID_BITS) - 1;

    pub fn new(id: u64) -> Option<MarkId> {
        (id <= Self::MAX).then_some(MarkId(id))
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

/// The secret the mark is keyed with: its arrangement, signs and tags.
#[derive(Clone)]
pub struct WatermarkKey([u8; 32]);

impl std::fmt::Debug for WatermarkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WatermarkKey(..)")
    }
}

impl WatermarkKey {
    pub fn new(bytes: [u8; 32]) -> WatermarkKey {
        WatermarkKey(bytes)
    }

    /// A key from a configured secret of any length (hashed to 32 bytes).
    pub fn from_secret(secret: &[u8]) -> WatermarkKey {
        WatermarkKey(sha2::Sha256::digest(secret).into())
    }

    /// One keystream per purpose, so layout and tags never share bits.
    fn stream(&self, purpose: u64) -> ChaCha20Rng {
        let mut rng = ChaCha20Rng::from_seed(self.0);
        rng.set_stream(purpose);
        rng
    }

    /// The arrangement for a grid (one per image size).
    fn arrangement(&self, grid: &Grid) -> Arrangement {
        let mut rng = self.stream(1);
        rng.set_word_pos(((grid.columns as u128) << 32 | grid.rows as u128) << 4);
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Arrangement::new(grid.cells(), seed)
    }

    fn tag(&self, id: MarkId) -> u64 {
        let mut rng = self.stream(2);
        rng.set_word_pos(u128::from(id.0) << 4);
        u64::from(rng.next_u32()) & ((1 << TAG_BITS) - 1)
    }

    fn codeword(&self, id: MarkId) -> u64 {
        id.0 | (self.tag(id) << ID_BITS)
    }
}

/// Marks `image` (a clean derivative) with `id`, in place.
pub fn embed(image: &mut RgbImage, key: &WatermarkKey, id: MarkId) {
    let grid = Grid::new(&Plane::luma(image));
    let arrangement = key.arrangement(&grid);
    let codeword = key.codeword(id);
    let field: Vec<f32> = (0..grid.cells())
        .map(|c| {
            let group = usize::from(arrangement.group[c]);
            let bit = if group == PILOT || codeword >> group & 1 == 1 { 1.0 } else { -1.0 };
            STRENGTH * grid.gain[c] * arrangement.chip[c] * bit
        })
        .collect();
    add_smooth_field(image, &grid, &field);
}

/// Adds the cell field, interpolated smoothly between cell centres
/// (smoothstep, so each cell's value holds around its centre), to R, G and B.
fn add_smooth_field(image: &mut RgbImage, layout: &Grid, field: &[f32]) {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let cell = layout.cell as f32;
    // Per column: the two cell columns around it and the weight of the right one.
    let columns: Vec<(usize, usize, f32)> =
        (0..width).map(|x| neighbours((x as f32 + 0.5) / cell - 0.5, layout.columns)).collect();
    let pixels: &mut [u8] = image;
    for y in 0..height {
        let (r0, r1, wy) = neighbours((y as f32 + 0.5) / cell - 0.5, layout.rows);
        let (top, bottom) = (&field[r0 * layout.columns..], &field[r1 * layout.columns..]);
        let row = &mut pixels[y * width * 3..(y + 1) * width * 3];
        for (x, &(c0, c1, wx)) in columns.iter().enumerate() {
            let upper = top[c0] + (top[c1] - top[c0]) * wx;
            let lower = bottom[c0] + (bottom[c1] - bottom[c0]) * wx;
            let delta = upper + (lower - upper) * wy;
            for channel in &mut row[x * 3..x * 3 + 3] {
                *channel = (f32::from(*channel) + delta).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// The cells left and right of position `t` (in cells) and the smoothstep
/// weight of the right one.
fn neighbours(t: f32, count: usize) -> (usize, usize, f32) {
    let last = count.saturating_sub(1);
    let clamped = t.clamp(0.0, last as f32);
    let left = (clamped as usize).min(last);
    let right = (left + 1).min(last);
    let f = clamped - left as f32;
    (left, right, f * f * (3.0 - 2.0 * f))
}

/// What the detector found in a suspect copy.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub id: MarkId,
    /// The estimated probability that every payload bit was read right (0–1).
    pub confidence: f64,
    /// The pilot's correlation in standard deviations.
    pub pilot: f64,
    /// The weakest payload bit's correlation.
    pub weakest_bit: f64,
}

/// The detector's view of a suspect for one key: the statistics behind a
/// decision, also for copies that carry no (readable) mark.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Per group, the correlation in standard deviations (`PILOT` last).
    pub z: Vec<f64>,
}

impl Reading {
    /// The pilot's correlation: how strongly a mark under this key is there.
    pub fn pilot(&self) -> f64 {
        self.z[PILOT]
    }
}

/// The mark in `suspect`, judged against the `clean` image it was made from.
pub fn detect(clean: &RgbImage, suspect: &RgbImage, key: &WatermarkKey) -> Option<Detection> {
    Comparison::new(clean, suspect)?.detect(key)
}

/// A suspect registered on its clean image, and what is left of it once
/// the clean image is taken away: the costly, key-independent part of a
/// detection, reusable with any number of keys.
pub struct Comparison {
    pub transform: Transform,
    grid: Grid,
    /// Per cell, the mean residual; `None` where cropped away.
    residual: Vec<Option<f32>>,
}

impl Comparison {
    /// `None` when the suspect is not a scaled, cropped copy of `clean`.
    pub fn new(clean: &RgbImage, suspect: &RgbImage) -> Option<Comparison> {
        let clean = Plane::luma(clean);
        let suspect = Plane::luma(suspect);
        let transform = register::register(&clean, &suspect)?;
        let grid = Grid::new(&clean);
        let residual = cell_residuals(&clean, &suspect, &transform, &grid)?;
        Some(Comparison { transform, grid, residual })
    }

    /// Correlates the residual with each of `key`'s groups.
    pub fn read(&self, key: &WatermarkKey) -> Reading {
        let arrangement = key.arrangement(&self.grid);
        let mut numerator = [0.0f64; GROUPS];
        let mut energy = [0.0f64; GROUPS];
        for (c, r) in self.residual.iter().enumerate() {
            let Some(r) = r else { continue };
            let weighted = f64::from(self.grid.weight[c] * r);
            let group = usize::from(arrangement.group[c]);
            numerator[group] += f64::from(arrangement.chip[c]) * weighted;
            energy[group] += weighted * weighted;
        }
        let z =
            numerator.iter().zip(&energy).map(|(n, e)| if *e > 0.0 { n / e.sqrt() } else { 0.0 }).collect();
        Reading { z }
    }

    /// `key`'s mark, when the pilot clears the threshold and the tag matches.
    pub fn detect(&self, key: &WatermarkKey) -> Option<Detection> {
        let reading = self.read(key);
        let pilot = reading.pilot();
        if pilot < PILOT_THRESHOLD {
            return None;
        }
        let bits = &reading.z[..BITS];
        let codeword = bits.iter().enumerate().fold(0u64, |word, (i, z)| word | (u64::from(*z > 0.0) << i));
        let id = MarkId(codeword & MarkId::MAX);
        if key.codeword(id) != codeword {
            return None;
        }
        let confidence = bits.iter().map(|z| 1.0 - upper_tail(z.abs())).product();
        let weakest_bit = bits.iter().map(|z| z.abs()).fold(f64::INFINITY, f64::min);
        Some(Detection { id, confidence, pilot, weakest_bit })
    }
}

/// Per cell of the clean image: the mean of (suspect − fitted clean) over
/// the suspect pixels that fall in it; `None` for cells cropped away.
fn cell_residuals(clean: &Plane, suspect: &Plane, t: &Transform, layout: &Grid) -> Option<Vec<Option<f32>>> {
    // The clean image at the suspect's pixel size, as the suspect was resampled.
    let s = t.scale();
    let matched = if s < 0.95 { clean.scaled(s)? } else { clean.clone() };
    let k = matched.width as f32 / clean.width as f32;
    let mut sums = vec![0.0f32; layout.cells()];
    let mut counts = vec![0u32; layout.cells()];
    let cell = layout.cell as f32;
    for y in 0..suspect.height {
        let yc = y as f32 + 0.5;
        for x in 0..suspect.width {
            let observed = suspect.at(x, y);
            if !(3.0..=252.0).contains(&observed) {
                continue;
            }
            let (cx, cy) = t.map(x as f32 + 0.5, yc);
            let Some(original) = matched.sample(cx * k - 0.5, cy * k - 0.5) else { continue };
            let (column, row) = ((cx / cell) as usize, (cy / cell) as usize);
            if column >= layout.columns || row >= layout.rows {
                continue;
            }
            let index = row * layout.columns + column;
            // Clipped: a resampling mismatch at a star or an edge is an
            // outlier many times the mark's size, and would drown it.
            sums[index] += (observed - (t.gain * original + t.offset)).clamp(-RESIDUAL_CLIP, RESIDUAL_CLIP);
            counts[index] += 1;
        }
    }
    // A cell counts when at least a third of it is visible.
    let needed = ((cell * s).powi(2) / 3.0).max(1.0) as u32;
    Some(sums.iter().zip(&counts).map(|(sum, n)| (*n >= needed).then(|| sum / *n as f32)).collect())
}

/// P(Z > z) for a standard normal Z.
fn upper_tail(z: f64) -> f64 {
    libm::erfc(z / std::f64::consts::SQRT_2) / 2.0
}
