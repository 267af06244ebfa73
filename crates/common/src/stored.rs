//! States and kinds are kept in documents as their snake_case names, and
//! queries name them by the enum: `doc! { "state": PurchaseState::Active }`.
//! [`stored_enum!`](crate::stored_enum) declares such an enum: serde stores
//! it and strum names it in queries with one spelling (the test below, and
//! each service's own, hold the two together for every variant), so no
//! query can look for a state no document has. A crate using the macro
//! depends on `strum` (its derives name it) and on this crate's `mongo`
//! feature.

/// Declares an enum stored by its snake_case name, usable in `doc!`.
#[macro_export]
macro_rules! stored_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variants:tt)* }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize,
            strum::IntoStaticStr, strum::VariantArray,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        $vis enum $name { $($variants)* }

        impl From<$name> for $crate::stored::Bson {
            fn from(value: $name) -> Self {
                $crate::stored::Bson::String(<&'static str>::from(value).to_owned())
            }
        }
    };
}

#[cfg(feature = "mongo")]
pub use mongodb::bson::Bson;

/// Whether every variant of `T` is queried as it is stored (for each
/// service's test of its stored enums).
#[cfg(feature = "mongo")]
pub fn stored_as_queried<T>() -> bool
where
    T: strum::VariantArray + serde::Serialize + Into<Bson> + Copy,
{
    T::VARIANTS.iter().all(|value| mongodb::bson::to_bson(value).ok() == Some((*value).into()))
}

#[cfg(test)]
#[cfg(feature = "mongo")]
mod tests {
    use crate::contract::media::MediaStatus;

    #[test]
    fn media_states_are_queried_as_they_are_stored() {
        assert!(super::stored_as_queried::<MediaStatus>());
    }
}
