//! The public address: one listener routing `/v1/...` to the service that
//! owns it and photo paths to edge, as the production load balancer does
//! (`deploy/nginx/` holds the same table), plus the web page at `/`.
//!
//! Paths are routed in their plain form (`common::path_guard`: a path with
//! an encoded `/`, `.` or `\` or a dot segment is refused with 400, as nginx's
//! routes refuse it), and the API services receive that form, so no upstream
//! can see a path that would route differently from how it was routed here.
//! Photo paths go to edge as the client wrote them: a signature covers the
//! URL as requested.
//!
//! Request bodies are streamed to the upstream with backpressure; responses
//! (photos, ranges) are streamed back. Hop-by-hop headers are dropped; `Host`
//! is kept, because edge checks signatures against the URL the client asked
//! for. This is the outermost proxy, so `X-Forwarded-For` is the client's
//! socket address alone: whatever a client writes there itself is dropped.

use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use common::hop_by_hop::is_hop_by_hop;
use common::problem::Problem;
use common::server::{Application, HttpSettings, Prebound};
use futures_util::StreamExt;

use crate::web_page;

/// Which service answers a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Auth,
    Post,
    Media,
    Edge,
    /// The static web client.
    Page,
    /// Internal APIs are never reachable from outside.
    Hidden,
}

/// The routing table, first match wins; `deploy/nginx/routes.conf` mirrors it.
pub const ROUTES: &[(&str, Route)] = &[
    ("/internal/", Route::Hidden),
    ("/v1/auth/", Route::Auth),
    ("/v1/users/me", Route::Auth),
    ("/.well-known/jwks.json", Route::Auth),
    ("/v1/media", Route::Media),
    ("/v1/media/", Route::Media),
    ("/v1/", Route::Post),
    ("/public/", Route::Edge),
    ("/private/", Route::Edge),
];

/// The route of `path`: an entry ending in `/` matches everything under it
/// (nginx's `location /x/`), any other entry only itself (`location = /x`).
pub fn route_of(path: &str) -> Route {
    ROUTES
        .iter()
        .find(|(entry, _)| if entry.ends_with('/') { path.starts_with(entry) } else { path == *entry })
        .map_or(Route::Page, |(_, route)| *route)
}

/// The services' base URLs.
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub auth: String,
    pub post: String,
    pub media: String,
    pub edge: String,
}

struct Gateway {
    upstreams: Upstreams,
    client: reqwest::Client,
}

pub fn build(
    listener: std::net::TcpListener,
    upstreams: Upstreams,
    api: serde_json::Value,
) -> anyhow::Result<Application> {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let gateway = web::Data::new(Gateway { upstreams, client });
    let settings =
        HttpSettings { workers: 2, prebound: Prebound::new(listener), ..HttpSettings::ephemeral() };
    common::server::start_public("gateway", &settings, move |cfg| {
        // The API document and its viewer are the gateway's own, not a route to a service.
        cfg.service(
            utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
                .external_url_unchecked("/openapi.json", api.clone()),
        )
        .route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect().insert_header(("location", "/docs/")).finish()
            }),
        )
        .app_data(gateway.clone())
        // Uploads are limited by media; the gateway only passes them on.
        .app_data(web::PayloadConfig::new(usize::MAX))
        .route("/{path:.*}", web::route().to(forward));
    })
}

async fn forward(
    req: HttpRequest,
    payload: web::Payload,
    gateway: web::Data<Gateway>,
) -> Result<HttpResponse, Problem> {
    let upstreams = &gateway.upstreams;
    // The path guard middleware has refused every path without a plain form.
    let path = common::path_guard::normalise(req.path())
        .map_err(|refusal| Problem::bad_request(refusal.message()))?;
    let route = route_of(&path);
    let base = match route {
        Route::Auth => &upstreams.auth,
        Route::Post => &upstreams.post,
        Route::Media => &upstreams.media,
        Route::Edge => &upstreams.edge,
        Route::Page => return Ok(web_page::serve(&req)),
        Route::Hidden => return Err(Problem::not_found("no such resource")),
    };
    let target = match (route, req.uri().query()) {
        (Route::Edge, _) => req.uri().path_and_query().map_or("/", |pq| pq.as_str()).to_owned(),
        (_, Some(query)) => format!("{path}?{query}"),
        (_, None) => path,
    };
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(|_| Problem::new(StatusCode::METHOD_NOT_ALLOWED, "unsupported method"))?;
    let mut upstream = gateway.client.request(method, format!("{base}{target}"));
    for (name, value) in req.headers() {
        if !is_hop_by_hop(name.as_str()) && name != "x-forwarded-for" && name != "x-forwarded-proto" {
            upstream = upstream.header(name.as_str(), value.as_bytes());
        }
    }
    if let Some(peer) = req.peer_addr() {
        upstream = upstream.header("x-forwarded-for", peer.ip().to_string());
    }
    upstream = upstream.header("x-forwarded-proto", "http");
    if let Some(id) = common::request_id::current() {
        upstream = upstream.header(common::request_id::HEADER.as_str(), id.as_str());
    }
    if has_body(&req) {
        upstream = upstream.body(reqwest::Body::wrap_stream(relay(payload)));
    }
    let response = upstream.send().await.map_err(|err| {
        Problem::new(StatusCode::BAD_GATEWAY, "the service behind this address is not answering")
            .with_cause(err)
    })?;
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut answer = HttpResponse::build(status);
    for (name, value) in response.headers() {
        if let Ok(name) = header::HeaderName::from_bytes(name.as_str().as_bytes())
            && !is_hop_by_hop(name.as_str())
            && name != header::CONTENT_LENGTH
        {
            answer.append_header((name, value.as_bytes()));
        }
    }
    // A known length is passed on as given (HEAD answers and ranges keep theirs).
    let length = response.headers().get(reqwest::header::CONTENT_LENGTH);
    if let Some(length) = length.and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()) {
        answer.no_chunking(length);
    }
    Ok(answer.streaming(response.bytes_stream()))
}

fn has_body(req: &HttpRequest) -> bool {
    req.headers().contains_key(header::CONTENT_LENGTH)
        || req.headers().contains_key(header::TRANSFER_ENCODING)
}

/// actix's payload lives on this worker's thread; a task there feeds it to
/// reqwest through a small channel, so a slow upstream slows the client.
fn relay(
    mut payload: web::Payload,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    actix_web::rt::spawn(async move {
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|err| std::io::Error::other(err.to_string()));
            let failed = chunk.is_err();
            if sender.send(chunk).await.is_err() || failed {
                break;
            }
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_public_path_has_its_owner() {
        for (path, route) in [
            ("/v1/auth/signup", Route::Auth),
            ("/v1/users/me", Route::Auth),
            ("/.well-known/jwks.json", Route::Auth),
            ("/v1/media", Route::Media),
            ("/v1/media/abc/complete", Route::Media),
            ("/v1/mediafoo", Route::Post),
            ("/v1/users/alice/posts", Route::Post),
            ("/v1/users/meat/posts", Route::Post),
            ("/v1/users/me/posts", Route::Post),
            ("/v1/feed", Route::Post),
            ("/public/previews/x.jpg", Route::Edge),
            ("/private/2026/01/01/x/display.jpg", Route::Edge),
            ("/internal/v1/sign", Route::Hidden),
            ("/", Route::Page),
            ("/app.js", Route::Page),
        ] {
            assert_eq!(route_of(path), route, "{path}");
        }
    }
}
