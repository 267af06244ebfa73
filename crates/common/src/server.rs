//! The HTTP server every service runs: request ids, metrics, health,
//! problem+json for every error actix itself would otherwise answer, and a
//! graceful stop on SIGTERM or SIGINT: no new connections, requests in flight
//! finish (within `SHUTDOWN_GRACE`), background work stops, clients close.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::config::{Env, Seconds};
use crate::health::{self, ReadinessChecks};
use crate::metrics::{self, Metrics};
use crate::shutdown::Workers;
use crate::{path_guard, problem, request_id};

/// Default cap on JSON bodies; services lower or raise it per route.
pub const DEFAULT_JSON_LIMIT: usize = 64 * 1024;
/// How long requests in flight may take to finish once a stop is asked for.
/// With the few seconds background work and clients get, a process is gone
/// within the 10 s orchestrators usually allow.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(7);
/// What background work and closing clients get after the server stopped.
const AFTER_SERVER_STOPPED: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub listen: SocketAddr,
    pub workers: usize,
    /// `SHUTDOWN_GRACE`: how long requests in flight may take after a stop
    /// is asked for (whole seconds; actix counts no finer).
    pub shutdown_grace: Duration,
    /// A listener bound beforehand, used instead of binding `listen`.
    pub prebound: Prebound,
}

/// A listener handed to the one service started on these settings: for a
/// caller (the dev stack) that must know a service's port before it starts
/// without leaving the port free, for anyone else to take, in between.
#[derive(Debug, Clone, Default)]
pub struct Prebound(Arc<Mutex<Option<TcpListener>>>);

impl Prebound {
    pub fn new(listener: TcpListener) -> Self {
        Self(Arc::new(Mutex::new(Some(listener))))
    }

    /// The listener, once; the service then owns the only handle, so the
    /// port closes when it stops.
    fn take(&self) -> Option<TcpListener> {
        self.0.lock().map_or(None, |mut slot| slot.take())
    }
}

impl HttpSettings {
    pub fn from_env(env: &mut Env, default_listen: SocketAddr) -> Option<Self> {
        let listen = env.or("LISTEN_ADDR", default_listen, "the address to listen on");
        let workers = env.optional::<usize>(
            "HTTP_WORKERS",
            "actix worker threads; unset: one per core (edge's viewers' listener runs on the process's runtime, one thread per core)",
        );
        let grace = env.or(
            "SHUTDOWN_GRACE",
            Seconds(DEFAULT_SHUTDOWN_GRACE),
            "on SIGTERM or SIGINT, how long requests in flight may take to finish (the process is gone within 10 s)",
        );
        let cores = || std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        Some(Self {
            listen: listen?,
            workers: workers.unwrap_or_else(cores).max(1),
            shutdown_grace: grace?.0,
            prebound: Prebound::default(),
        })
    }

    /// The listener to serve on: the prebound one, else `listen` bound now.
    pub fn bind(&self) -> anyhow::Result<TcpListener> {
        match self.prebound.take() {
            Some(listener) => Ok(listener),
            None => TcpListener::bind(self.listen)
                .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", self.listen)),
        }
    }

    /// Loopback, `port`, one worker.
    pub fn loopback(port: u16) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            workers: 1,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            prebound: Prebound::default(),
        }
    }

    /// Settings for tests: loopback, any free port.
    pub fn ephemeral() -> Self {
        Self::loopback(0)
    }
}

/// A bound, not yet running, service.
pub struct Application {
    port: u16,
    server: Server,
    front: Option<Front>,
    workers: Workers,
    on_stop: Vec<BoxFuture<'static, ()>>,
    streams: Option<CancellationToken>,
}

/// A listener of a service's own that answers the public port in front of
/// its actix server and stops with it (edge's viewer path, which needs a
/// data path actix does not have).
pub struct Front {
    pub port: u16,
    /// Cancelled when the service is asked to stop: no new connections,
    /// requests in flight finish within the grace.
    pub stop: CancellationToken,
    /// Ends once the last connection closed.
    pub served: BoxFuture<'static, ()>,
}

/// Stops a running [`Application`]: its actix server and its front.
#[derive(Clone)]
pub struct StopHandle {
    server: ServerHandle,
    front: Option<CancellationToken>,
    streams: Option<CancellationToken>,
}

impl StopHandle {
    /// `graceful`: requests in flight on the actix server finish (within the
    /// grace) first; the front always lets them finish within it.
    pub async fn stop(&self, graceful: bool) {
        if let Some(front) = &self.front {
            front.cancel();
        }
        // Streams never end by themselves: a graceful stop would wait out its grace.
        if let Some(streams) = &self.streams {
            streams.cancel();
        }
        self.server.stop(graceful).await;
    }
}

impl Application {
    /// The port clients use: the front's when there is one.
    pub fn port(&self) -> u16 {
        self.front.as_ref().map_or(self.port, |front| front.port)
    }

    pub fn handle(&self) -> StopHandle {
        StopHandle {
            server: self.server.handle(),
            front: self.front.as_ref().map(|f| f.stop.clone()),
            streams: self.streams.clone(),
        }
    }

