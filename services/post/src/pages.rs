//! Opaque cursors over (created_at, id), newest first. A page is stable under
//! concurrent inserts: new items are newer than any cursor already handed out.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mongodb::bson::{DateTime, Document, doc};

use crate::error::PostError;

pub const PAGE_SIZE: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime,
    /// The last item's `_id`: an id, or a pair's key (`{follower}:{followee}`).
    pub key: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}.{}", self.created_at.timestamp_millis(), self.key))
    }

    pub fn decode(text: &str) -> Result<Self, PostError> {
        let malformed = || {
            PostError::BadRequest("The cursor is malformed; use the `next_cursor` of a previous page.".into())
        };
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| malformed())?;
        let text = String::from_utf8(bytes).map_err(|_| malformed())?;
        let (millis, key) = text.split_once('.').ok_or_else(malformed)?;
        let millis: i64 = millis.parse().map_err(|_| malformed())?;
        // Ids are hex, or `{follower}:{followee}` for follows.
        if key.is_empty() || key.len() > 80 || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == ':') {
            return Err(malformed());
        }
        Ok(Self { created_at: DateTime::from_millis(millis), key: key.to_owned() })
    }

    /// Adds "older than the cursor" to `filter`.
    pub fn after(cursor: Option<&Cursor>, mut filter: Document) -> Document {
        if let Some(c) = cursor {
            filter.insert(
                "$or",
                vec![
                    doc! { "created_at": { "$lt": c.created_at } },
                    doc! { "created_at": c.created_at, "_id": { "$lt": &c.key } },
                ],
            );
        }
        filter
    }
}

pub fn sort() -> Document {
    doc! { "created_at": -1, "_id": -1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = Cursor { created_at: DateTime::from_millis(1_700_000_000_123), key: "abc123".into() };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        let follow = Cursor { created_at: DateTime::from_millis(1_700_000_000_123), key: "a1:b2".into() };
        assert_eq!(Cursor::decode(&follow.encode()).unwrap(), follow, "a follow's key keeps its ':'");
        for bad in ["", "!!!", "bm9kb3Q", &URL_SAFE_NO_PAD.encode("x.abc"), &URL_SAFE_NO_PAD.encode("1.a$b")]
        {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }
}
