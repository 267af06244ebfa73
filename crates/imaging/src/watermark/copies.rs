//! The mark as media uses it: a buyer's copies of a photo, and a trace of
//! a suspect file back to the mark it carries.

use image::RgbImage;

use super::{Detection, MarkId, WatermarkKey};
use crate::{Derivative, Limits, Rejection, THUMB_EDGE};

/// Quality of a marked copy: high, so the copy looks like the clean one.
const MARKED_QUALITY: u8 = 90;

/// A buyer's display and thumbnail, both carrying `id`.
pub struct MarkedCopies {
    pub display: Derivative,
    pub thumb: Derivative,
}

/// Marks the clean display JPEG; the thumbnail is made from the marked
/// display, so it carries the same mark (read back as a downscaled copy).
pub fn marked_copies(
    clean_display: &[u8],
    key: &WatermarkKey,
    id: MarkId,
) -> Result<MarkedCopies, Rejection> {
    let mut image = clean_image(clean_display)?;
    super::embed(&mut image, key, id);
    let (width, height) = image.dimensions();
    let thumb = crate::resize(image.as_raw(), width, height, THUMB_EDGE)?;
    Ok(MarkedCopies {
        display: crate::encode(image.into_raw(), width, height, MARKED_QUALITY)?,
        thumb: crate::encode(thumb.0, thumb.1, thumb.2, MARKED_QUALITY)?,
    })
}

/// The mark `key` finds in `suspect` (any accepted image, within `limits`),
/// judged against the clean display it was made from. The suspect is read
/// at no more than the clean display's size: whatever part of the photo it
/// shows then has at least the pixels the display had there, which is all
/// the mark was written into, and a huge suspect costs little memory.
pub fn trace(
    clean_display: &[u8],
    suspect: &[u8],
    limits: &Limits,
    key: &WatermarkKey,
) -> Result<Option<Detection>, Rejection> {
    let clean = clean_image(clean_display)?;
    let suspect = crate::decode_at_most(suspect, limits, clean.width().max(clean.height()))?;
    Ok(super::detect(&clean, &suspect, key))
}

/// Our own stored display derivative.
fn clean_image(jpeg: &[u8]) -> Result<RgbImage, Rejection> {
    image::load_from_memory(jpeg).map(|i| i.into_rgb8()).map_err(|err| Rejection::Corrupt(err.to_string()))
}
