//! The control plane's requests — CloudFront's invalidation API, health,
//! metrics — handed to edge's actix server on a loopback port, unchanged
//! (the SDK's signature covers the Host, which stays the viewer's).

use std::net::SocketAddr;

use http::{StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::invalidations::API_PREFIX;
use crate::viewer::Response;

/// Paths the actix server answers; every other path names an object.
pub fn is_control(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
        || path.strip_prefix(API_PREFIX).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[derive(Clone)]
pub struct Control {
    client: Client<HttpConnector, Incoming>,
    at: SocketAddr,
}

impl Control {
    pub fn new(at: SocketAddr) -> Self {
        Self { client: Client::builder(TokioExecutor::new()).build_http(), at }
    }

    pub async fn forward(&self, mut req: http::Request<Incoming>) -> Response {
        let path_and_query = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        let Ok(uri) = format!("http://{}{path_and_query}", self.at).parse::<Uri>() else {
            return crate::denied::xml(StatusCode::BAD_REQUEST, "InvalidURI", "The request URI is malformed");
        };
        *req.uri_mut() = uri;
        for hop in common::hop_by_hop::HEADERS {
            req.headers_mut().remove(*hop);
        }
        match self.client.request(req).await {
            Ok(response) => response.map(|body| body.map_err(std::io::Error::other).boxed_unsync()),
            Err(err) => {
                tracing::error!(error = %err, "edge's control server did not answer");
                crate::denied::xml(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "Try again.")
            }
        }
    }
}
