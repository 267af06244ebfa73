//! States and kinds are kept in documents as their snake_case names, and
//! queries name them by the enum: `doc! { "state": PurchaseState::Active }`.
//! [`stored_enum!`] declares such an enum: serde stores it and strum names
//! it in queries with one spelling (the test below holds the two together
//! for every variant), so no query can look for a state no document has.

/// Declares an enum stored by its snake_case name, usable in `doc!`.
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

        impl From<$name> for mongodb::bson::Bson {
            fn from(value: $name) -> Self {
                mongodb::bson::Bson::String(<&'static str>::from(value).to_owned())
            }
        }
    };
}

pub(crate) use stored_enum;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use mongodb::bson::Bson;
    use serde::Serialize;
    use strum::VariantArray;

    use crate::money::disputes::{ReversalKind, ReversalState};
    use crate::money::outflows::{OutflowKind, OutflowState};
    use crate::money::purchases::{EntitlementState, PurchaseState};
    use crate::money::topups::TopupState;

    fn stored_as_queried<T: VariantArray + Serialize + Into<Bson> + Copy>() {
        for value in T::VARIANTS {
            assert_eq!(mongodb::bson::to_bson(value).unwrap(), (*value).into());
        }
    }

    #[test]
    fn queries_name_states_and_kinds_as_they_are_stored() {
        stored_as_queried::<PurchaseState>();
        stored_as_queried::<EntitlementState>();
        stored_as_queried::<TopupState>();
        stored_as_queried::<OutflowKind>();
        stored_as_queried::<OutflowState>();
        stored_as_queried::<ReversalKind>();
        stored_as_queried::<ReversalState>();
    }
}
