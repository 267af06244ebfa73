//! Finding the clean image inside a suspect copy: which scale, which crop
//! offset, and which brightness and contrast turn one into the other.
//!
//! Coordinates are continuous (a pixel's centre is at index + 0.5); the
//! transform maps a suspect point to the clean image:
//! `X = ax·x + bx`, `Y = ay·y + by`, and intensities `S ≈ gain·O + offset`.
//! A coarse search over uniform scales and offsets (normalised
//! cross-correlation on small copies) is refined by Gauss–Newton
//! (Lucas–Kanade) on finer ones, which also fits the aspect and intensities.

use super::plane::Plane;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    pub ax: f32,
    pub bx: f32,
    pub ay: f32,
    pub by: f32,
    pub gain: f32,
    pub offset: f32,
}

impl Transform {
    /// The clean image's point for suspect point (x, y).
    #[inline]
    pub fn map(&self, x: f32, y: f32) -> (f32, f32) {
        (self.ax * x + self.bx, self.ay * y + self.by)
    }

    /// Suspect pixels per clean pixel.
    pub fn scale(&self) -> f32 {
        2.0 / (self.ax + self.ay)
    }
}

/// The long edge of the copies the coarse search compares.
const COARSE_EDGE: f32 = 48.0;
const MIDDLE_EDGE: f32 = 96.0;
/// How much of each dimension a crop may have removed (both sides together).
const MAX_CROP: f32 = 0.4;
/// Consecutive scales tried differ by this factor.
const SCALE_STEP: f32 = 1.015;
/// Below this correlation the suspect is not taken to show the clean image.
const MIN_CORRELATION: f32 = 0.6;