    /// Puts `front` on the public port; the actix server stays on its own.
    pub fn with_front(mut self, front: Front) -> Self {
        self.front = Some(front);
        self
    }

    /// Long-lived responses (event streams) that end when a stop is asked
    /// for, before the server waits for requests in flight.
    pub fn with_streams(mut self, streams: CancellationToken) -> Self {
        self.streams = Some(streams);
        self
    }

    /// Background work that stops when the server does.
    pub fn with_workers(mut self, workers: Workers) -> Self {
        self.workers = workers;
        self
    }

    /// Something to do once the server and its workers stopped (close a client).
    pub fn on_stop(mut self, hook: impl Future<Output = ()> + Send + 'static) -> Self {
        self.on_stop.push(Box::pin(hook));
        self
    }

    /// Serves until [`StopHandle::stop`]; then stops the workers and runs
    /// the stop hooks, each bounded.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let front = async {
            if let Some(front) = self.front {
                front.served.await;
            }
        };
        let (served, ()) = futures_util::join!(self.server, front);
        self.workers.stop(AFTER_SERVER_STOPPED).await;
        for hook in self.on_stop {
            if tokio::time::timeout(AFTER_SERVER_STOPPED, hook).await.is_err() {
                tracing::warn!("a client did not close in time");
            }
        }
        served
    }
}

/// Binds `settings.listen` (or takes the prebound listener) and builds the
/// server; `routes` adds the service's own routes and state.
pub fn start<F>(
    name: &'static str,
    settings: &HttpSettings,
    readiness: ReadinessChecks,
    routes: F,
) -> anyhow::Result<Application>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    start_measured(name, settings, readiness, Metrics::new(name)?, routes)
}

/// `start` with a registry the service has added its own metrics to.
pub fn start_measured<F>(
    name: &'static str,
    settings: &HttpSettings,
    readiness: ReadinessChecks,
    metrics: Metrics,
    routes: F,
) -> anyhow::Result<Application>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    serve(name, settings, readiness, Exposure::PrivateNetwork, metrics, routes)
}

/// `start` for a server the public reaches directly (the dev stack's
/// gateway): health checks, but no `/metrics`.
pub fn start_public<F>(name: &'static str, settings: &HttpSettings, routes: F) -> anyhow::Result<Application>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    serve(name, settings, ReadinessChecks::default(), Exposure::Public, Metrics::new(name)?, routes)
}

/// Who can reach a listener, and so which operational endpoints it has.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Exposure {
    /// Behind the load balancer: `/metrics` is for the scraper.
    PrivateNetwork,
    Public,
}

fn serve<F>(
    name: &'static str,
    settings: &HttpSettings,
    readiness: ReadinessChecks,
    exposure: Exposure,
    metrics: Metrics,
    routes: F,
) -> anyhow::Result<Application>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let listener = settings.bind()?;
    let port = listener.local_addr()?.port();
    let metrics = web::Data::new(metrics);
    let readiness = web::Data::new(readiness);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .app_data(readiness.clone())
            .app_data(problem::json_config(DEFAULT_JSON_LIMIT))
            .app_data(problem::path_config())
            .app_data(problem::query_config())
            .wrap(from_fn(path_guard::middleware))
            .wrap(from_fn(metrics::middleware))
            .wrap(from_fn(request_id::middleware))
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .configure(|cfg| {
                if exposure == Exposure::PrivateNetwork {
                    cfg.route("/metrics", web::get().to(metrics::endpoint));
                }
            })
            .configure(routes.clone())
            .default_service(web::to(problem::not_found))
    })
    .workers(settings.workers)
    // The process decides when to stop (run_main, the dev stack), so every
    // signal means the same graceful stop.
    .disable_signals()
    .shutdown_timeout(settings.shutdown_grace.as_secs().max(1))
    .listen(listener)?
    .run();
    tracing::info!(service = name, port, "listening");
    Ok(Application {
        port,
        server,
        front: None,
        workers: Workers::default(),
        on_stop: Vec::new(),
        streams: None,
    })
}

/// The whole of a service's `main`: telemetry, configuration (a bad one
/// stops the process with every problem named, exit code 2), then serve
/// until SIGTERM or SIGINT and stop gracefully (exit code 0).
pub fn run_main<C, B, Fut>(
    name: &str,
    load: impl FnOnce() -> Result<C, crate::config::ConfigError>,
    build: B,
) -> std::process::ExitCode
where
    B: FnOnce(C) -> Fut,
    Fut: Future<Output = anyhow::Result<Application>>,
{
    crate::telemetry::init("info");
    let config = match load() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{name}: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("{name}: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome: anyhow::Result<()> = runtime.block_on(async move {
        // Listening from the start: a signal while starting stops the service once started.
        let stop_asked = tokio::spawn(crate::shutdown::signal());
        let app = build(config).await?;
        let server = app.handle();
        tokio::spawn(async move {
            let _ = stop_asked.await;
            server.stop(true).await;
        });
        app.run_until_stopped().await?;
        Ok(())
    });
    // Work still on the blocking pool (an image being decoded) is not waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(()) => {
            tracing::info!("{name} stopped");
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "{name} stopped with an error");
            std::process::ExitCode::FAILURE
        }
    }
}
