//! Where the mark goes: a grid of cells over the clean image, each cell
//! carrying one chip (±1) of one group (a payload bit or the pilot), in a
//! keyed random arrangement, with a per-cell strength from the clean
//! image's texture. Embedder and detector derive the same layout from the
//! same clean image and key.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::plane::Plane;

/// Payload bits carried (a 48-bit mark id and its 16-bit keyed tag).
pub const BITS: usize = 64;
/// The pilot group, always +1: its correlation says whether a mark is there.
pub const PILOT: usize = BITS;
pub const GROUPS: usize = BITS + 1;

/// About 135 cells along the long edge (8 px on a 1080-px display), never
/// under 4 px: low enough in frequency to survive JPEG and downscaling.
const CELLS_ALONG_LONG_EDGE: usize = 154;
const MIN_CELL: usize = 4;

/// The cells over a clean image and their strengths: the same for every key.
pub struct Grid {
    pub cell: usize,
    pub columns: usize,
    pub rows: usize,
    /// Per cell: the mark's strength (mean square 1) and the detector's weight.
    pub gain: Vec<f32>,
    pub weight: Vec<f32>,
}

impl Grid {
    pub fn new(clean: &Plane) -> Grid {
        let cell = (clean.width.max(clean.height) / CELLS_ALONG_LONG_EDGE).max(MIN_CELL);
        let (columns, rows) = (clean.width.div_ceil(cell), clean.height.div_ceil(cell));
        let (gain, weight) = texture_gains(clean, cell, columns, rows);
        Grid { cell, columns, rows, gain, weight }
    }

    pub fn cells(&self) -> usize {
        self.columns * self.rows
    }
}

/// Per cell, its group and its chip (±1): what only the key reproduces.
pub struct Arrangement {
    pub group: Vec<u8>,
    pub chip: Vec<f32>,
}

impl Arrangement {
    pub fn new(cells: usize, seed: [u8; 32]) -> Arrangement {
        let mut rng = ChaCha20Rng::from_seed(seed);
        // Every group gets the same share of cells, spread over the picture.
        let mut group: Vec<u8> = (0..cells).map(|i| (i % GROUPS) as u8).collect();
        group.shuffle(&mut rng);
        let chip = (0..cells).map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 }).collect();
        Arrangement { group, chip }
    }
}

/// Mean absolute gradient (right + down) of a typical photo's cell.
const TYPICAL_ACTIVITY: f32 = 6.0;

/// Busy cells hide a stronger mark than flat ones (sky, skin), and dark
/// ones a weaker one (a shift of a few levels shows in shadows): the gain
/// follows the square root of the cell's mean gradient against a typical
/// photo's, bounded to [0.3, 1.8], times a darkness factor; scaled to a
/// mean square of at most 1. The detector weighs each
/// cell by `weight`: its signal over its expected noise (busy cells
/// register less exactly).
fn texture_gains(clean: &Plane, cell: usize, columns: usize, rows: usize) -> (Vec<f32>, Vec<f32>) {
    let cells = columns * rows;
    let (mut activity, mut brightness, mut counts) =
        (vec![0.0f32; cells], vec![0.0f32; cells], vec![0u32; cells]);
    for y in 1..clean.height {
        let row = (y / cell) * columns;
        for x in 1..clean.width {
            let here = clean.at(x, y);
            let busy = (here - clean.at(x - 1, y)).abs() + (here - clean.at(x, y - 1)).abs();
            activity[row + x / cell] += busy;
            brightness[row + x / cell] += here;
            counts[row + x / cell] += 1;
        }
    }
    for ((a, b), n) in activity.iter_mut().zip(brightness.iter_mut()).zip(&counts) {
        *a /= (*n).max(1) as f32;
        *b /= (*n).max(1) as f32;
    }
    // A floor keeps a nearly flat picture marked at all.
    let floor = 2.0;
    let texture: Vec<f32> =
        activity.iter().map(|a| ((a + floor) / (TYPICAL_ACTIVITY + floor)).sqrt().clamp(0.3, 1.8)).collect();
    let darkness: Vec<f32> = brightness.iter().map(|b| (b / 48.0).clamp(0.25, 1.0)).collect();
    let mut gains: Vec<f32> = texture.iter().zip(&darkness).map(|(t, d)| t * d).collect();
    // Never stronger on average than a typical photo's mark; a flat picture
    // (a moon, a wall) keeps its weaker one.
    let rms = (gains.iter().map(|g| g * g).sum::<f32>() / cells.max(1) as f32).sqrt();
    if rms > 1.0 {
        gains.iter_mut().for_each(|g| *g /= rms);
    }
    let weights = texture.iter().zip(&darkness).map(|(t, d)| d / t).collect();
    (gains, weights)
}
