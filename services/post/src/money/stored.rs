//! States and kinds are kept in documents as their snake_case names, and
//! queries name them by the enum: `doc! { "state": PurchaseState::Active }`.
//! strum spells each name as serde stores it (the test below holds the two
//! together), so no query can look for a state no document has.

use mongodb::bson::Bson;

use crate::money::outflows::{OutflowKind, OutflowState};
use crate::money::purchases::{EntitlementState, PurchaseState};
use crate::money::topups::TopupState;

macro_rules! stored_by_name {
    ($($stored:ty),+) => {$(
        impl From<$stored> for Bson {
            fn from(value: $stored) -> Self {
                Bson::String(<&'static str>::from(value).to_owned())
            }
        }
    )+};
}

stored_by_name!(PurchaseState, EntitlementState, TopupState, OutflowKind, OutflowState);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde::Serialize;
    use strum::VariantArray;

    use super::*;

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
    }
}
