//! Identifiers, parsed once at the boundary into their one canonical form:
//! a client's `"<id>?x"` or `"<ID>"` never reaches a query, a stored
//! document or another service's URL as anything but the id it names.

use std::fmt;

/// Why a string is not an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("is not a valid {0}")]
pub struct NotAnId(pub &'static str);

/// Declares an id minted as a UUID (v7: time-ordered) and written as 32
/// lower-case hex digits. Parsing accepts any spelling of a UUID (upper
/// case, hyphens) and gives the canonical one.
#[macro_export]
macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $crate::__id_type!($(#[$meta])* $name, $what, Some("^[0-9a-f]{32}$"), ": 32 lower-case hex digits");

        impl $name {
            /// A new id, ordered after every id minted before it.
            pub fn mint() -> Self {
                Self(uuid::Uuid::now_v7().simple().to_string())
            }

            pub fn parse(input: &str) -> Result<Self, $crate::ids::NotAnId> {
                uuid::Uuid::try_parse(input.trim())
                    .map(|id| Self(id.simple().to_string()))
                    .map_err(|_| $crate::ids::NotAnId($what))
            }
        }
    };
}

/// Declares an id that another system mints (a payment provider's object,
/// a CloudFront key pair or distribution, a request id a client sent):
/// opaque to us, so parsing only bounds it to 1–255 characters of
/// `[A-Za-z0-9_.:-]`, safe in a URL, a log line and a document key.
#[macro_export]
macro_rules! opaque_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $crate::__id_type!($(#[$meta])* $name, $what, None::<&str>, "");

        impl $name {
            pub fn parse(input: &str) -> Result<Self, $crate::ids::NotAnId> {
                let text = input.trim();
                let plain = (1..=255).contains(&text.len())
                    && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
                if plain { Ok(Self(text.to_owned())) } else { Err($crate::ids::NotAnId($what)) }
            }

            /// A new id in CloudFront's style: `prefix`, then random
            /// upper-case letters and digits, `len` characters in all.
            pub fn mint_upper(prefix: &'static str, len: usize) -> Self {
                Self($crate::ids::random_upper(prefix, len))
            }
        }
    };
}

/// What every id type shares: the newtype, its text, and reading it through
/// its own `parse` wherever it arrives (serde, `FromStr`, a path).
#[doc(hidden)]
#[macro_export]
macro_rules! __id_type {
    ($(#[$meta:meta])* $name:ident, $what:literal, $pattern:expr, $shape:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ids::NotAnId;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                Self::parse(input)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern($pattern)
                    .description(Some(concat!("A ", $what, $shape)))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        $crate::__id_into_bson!($name);
    };
}

#[doc(hidden)]
pub fn random_upper(prefix: &str, len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    let tail = (prefix.len()..len).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]));
    prefix.chars().chain(tail).collect()
}

/// Lets a `doc!` name an id as it is: `doc! { "_id": &id }` (bson turns
/// `&T` into `Bson` for every `T: Into<Bson> + Clone`).
#[cfg(feature = "mongo")]
#[doc(hidden)]
#[macro_export]
macro_rules! __id_into_bson {
    ($name:ident) => {
        impl From<$name> for $crate::stored::Bson {
            fn from(id: $name) -> Self {
                Self::String(id.into_string())
            }
        }
    };
}

#[cfg(not(feature = "mongo"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __id_into_bson {
    ($name:ident) => {};
}

uuid_id!(
    /// An account, as auth mints it.
    UserId,
    "user id"
);
uuid_id!(
    /// A media item (a photo), as media mints it.
    MediaId,
    "media id"
);
uuid_id!(
    /// A post, as post mints it.
    PostId,
    "post id"
);
uuid_id!(
    /// A comment on a post, as post mints it.
    CommentId,
    "comment id"
);
uuid_id!(
    /// A purchase of a post, as post mints it (media marks copies by it).
    PurchaseId,
    "purchase id"
);
uuid_id!(
    /// One leak trace media made (and post's audit entry of it).
    TraceId,
    "trace id"
);
uuid_id!(
    /// A creator's subscription tier.
    TierId,
    "tier id"
);
uuid_id!(
    /// A payout or a card refund.
    OutflowId,
    "payout or refund id"
);
uuid_id!(
    /// A subscription to a creator, as post mints it (media marks copies by it).
    SubscriptionId,
    "subscription id"
);
uuid_id!(
    /// An access token (its `jti`), as auth mints it.
    TokenId,
    "token id"
);
opaque_id!(
    /// A key's id in a key list: a CloudFront public key (a signed URL's
    /// `Key-Pair-Id`), or a token signing key (a JWT's `kid`).
    KeyId,
    "key id"
);
opaque_id!(
    /// A CloudFront invalidation (or edge's answer to one).
    InvalidationId,
    "invalidation id"
);
opaque_id!(
    /// The public half of an AWS-style (SigV4) credential.
    AccessKeyId,
    "access key id"
);
opaque_id!(
    /// A CloudFront distribution.
    DistributionId,
    "distribution id"
);

/// An id as a client wrote it in a list, parsed, with the reason kept when
/// it is none: the handler names the item (`media_ids[2]`) instead of
/// refusing the whole body with a parse error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed<T>(pub Result<T, NotAnId>);

impl<'de, T: std::str::FromStr<Err = NotAnId>> serde::Deserialize<'de> for Claimed<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self(text.parse()))
    }
}

/// 3–30 of `[a-z0-9_.]`. Input is trimmed and lower-cased first, so `Alice`
/// is `alice` and usernames are unique regardless of case. Every character
/// is safe in a URL path segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let lower = input.trim().to_ascii_lowercase();
        if !(3..=30).contains(&lower.len()) {
            return Err("must be 3 to 30 characters");
        }
        if !lower.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.') {
            return Err("may only contain a-z, 0-9, '_' and '.'");
        }
        Ok(Self(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for Username {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_one_spelling() {
        let id = MediaId::mint();
        assert_eq!(id.as_str().len(), 32);
        assert_eq!(MediaId::parse(&id.as_str().to_uppercase()).unwrap(), id);
        let hyphenated = uuid::Uuid::try_parse(id.as_str()).unwrap().hyphenated().to_string();
        assert_eq!(MediaId::parse(&hyphenated).unwrap(), id);
        for bad in ["", "x", &format!("{id}?x"), &format!("{id}/"), &format!("../{id}"), &format!("{id}0")] {
            assert_eq!(MediaId::parse(bad), Err(NotAnId("media id")), "{bad}");
        }
        let json: Result<PostId, _> = serde_json::from_str(&format!("\"{id}#x\""));
        assert!(json.is_err());
    }

    #[test]
    fn usernames() {
        assert_eq!(Username::parse("Alice_01").unwrap().as_str(), "alice_01");
        for bad in ["ab", &"a".repeat(31), "al ice", "al-ice", "ålice", "", "alice/../x", "alice?x"] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }
}
