//! The HTTP server every service runs: request ids, metrics, health,
//! problem+json for every error actix itself would otherwise answer, and
//! graceful shutdown on SIGTERM (actix's default).

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::config::Env;
use crate::health::{self, ReadinessChecks};
use crate::metrics::{self, Metrics};
use crate::{problem, request_id};

/// Default cap on JSON bodies; services lower or raise it per route.
pub const DEFAULT_JSON_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub listen: SocketAddr,
    pub workers: usize,
}

impl HttpSettings {
    pub fn from_env(env: &mut Env, default_listen: SocketAddr) -> Option<Self> {
        let default_workers = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        let listen = env.or("LISTEN_ADDR", default_listen);
        let workers = env.or("HTTP_WORKERS", default_workers);
        Some(Self { listen: listen?, workers: workers?.max(1) })
    }

    /// Settings for tests: loopback, any free port.
    pub fn ephemeral() -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], 0)), workers: 1 }
    }
}

/// A bound, not yet running, service.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Binds `settings.listen` and builds the server; `routes` adds the
/// service's own routes and state.
pub fn start<F>(
    name: &'static str,
    settings: &HttpSettings,
    readiness: ReadinessChecks,
    routes: F,
) -> anyhow::Result<Application>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let listener = TcpListener::bind(settings.listen)
        .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", settings.listen))?;
    start_on(name, listener, settings.workers, readiness, routes)
}

/// `start` on a listener bound beforehand (when its port must be known first).
pub fn start_on<F>(
    name: &'static str,
    listener: TcpListener,
    workers: usize,
    readiness: ReadinessChecks,
    routes: F,
) -> anyhow::Result<Application>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let port = listener.local_addr()?.port();
    let metrics = web::Data::new(Metrics::new(name)?);
    let readiness = web::Data::new(readiness);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .app_data(readiness.clone())
            .app_data(problem::json_config(DEFAULT_JSON_LIMIT))
            .app_data(problem::path_config())
            .app_data(problem::query_config())
            .wrap(from_fn(metrics::middleware))
            .wrap(from_fn(request_id::middleware))
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .route("/metrics", web::get().to(metrics::endpoint))
            .configure(routes.clone())
            .default_service(web::to(problem::not_found))
    })
    .workers(workers)
    .listen(listener)?
    .run();
    tracing::info!(service = name, port, "listening");
    Ok(Application { port, server })
}

/// The whole of a service's `main`: telemetry, configuration (a bad one
/// stops the process with every problem named, exit code 2), then serve
/// until SIGTERM or Ctrl-C.
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
        build(config).await?.run_until_stopped().await?;
        Ok(())
    });
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "{name} stopped with an error");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Registers a service's public routes and lists them as `PUBLIC_ROUTES`, so
/// its API document can be checked against what it really serves.
#[macro_export]
macro_rules! public_routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// Every public route of this service: (method, path pattern).
        pub const PUBLIC_ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// Registers [`PUBLIC_ROUTES`].
        pub fn configure_public(cfg: &mut actix_web::web::ServiceConfig) {
            $( cfg.route($path, actix_web::web::$method().to($handler)); )*
        }
    };
}
