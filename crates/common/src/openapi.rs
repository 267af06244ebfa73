//! What every service's OpenAPI document shares: the bearer scheme, and
//! problem+json for every error answer.
//!
//! Handlers list their own answers (`#[utoipa::path(responses(...))]`), error
//! statuses without a body; [`Conventions`] then gives every error answer the
//! `Problem` body and adds the answers any route may give: 400 for a request
//! that does not parse, 401 where a token is needed, 503 when a dependency is
//! down.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, PartialSchema, ToSchema};

use crate::problem::{CONTENT_TYPE, ProblemBody};

pub const BEARER: &str = "bearer";

pub struct Conventions;

fn problem(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(ProblemBody::name()))).build();
    ResponseBuilder::new().description(description).content(CONTENT_TYPE, content).build().into()
}

fn add_default(operation: &mut Operation, status: &str, description: &str) {
    operation.responses.responses.entry(status.to_owned()).or_insert_with(|| problem(description));
}

impl Modify for Conventions {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.insert(ProblemBody::name().into_owned(), ProblemBody::schema());
        components.security_schemes.insert(
            BEARER.to_owned(),
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from POST /v1/auth/login."))
                    .build(),
            ),
        );
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
            ]
            .into_iter()
            .flatten()
            {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                add_default(
                    operation,
                    "400",
                    "The request does not parse: malformed JSON, a missing, unknown or mistyped field, a bad parameter.",
                );
                if secured {
                    add_default(operation, "401", "No valid access token.");
                }
                add_default(
                    operation,
                    "503",
                    "A service this depends on is unavailable; try again (see Retry-After).",
                );
                for (status, response) in operation.responses.responses.iter_mut() {
                    let is_error = status.starts_with('4') || status.starts_with('5');
                    if let RefOr::T(answer) = response
                        && is_error
                        && answer.content.is_empty()
                    {
                        *response = problem(&answer.description);
                    }
                }
            }
        }
    }
}

/// A service's public API from one list of handlers: each registered for the
/// server (`configure_public`) and documented (`ApiDoc`, whose paths are
/// these handlers, with `tags` and the [`Conventions`]). A handler's method
/// and path are written once, on the handler: actix's route attribute, which
/// utoipa's `actix_extras` reads into the document.
///
/// ```ignore
/// #[utoipa::path(tag = "auth", responses((status = 200, description = "Tokens")))]
/// #[actix_web::post("/v1/auth/login")]
/// async fn login() -> HttpResponse { todo!() }
///
/// common::public_api! {
///     tags((name = "auth", description = "Accounts and tokens")),
///     crate::sessions::login,
/// }
/// ```
#[macro_export]
macro_rules! public_api {
    // Handlers are taken as plain tokens (`a::b`), not `$x:path`: the
    // OpenAPI derive cannot read a path fragment handed on by a macro.
    (tags($($tag:tt),* $(,)?), $($($handler:ident)::+),* $(,)?) => {
        /// Registers every public route.
        pub fn configure_public(cfg: &mut actix_web::web::ServiceConfig) {
            $( cfg.service($($handler)::+); )*
        }

        // The derive reads a modifier as a single name.
        use $crate::openapi::Conventions as PublicApiConventions;

        /// This service's part of the API document.
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($($handler)::+),*), tags($($tag),*), modifiers(&PublicApiConventions))]
        pub struct ApiDoc;
    };
}
