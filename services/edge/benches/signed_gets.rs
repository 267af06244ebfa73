//! `cargo bench -p edge`: edge (the release binary, its own process) in
//! front of an S3 origin, beside the origin alone and nginx serving the
//! same object from memory, in one run:
//!
//! - signed GETs/s of a 200 KB object, 16 connections, p50/p99: the origin
//!   alone (presigned GETs), edge without its cache (every GET goes to S3),
//!   edge with a warm cache, nginx (the physical ceiling here);
//! - origin requests for 1,000 concurrent GETs of one cold object;
//! - edge's peak RSS under a working set 4× its cache budget;
//! - peak RSS while 16 clients stream a 32 MiB object (uncached, over the size limit).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use cloudfront_sign::{HashAlgorithm, KeyKind, PrivateKey, Signer};
use common::s3::S3Settings;

const CONNECTIONS: usize = 16;
const PHOTO_BYTES: usize = 200 * 1024;
const MEASURE: Duration = Duration::from_secs(3);
const BUDGET_MIB: u64 = 64;

/// Requests/s, MiB/s, p50 and p99 of one load run.
struct Figures {
    per_second: f64,
    mib_per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// `CONNECTIONS` clients GET `urls` (round robin) for `duration`.
async fn load(urls: Arc<Vec<String>>, duration: Duration) -> Figures {
    let client = reqwest::Client::builder().pool_max_idle_per_host(CONNECTIONS).build().unwrap();
    let bytes = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|i| {
            let (client, urls, bytes) = (client.clone(), urls.clone(), bytes.clone());
            tokio::spawn(async move {
                let mut took = Vec::new();
                let mut n = i;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let mut response = client.get(&urls[n % urls.len()]).send().await.unwrap();
                    assert_eq!(response.status(), 200, "{}", urls[n % urls.len()]);
                    while let Some(chunk) = response.chunk().await.unwrap() {
                        bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    }
                    took.push(sent.elapsed());
                    n += 1;
                }
                took
            })
        })
        .collect();
    let mut took = Vec::new();
    for task in tasks {
        took.extend(task.await.unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    Figures {
        per_second: took.len() as f64 / seconds,
        mib_per_second: bytes.load(Ordering::Relaxed) as f64 / seconds / 1_048_576.0,
        p50: at(0.50),
        p99: at(0.99),
    }
}

async fn measure(urls: Vec<String>) -> Figures {
    let urls = Arc::new(urls);
    load(urls.clone(), Duration::from_secs(1)).await; // warm-up (and, for edge, a warm cache)
    load(urls, MEASURE).await
}

/// The rounds' mean rate, and their mean percentiles.
fn mean(rounds: &[Figures]) -> Figures {
    let n = rounds.len() as f64;
    let average = |f: &dyn Fn(&Figures) -> f64| rounds.iter().map(f).sum::<f64>() / n;
    Figures {
        per_second: average(&|f| f.per_second),
        mib_per_second: average(&|f| f.mib_per_second),
        p50: Duration::from_secs_f64(average(&|f| f.p50.as_secs_f64())),
        p99: Duration::from_secs_f64(average(&|f| f.p99.as_secs_f64())),
    }
}

fn row(name: &str, figures: &Figures) {
    println!(
        "| {name} | {:.0} | {:.0} | {:.1} ms | {:.1} ms |",
        figures.per_second,
        figures.mib_per_second,
        figures.p50.as_secs_f64() * 1000.0,
        figures.p99.as_secs_f64() * 1000.0
    );
}

/// The edge binary with `cache` as `EDGE_CACHE_BYTES`, on its own port.
struct EdgeProcess {
    child: Child,
    base: String,
}

impl EdgeProcess {
    async fn start(s3: &S3Settings, key_file: &Path, cache: &str) -> Self {
        let port = testkit::process::free_port().unwrap();
        let (access, secret) = s3.credentials.as_ref().unwrap();
        use common::secrecy::ExposeSecret;
        let mut child = Command::new(env!("CARGO_BIN_EXE_edge"))
            .env_clear()
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("HTTP_WORKERS", "2")
            .env("RUST_LOG", "warn")
            .env("S3_BUCKET", &s3.bucket)
            .env("S3_ENDPOINT", s3.endpoint.as_ref().unwrap())
            .env("S3_ACCESS_KEY_ID", access)
            .env("S3_SECRET_ACCESS_KEY", secret.expose_secret())
            .env("EDGE_PUBLIC_KEYS", format!("KBENCH={}", key_file.display()))
            .env("EDGE_CACHE_BYTES", cache)
            .env("EDGE_CACHE_MAX_OBJECT_BYTES", "8MiB")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
                return Self { child, base };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("edge did not start");
    }

    /// (now, peak) resident memory in MiB.
    fn rss_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for EdgeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx serving `file` from memory (the page cache, open-file cache,
/// sendfile), two workers as edge has; `None` where nginx is not installed.
fn nginx(dir: &Path) -> Option<(Child, String)> {
    let binary = std::env::var("NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
    if !Path::new(&binary).exists() {
        return None;
    }
    let port = testkit::process::free_port().unwrap();
    let temp = |name: &str| format!("{name}_temp_path {};", dir.join(name).display());
    let config = format!(
        "worker_processes 2;\ndaemon off;\npid {pid};\nerror_log {dir}/error.log;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 100000;\n\
         open_file_cache max=64;\n  {body}\n  {proxy}\n  {fastcgi}\n  {uwsgi}\n  {scgi}\n\
         server {{ listen 127.0.0.1:{port}; root {dir}/www; }}\n}}\n",
        pid = dir.join("nginx.pid").display(),
        dir = dir.display(),
        body = temp("client_body"),
        proxy = temp("proxy"),
        fastcgi = temp("fastcgi"),
        uwsgi = temp("uwsgi"),
        scgi = temp("scgi"),
    );
    std::fs::write(dir.join("nginx.conf"), config).unwrap();
    let child = Command::new(binary)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-p")
        .arg(dir)
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((child, format!("http://127.0.0.1:{port}")))
}

/// SIGTERM to the master, which stops its workers (SIGKILL would orphan them).
fn stop_nginx(mut master: Child) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(master.id()).unwrap());
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let _ = master.wait();
}

fn photo_bytes(seed: usize) -> Vec<u8> {
    (0..PHOTO_BYTES).map(|i| ((i * 7 + seed) % 251) as u8).collect()
}

async fn run() {
    let work = tempfile::tempdir().unwrap();
    let credentials = ("bench-key".to_owned(), "bench-secret-0123456789".to_owned());
    let origin = testkit::s3::start_in_background(
        &work.path().join("s3"),
        ([127, 0, 0, 1], 0).into(),
        credentials.clone(),
    )
    .unwrap();
    let s3 = testkit::s3::S3Endpoint {
        endpoint: format!("http://{}", origin.addr),
        region: "us-east-1".into(),
        access_key: credentials.0,
        secret_key: credentials.1,
    }
    .settings("bench");
    let sdk = testkit::s3::client(&s3).await;
    sdk.create_bucket().bucket("bench").send().await.unwrap();
    let put = |key: String, body: Vec<u8>| {
        let sdk = sdk.clone();
        async move { sdk.put_object().bucket("bench").key(key).body(ByteStream::from(body)).send().await.unwrap() }
    };
    put("private/bench/photo.jpg".into(), photo_bytes(0)).await;
    put("private/bench/cold.jpg".into(), photo_bytes(1)).await;
    put("private/bench/large.bin".into(), (0..32 << 20).map(|i| (i % 253) as u8).collect()).await;
    // The working set: 4× the cache budget in 200 KB photos
    // (`EDGE_BENCH=throughput` skips the memory figures).
    let throughput_only = std::env::var("EDGE_BENCH").is_ok_and(|v| v == "throughput");
    let working_set =
        if throughput_only { 0 } else { (BUDGET_MIB * 4 * 1024 * 1024 / PHOTO_BYTES as u64) as usize };
    for n in 0..working_set {
        put(format!("private/set/{n}.jpg"), photo_bytes(n)).await;
    }

    let key = PrivateKey::generate(KeyKind::Rsa).unwrap();
    let key_file = work.path().join("bench_public.pem");
    std::fs::write(&key_file, key.public_key().unwrap().to_pem().unwrap()).unwrap();
    let signer = Signer::new("KBENCH", key, HashAlgorithm::Sha1);
    let expires = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 3600;
    // Distinct URLs, as distinct viewers would send.
    let signed =
        |base: &str, path: &str, n: u64| signer.canned_url(&format!("{base}{path}"), expires + n).unwrap();

    println!("signed GETs of a 200 KB object, {CONNECTIONS} connections, loopback, one run:\n");
    println!("| server | GETs/s | MiB/s | p50 | p99 |\n|---|---|---|---|---|");
    let presigned = PresigningConfig::expires_in(Duration::from_secs(3600)).unwrap();
    let mut origin_urls = Vec::new();
    for _ in 0..16 {
        let request = sdk
            .get_object()
            .bucket("bench")
            .key("private/bench/photo.jpg")
            .presigned(presigned.clone())
            .await
            .unwrap();
        origin_urls.push(request.uri().to_owned());
    }
    let origin_alone = measure(origin_urls).await;
    row("S3 origin alone (s3s-fs, presigned GETs)", &origin_alone);

    let uncached = EdgeProcess::start(&s3, &key_file, "0").await;
    let urls = (0..64).map(|n| signed(&uncached.base, "/private/bench/photo.jpg", n)).collect();
    row("edge, cache off (every GET to the origin)", &measure(urls).await);
    drop(uncached);

    let edge = EdgeProcess::start(&s3, &key_file, &format!("{BUDGET_MIB}MiB")).await;
    put("public/bench/photo.jpg".into(), photo_bytes(0)).await;
    let www = work.path().join("nginx");
    std::fs::create_dir_all(www.join("www/private/bench")).unwrap();
    std::fs::write(www.join("www/private/bench/photo.jpg"), photo_bytes(0)).unwrap();
    let server = nginx(&www);
    // The cores are shared with the clients, and the figures drift from one
    // second to the next: the three take turns, five rounds each.
    let signed_urls: Vec<String> =
        (0..64).map(|n| signed(&edge.base, "/private/bench/photo.jpg", n)).collect();
    let public_urls = vec![format!("{}/public/bench/photo.jpg", edge.base)];
    let mut rounds: [Vec<Figures>; 3] = Default::default();
    for _ in 0..5 {
        rounds[0].push(measure(signed_urls.clone()).await);
        rounds[1].push(measure(public_urls.clone()).await);
        if let Some((_, base)) = &server {
            rounds[2].push(measure(vec![format!("{base}/private/bench/photo.jpg")]).await);
        }
    }
    let names = [
        "edge, warm cache",
        "edge, warm cache, unsigned public object",
        "nginx, the same file from memory (no signature)",
    ];
    for (name, figures) in names.iter().zip(&rounds) {
        if !figures.is_empty() {
            row(name, &mean(figures));
        }
    }
    match server {
        Some((child, _)) => {
            stop_nginx(child);
            let ratios: Vec<String> = rounds[0]
                .iter()
                .zip(&rounds[2])
                .map(|(edge, ceiling)| format!("{:.0}%", 100.0 * edge.per_second / ceiling.per_second))
                .collect();
            println!(
                "\nwarm edge: {:.1}× the origin alone, {:.0}% of nginx (rounds: {})",
                mean(&rounds[0]).per_second / origin_alone.per_second,
                100.0 * mean(&rounds[0]).per_second / mean(&rounds[2]).per_second,
                ratios.join(", ")
            );
        }
        None => println!("(nginx not installed: scripts/bootstrap installs it)"),
    }

    // Coalescing: 1,000 concurrent GETs of one cold object.
    let client = reqwest::Client::new();
    let url = signed(&edge.base, "/private/bench/cold.jpg", 0);
    let gets = (0..1000).map(|_| {
        let (client, url) = (client.clone(), url.clone());
        async move { client.get(url).send().await.unwrap().bytes().await.unwrap().len() }
    });
    let sizes = futures_util::future::join_all(gets).await;
    assert!(sizes.iter().all(|n| *n == PHOTO_BYTES));
    println!(
        "\n1,000 concurrent GETs of one cold object through edge: {} origin request(s)",
        origin.requests.count("GET", "bench", "private/bench/cold.jpg")
    );

    if throughput_only {
        return;
    }
    // Memory: a working set of 4× the budget, every object twice, shuffled.
    let (before, _) = edge.rss_mib();
    let mut order: Vec<usize> = (0..working_set).chain(0..working_set).collect();
    order.sort_by_key(|n| (n * 7919) % working_set);
    let urls: Vec<String> =
        order.iter().map(|n| signed(&edge.base, &format!("/private/set/{n}.jpg"), 0)).collect();
    let total = urls.len();
    let urls = Arc::new(urls);
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (client, urls, next) = (client.clone(), urls.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(url) = urls.get(n) else { break };
                    client.get(url).send().await.unwrap().bytes().await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let (_, high_water) = edge.rss_mib();
    println!(
        "working set {} MiB ({working_set} photos, {total} GETs) through a {BUDGET_MIB} MiB cache: edge's RSS {before:.0} MiB \
         before, peak {high_water:.0} MiB (limit: budget + 64 MiB + that start = {:.0} MiB)",
        working_set * PHOTO_BYTES / 1_048_576,
        BUDGET_MIB as f64 + 64.0 + before
    );

    // A 32 MiB object is over the cache's object limit: streamed through.
    let large = Arc::new(vec![signed(&edge.base, "/private/bench/large.bin", 0)]);
    let figures = load(large, Duration::from_secs(3)).await;
    let (_, high_water) = edge.rss_mib();
    println!(
        "32 MiB object (over the size limit, streamed) to {CONNECTIONS} clients: {:.0} MiB/s; edge's peak RSS {high_water:.0} MiB",
        figures.mib_per_second
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(run());
}
