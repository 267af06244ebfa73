//! Production's load balancer config, checked here: Debian's nginx with
//! `deploy/nginx/routes.conf` in front of the locally running services, and
//! the new user's story driven through it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

mod support;

fn authority(url: &str) -> &str {
    url.trim_start_matches("http://")
}

#[tokio::test]
async fn the_public_api_works_through_nginx_with_the_production_routes() {
    let nginx = std::env::var("NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
    assert!(Path::new(&nginx).exists(), "{nginx} is missing: run scripts/bootstrap (or set NGINX)");
    let port = testkit::process::free_port().unwrap();
    let public = format!("http://127.0.0.1:{port}");
    let options = devstack::StackOptions { public_url: Some(public.clone()), ..support::options() };
    let dir = options.data_dir.join("nginx");
    let stack = devstack::Stack::start(options).await.unwrap();

    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    // nginx's workers run as another user when started by root: give them a
    // copy of the page where they may read it.
    let web = dir.join("web");
    std::fs::create_dir_all(&web).unwrap();
    for page in std::fs::read_dir(repo.join("crates/devstack/web")).unwrap() {
        let page = page.unwrap().path();
        std::fs::copy(&page, web.join(page.file_name().unwrap())).unwrap();
    }
    let temp = |name: &str| format!("{name}_temp_path {};", dir.join(name).display());
    let config = format!(
        "worker_processes 1;\npid {pid};\nevents {{ worker_connections 256; }}\n\
         http {{\n  include /etc/nginx/mime.types;\n  access_log off;\n  {body}\n  {proxy}\n  {fastcgi}\n  {uwsgi}\n  {scgi}\n\
         upstream shutter_auth {{ server {auth}; keepalive 4; }}\n\
         upstream shutter_post {{ server {post}; keepalive 4; }}\n\
         upstream shutter_media {{ server {media}; keepalive 4; }}\n\
         upstream shutter_edge {{ server {edge}; keepalive 4; }}\n\
         server {{\n    listen 127.0.0.1:{port};\n    set $shutter_web_root {web};\n    include {routes};\n  }}\n}}\n",
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
        web = web.display(),
        routes = repo.join("deploy/nginx/routes.conf").display(),
    );
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config).unwrap();
    let (prefix, conf, errors) =
        (dir.display().to_string(), conf.display().to_string(), dir.join("error.log"));
    let args = ["-p", &prefix, "-c", &conf, "-e", &errors.display().to_string(), "-g", "daemon off;"];
    testkit::process::spawn_tied(Path::new(&nginx), &args, true).unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let page = reqwest::get(format!("{public}/")).await.unwrap();
    assert_eq!(page.status(), 200, "{}", std::fs::read_to_string(&errors).unwrap_or_default());
    assert!(page.text().await.unwrap().contains("<title>Shutter</title>"));
    // nginx names each request; the service behind it answers with that id.
    let jwks = reqwest::get(format!("{public}/.well-known/jwks.json")).await.unwrap();
    let id = jwks.headers().get("x-request-id").unwrap().to_str().unwrap();
    assert_eq!(id.len(), 32, "nginx's $request_id: {id}");
    support::story::new_user_story(&stack).await;
}
