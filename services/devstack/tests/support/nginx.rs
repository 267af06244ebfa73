//! Debian's nginx with production's `deploy/nginx/routes.conf`, in front of
//! a running stack's services.

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::server::HttpSettings;
use devstack::Stack;
use devstack::ports::HeldPort;

fn authority(url: &str) -> &str {
    url.trim_start_matches("http://")
}

/// A stack whose public address is nginx's, and that address.
pub struct BehindNginx {
    pub stack: Stack,
    /// nginx's error log, for assertion messages.
    pub errors: PathBuf,
    /// nginx's port, held from before the stack started (which opens many
    /// sockets that could take it) until the test ends.
    _port: HeldPort,
}

/// Where the gateway's web root is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum WebPage {
    /// The page, as compose serves it.
    Served,
    /// An empty folder, as in Kubernetes (deploy/nginx/k8s.conf).
    None,
}

/// Starts a stack and nginx in front of it with the production routes.
pub async fn start() -> BehindNginx {
    start_with(WebPage::Served).await
}

pub async fn start_with(page: WebPage) -> BehindNginx {
    let nginx = std::env::var("NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
    assert!(Path::new(&nginx).exists(), "{nginx} is missing: run scripts/bootstrap (or set NGINX)");
    let held = HeldPort::hold(&HttpSettings::ephemeral()).unwrap();
    let port = held.addr().port();
    let public = format!("http://127.0.0.1:{port}");
    // Presigned uploads go through nginx too (nginx/uploads.conf), as in compose.
    let options = devstack::StackOptions {
        public_url: Some(public.clone()),
        s3_presign_endpoint: Some(public.clone()),
        ..super::options()
    };
    // Not under the stack's data folder, which only the stack's user may
    // enter: nginx's workers run as another user when started by root.
    let dir = testkit::temp_folder("nginx");
    let stack = devstack::Stack::start(options).await.unwrap();

    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    // A copy of the page they may read (the stack made this process's
    // files private: modes are set here explicitly).
    use std::os::unix::fs::PermissionsExt;
    let readable = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    let web = dir.join("web");
    std::fs::create_dir_all(&web).unwrap();
    readable(&dir, 0o755);
    readable(&web, 0o755);
    for file in std::fs::read_dir(repo.join("services/devstack/web")).unwrap() {
        let file = file.unwrap().path();
        if page == WebPage::Served {
            let copy = web.join(file.file_name().unwrap());
            std::fs::copy(&file, &copy).unwrap();
            readable(&copy, 0o644);
        }
    }
    let temp = |name: &str| format!("{name}_temp_path {};", dir.join(name).display());
    let config = format!(
        "worker_processes 1;\npid {pid};\nevents {{ worker_connections 256; }}\n\
         http {{\n  include /etc/nginx/mime.types;\n  access_log off;\n  {body}\n  {proxy}\n  {fastcgi}\n  {uwsgi}\n  {scgi}\n\
         upstream shutter_auth {{ server {auth}; keepalive 4; }}\n\
         upstream shutter_post {{ server {post}; keepalive 4; }}\n\
         upstream shutter_media {{ server {media}; keepalive 4; }}\n\
         upstream shutter_edge {{ server {edge}; keepalive 4; }}\n\
         upstream shutter_s3 {{ server {s3}; keepalive 4; }}\n\
         server {{\n    listen 127.0.0.1:{port} reuseport;\n    set $shutter_web_root {web};\n    include {routes};\n    include {uploads};\n  }}\n}}\n",
        pid = dir.join("nginx.pid").display(),
        body = temp("client_body"),
        proxy = temp("proxy"),
        fastcgi = temp("fastcgi"),
        uwsgi = temp("uwsgi"),
        scgi = temp("scgi"),
        auth = authority(&stack.auth),
        post = authority(&stack.post),
        media = authority(&stack.media),
        edge = authority(&stack.edge),
        s3 = authority(stack.s3.endpoint.as_deref().unwrap()),
        web = web.display(),
        routes = repo.join("deploy/nginx/routes.conf").display(),
        uploads = repo.join("deploy/nginx/uploads.conf").display(),
    );
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config).unwrap();
    let (prefix, conf, errors) =
        (dir.display().to_string(), conf.display().to_string(), dir.join("error.log"));
    let args = ["-p", &prefix, "-c", &conf, "-e", &errors.display().to_string(), "-g", "daemon off;"];
    testkit::process::spawn_tied(Path::new(&nginx), &args, true).unwrap().keep();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    BehindNginx { stack, errors, _port: held }
}
