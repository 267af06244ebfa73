//! The listener viewers reach (the distribution's address), on hyper: an
//! object's GET or HEAD goes through the gate, and its cached bytes leave
//! without a copy — hyper writes the body's `Bytes` as they are, and the
//! connection's writer hands sealed memory to the kernel by `sendfile`
//! (`zero_copy`). actix, which every other service runs, copies each body
//! into a write buffer first, which held a warm edge to two thirds of a
//! static file server. Every other path — CloudFront's API, health, metrics
//! — is handed to the actix server edge shares with the other services
//! (`forward`), so those keep one implementation everywhere.

pub mod forward;
pub mod zero_copy;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::metrics::Metrics;
use common::request_id;
use common::server::Front;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::state::Edge;
use crate::viewer::{Response, Viewer};
use forward::Control;
use zero_copy::ZeroCopyStream;

/// How long a client may take to send a request's head, counted from when
/// the connection is ready for one: slow clients, and idle keep-alive
/// connections, are closed after it.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

struct State {
    edge: Arc<Edge>,
    control: Control,
    metrics: Metrics,
}

/// Serves `listener` until the returned front is asked to stop; then no new
/// connections, and those open get `grace` to finish their requests.
pub fn start(
    listener: std::net::TcpListener,
    edge: Arc<Edge>,
    control: Control,
    metrics: Metrics,
    grace: Duration,
) -> io::Result<Front> {
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    let stop = CancellationToken::new();
    let state = Arc::new(State { edge, control, metrics });
    let served = Box::pin(accept(listener, state, stop.clone(), grace));
    Ok(Front { port, stop, served })
}

async fn accept(listener: TcpListener, state: Arc<State>, stop: CancellationToken, grace: Duration) {
    let connections = GracefulShutdown::new();
    // Past the grace, connections still open are dropped (closed).
    let past_grace = CancellationToken::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(HEAD_TIMEOUT);
    loop {
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors, or a connection reset before it
                    // was taken: the listener itself is fine.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let sent = state.edge.cache.as_ref().map(|cache| cache.metrics.zero_copy_bytes.clone());
        let stream = ZeroCopyStream { socket: stream, sent };
        let state = state.clone();
        // Boxed: hyper moves the request's future into place, and the
        // whole gate and cache state machine is kilobytes to copy.
        let service = service_fn(move |req| Box::pin(answer(req, peer, state.clone())));
        let connection = connections.watch(http.serve_connection(TokioIo::new(stream), service));
        let past_grace = past_grace.clone();
        tokio::spawn(async move {
            tokio::select! {
                ended = connection => if let Err(err) = ended {
                    tracing::debug!(error = %err, "viewer connection ended");
                },
                () = past_grace.cancelled() => {}
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, connections.shutdown()).await.is_err() {
        tracing::warn!("viewer connections still open after the grace; closed");
        past_grace.cancel();
    }
}

/// `common::request_id::HEADER`, as the `http` crate hyper uses names it.
const REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

/// The route label objects are counted under.
const OBJECT_ROUTE: &str = "/{key}";

async fn answer(
    req: http::Request<Incoming>,
    peer: SocketAddr,
    state: Arc<State>,
) -> Result<Response, Infallible> {
    if forward::is_control(req.uri().path()) {
        return Ok(state.control.forward(req).await);
    }
    let started = Instant::now();
    let id = request_id::accept_or_mint(req.headers().get(REQUEST_ID).map(|v| v.as_bytes()));
    let span =
        tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let (head, _) = req.into_parts();
    // An IPv4 peer on a dual-stack socket arrives as `::ffff:a.b.c.d`.
    let viewer = Viewer { head, peer: peer.ip().to_canonical() };
    let mut response = match common::path_guard::normalise(viewer.head.uri.path()) {
        Err(refusal) => {
            span.in_scope(|| tracing::info!(?refusal, "request path refused"));
            crate::denied::xml(http::StatusCode::BAD_REQUEST, "InvalidURI", refusal.message())
        }
        Ok(_) => {
            request_id::scope(id.clone(), crate::gate::serve(&viewer, &state.edge))
                .instrument(span.clone())
                .await
        }
    };
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    span.in_scope(|| tracing::info!(status, elapsed_ms = elapsed * 1000.0, "request finished"));
    if let Ok(value) = http::HeaderValue::from_str(id.as_str()) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    state.metrics.observe(viewer.head.method.as_str(), OBJECT_ROUTE, status, elapsed);
    Ok(response)
}
