//! Money's states and kinds, stored by name and queried by enum
//! ([`common::stored`]); the test holds every one of them to that.

pub(crate) use common::stored_enum;

#[cfg(test)]
mod tests {
    use common::stored::stored_as_queried;

    use crate::money::disputes::{ReversalKind, ReversalState};
    use crate::money::outflows::{OutflowKind, OutflowState};
    use crate::money::purchases::{EntitlementState, PurchaseState};
    use crate::money::topups::TopupState;

    #[test]
    fn queries_name_states_and_kinds_as_they_are_stored() {
        assert!(stored_as_queried::<PurchaseState>(), "PurchaseState");
        assert!(stored_as_queried::<EntitlementState>(), "EntitlementState");
        assert!(stored_as_queried::<TopupState>(), "TopupState");
        assert!(stored_as_queried::<OutflowKind>(), "OutflowKind");
        assert!(stored_as_queried::<OutflowState>(), "OutflowState");
        assert!(stored_as_queried::<ReversalKind>(), "ReversalKind");
        assert!(stored_as_queried::<ReversalState>(), "ReversalState");
    }
}
