//! Internal routes, each declared once: its method, its pattern and who may
//! call it. The service that answers registers it from the declaration
//! ([`InternalRoute::serve`]) and the service that asks builds its path
//! from the same one ([`InternalRoute::path`]), so a pattern, a method or a
//! caller list cannot drift between the two sides.

use std::fmt;

use actix_web::{FromRequest, Handler, Resource, Responder, web};

use crate::internal_auth::AllowedCallers;

/// A Shutter service (or operator tool) as internal calls name it: the
/// `kid` of its internal tokens, the name callees allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Auth,
    Post,
    Media,
    UrlSigner,
    Edge,
    /// The moderation console (takedowns).
    Moderation,
}

impl Service {
    pub const fn name(self) -> &'static str {
        match self {
            Service::Auth => "auth",
            Service::Post => "post",
            Service::Media => "media",
            Service::UrlSigner => "url-signer",
            Service::Edge => "edge",
            Service::Moderation => "moderation",
        }
    }
}

impl From<Service> for String {
    fn from(service: Service) -> Self {
        service.name().to_owned()
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callers {
    /// Only these services, each proving it with its own key.
    Only(&'static [Service]),
    /// Anything on the internal network, without a credential (what is
    /// public anyway, such as public keys).
    Open,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InternalRoute {
    pub method: Method,
    /// actix's pattern: literal segments and `{name}` segments.
    pub pattern: &'static str,
    pub callers: Callers,
}

impl InternalRoute {
    /// The path to call: each `{…}` segment of the pattern replaced, in
    /// order, by one of `segments` (ids, which are URL-safe by construction).
    pub fn path(&self, segments: &[&dyn fmt::Display]) -> String {
        let mut given = segments.iter();
        let filled: Vec<String> = self
            .pattern
            .split('/')
            .map(|part| match part.starts_with('{') && part.ends_with('}') {
                true => given.next().map_or_else(String::new, ToString::to_string),
                false => part.to_owned(),
            })
            .collect();
        debug_assert!(given.next().is_none(), "more segments than {} has", self.pattern);
        filled.join("/")
    }

    /// The resource that answers this route with `handler`, open only to its callers.
    pub fn serve<F, Args>(&self, handler: F) -> Resource
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let route = match self.method {
            Method::Get => web::get(),
            Method::Post => web::post(),
        };
        let resource = web::resource(self.pattern);
        let resource = match self.callers {
            Callers::Only(services) => {
                resource.app_data(AllowedCallers::new(services.iter().map(|s| s.name())))
            }
            Callers::Open => resource,
        };
        resource.route(route.to(handler))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: InternalRoute = InternalRoute {
        method: Method::Get,
        pattern: "/internal/v1/media/{id}/access",
        callers: Callers::Only(&[Service::Media]),
    };

    #[test]
    fn a_path_is_its_pattern_with_the_segments_filled_in() {
        assert_eq!(ROUTE.path(&[&"0123abcd"]), "/internal/v1/media/0123abcd/access");
        let plain = InternalRoute { pattern: "/internal/v1/sign", ..ROUTE };
        assert_eq!(plain.path(&[]), "/internal/v1/sign");
        assert_eq!(Service::UrlSigner.to_string(), "url-signer");
    }
}