/// The transform from `suspect` to `clean`, or `None` when the suspect does
/// not look like a scaled and cropped copy of it.
pub fn register(clean: &Plane, suspect: &Plane) -> Option<Transform> {
    let (cw, ch) = (clean.width as f32, clean.height as f32);
    let (sw, sh) = (suspect.width as f32, suspect.height as f32);
    if suspect.width < 16 || suspect.height < 16 {
        return None;
    }
    // s = suspect px per clean px; uncropped is the smallest possible.
    let smallest = (sw / cw).max(sh / ch);
    let mut scales = Vec::new();
    let mut s = smallest;
    while s <= smallest / (1.0 - MAX_CROP) {
        scales.push(s);
        s *= SCALE_STEP;
    }
    // The searches resample one small copy of the suspect, not the whole.
    let small = suspect.scaled((2.0 * MIDDLE_EDGE / sw.max(sh)).min(1.0))?;
    let small = Small { k: small.width as f32 / sw, plane: small };
    let coarse = Pyramid::new(clean, COARSE_EDGE)?;
    let mut candidates: Vec<(f32, f32, f32, f32)> = Vec::new();
    for &s in &scales {
        if let Some((score, ox, oy)) = coarse.best_offset(&small, s, None) {
            candidates.push((score, s, ox, oy));
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    candidates.truncate(3);
    // Refine the best few on a finer copy, around their offsets and scales.
    let middle = Pyramid::new(clean, MIDDLE_EDGE)?;
    let mut best: Option<(f32, f32, f32, f32)> = None;
    for (_, s, ox, oy) in candidates {
        for step in -2..=2 {
            let s = s * SCALE_STEP.powi(step);
            let around = (ox * middle.factor, oy * middle.factor);
            if let Some((score, ox, oy)) = middle.best_offset(&small, s, Some(around))
                && best.is_none_or(|b| score > b.0)
            {
                best = Some((score, s, ox, oy));
            }
        }
    }
    let (score, s, ox, oy) = best?;
    if score < MIN_CORRELATION {
        return None;
    }
    let mut transform = Transform { ax: 1.0 / s, bx: ox, ay: 1.0 / s, by: oy, gain: 1.0, offset: 0.0 };
    for (edge, stride) in [(192.0, 1), (540.0, 1), (f32::MAX, 4)] {
        transform = refine(clean, suspect, transform, edge, stride)?;
    }
    Some(transform)
}

/// A small copy of the suspect: `k` of its pixels per suspect pixel.
struct Small {
    plane: Plane,
    k: f32,
}

/// A small copy of the clean image and its scale.
struct Pyramid {
    image: Plane,
    /// Level pixels per clean pixel.
    factor: f32,
}

impl Pyramid {
    fn new(clean: &Plane, edge: f32) -> Option<Pyramid> {
        let factor = (edge / clean.width.max(clean.height) as f32).min(1.0);
        Some(Pyramid { image: clean.scaled(factor)?, factor })
    }

    /// The suspect, as if cropped from the clean image at scale `s`, brought
    /// to this level; its best offset (in clean pixels) and correlation —
    /// over every offset, or within two level pixels of `around`.
    fn best_offset(&self, suspect: &Small, s: f32, around: Option<(f32, f32)>) -> Option<(f32, f32, f32)> {
        let template = suspect.plane.scaled(self.factor / (s * suspect.k))?;
        let (tw, th) = (template.width, template.height);
        let (iw, ih) = (self.image.width, self.image.height);
        if tw > iw || th > ih {
            return None;
        }
        let (xs, ys) = match around {
            None => (0..=iw - tw, 0..=ih - th),
            Some((x, y)) => {
                let range = |c: f32, max: usize| {
                    let c = c.round() as isize;
                    (c - 2).clamp(0, max as isize) as usize..=(c + 2).clamp(0, max as isize) as usize
                };
                (range(x, iw - tw), range(y, ih - th))
            }
        };
        let t_mean = template.pixels.iter().sum::<f32>() / template.pixels.len() as f32;
        let t: Vec<f32> = template.pixels.iter().map(|v| v - t_mean).collect();
        let t_norm = t.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-3);
        let mut best: Option<(f32, f32, f32)> = None;
        for oy in ys {
            for ox in xs.clone() {
                let (mut sum, mut sum_sq, mut cross) = (0.0f32, 0.0f32, 0.0f32);
                for ty in 0..th {
                    let row = &self.image.pixels[(oy + ty) * iw + ox..(oy + ty) * iw + ox + tw];
                    let trow = &t[ty * tw..(ty + 1) * tw];
                    for (v, tv) in row.iter().zip(trow) {
                        sum += v;
                        sum_sq += v * v;
                        cross += v * tv;
                    }
                }
                let n = (tw * th) as f32;
                let var = (sum_sq - sum * sum / n).max(1e-3);
                let score = cross / (var.sqrt() * t_norm);
                if best.is_none_or(|b| score > b.0) {
                    best = Some((score, ox as f32 / self.factor, oy as f32 / self.factor));
                }
            }
        }
        best
    }
}

/// Gauss–Newton steps on copies whose long edge is about `edge` (the
/// suspect's own size at most), every `stride`-th pixel.
fn refine(clean: &Plane, suspect: &Plane, t: Transform, edge: f32, stride: usize) -> Option<Transform> {
    let s_level = suspect.scaled((edge / suspect.width.max(suspect.height) as f32).min(1.0))?;
    let fs = s_level.width as f32 / suspect.width as f32;
    // The clean copy has the suspect level's pixel size.
    let o_level = clean.scaled((fs * t.scale()).min(1.0))?;
    let fo = o_level.width as f32 / clean.width as f32;
    let (gx, gy) = o_level.gradients();
    // Level parameters: X_l = fo·(a·x_l/fs + b).
    let mut p = [t.ax * fo / fs, t.bx * fo, t.ay * fo / fs, t.by * fo, t.gain, t.offset];
    for _ in 0..12 {
        let mut normal = [[0.0f64; 6]; 6];
        let mut rhs = [0.0f64; 6];
        let mut used = 0usize;
        for y in (0..s_level.height).step_by(stride) {
            let yc = y as f32 + 0.5;
            for x in (0..s_level.width).step_by(stride) {
                let observed = s_level.at(x, y);
                if !(3.0..=252.0).contains(&observed) {
                    continue; // clipped: carries no information
                }
                let xc = x as f32 + 0.5;
                let (xo, yo) = (p[0] * xc + p[1] - 0.5, p[2] * yc + p[3] - 0.5);
                let (Some(o), Some(dx), Some(dy)) =
                    (o_level.sample(xo, yo), gx.sample(xo, yo), gy.sample(xo, yo))
                else {
                    continue;
                };
                let error = observed - (p[4] * o + p[5]);
                let j = [p[4] * dx * xc, p[4] * dx, p[4] * dy * yc, p[4] * dy, o, 1.0];
                for a in 0..6 {
                    rhs[a] += f64::from(j[a] * error);
                    for b in a..6 {
                        normal[a][b] += f64::from(j[a] * j[b]);
                    }
                }
                used += 1;
            }
        }
        if used < 64 {
            return None;
        }
        mirror_lower(&mut normal);
        let step = solve(normal, rhs)?;
        for (value, delta) in p.iter_mut().zip(step) {
            *value += delta as f32;
        }
        let moved = (step[1].abs() + step[3].abs()) as f32 + (step[0].abs() + step[2].abs()) as f32 * 1000.0;
        if moved < 0.005 {
            break;
        }
    }
    let refined = Transform {
        ax: p[0] * fs / fo,
        bx: p[1] / fo,
        ay: p[2] * fs / fo,
        by: p[3] / fo,
        gain: p[4],
        offset: p[5],
    };
    // A step that ran away (a flat picture, a wrong match) is no registration.
    let sane = refined.gain > 0.3
        && refined.gain < 3.0
        && (refined.ax / t.ax - 1.0).abs() < 0.1
        && (refined.ay / t.ay - 1.0).abs() < 0.1;
    sane.then_some(refined)
}

/// Fills the lower triangle of a symmetric matrix from its upper one.
#[allow(clippy::needless_range_loop)] // matrix indices read as the maths does
fn mirror_lower(m: &mut [[f64; 6]; 6]) {
    for a in 0..6 {
        for b in 0..a {
            m[a][b] = m[b][a];
        }
    }
}

/// Solves the 6×6 system by Gaussian elimination with partial pivoting.
#[allow(clippy::needless_range_loop)] // matrix indices read as the maths does
fn solve(mut a: [[f64; 6]; 6], mut b: [f64; 6]) -> Option<[f64; 6]> {
    for col in 0..6 {
        let pivot = (col..6).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-9 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..6 {
            let f = a[row][col] / a[col][col];
            for k in col..6 {
                a[row][k] -= f * a[col][k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0f64; 6];
    for row in (0..6).rev() {
        let tail: f64 = (row + 1..6).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    Some(x)
}
