//! The deployment files agree with the code (no container engine runs here,
//! so this is what can be checked): every environment variable docker-compose
//! and the Kubernetes manifests set is one the service reads, every probed
//! port and path exists, and nginx, the Ingress and the dev gateway route
//! the same paths to the same services.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::config::variables_read;
use devstack::gateway::{ROUTES, Route};
use serde_yaml_ng::Value;

const SERVICES: [(&str, u16); 5] =
    [("auth", 8081), ("post", 8082), ("media", 8083), ("url-signer", 8084), ("edge", 8085)];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo().join(relative)).unwrap()
}

fn port_of(service: &str) -> u16 {
    SERVICES.iter().find(|(name, _)| *name == service).unwrap().1
}

/// What `service` reads when started with `vars`, plus what is read outside
/// its configuration: logging (common::telemetry) and the AWS SDK's own chain.
fn reads(service: &str, vars: &BTreeMap<String, String>) -> BTreeSet<String> {
    let vars = vars.clone();
    let mut names = match service {
        "auth" => variables_read::<auth::Config>(vars),
        "post" => variables_read::<post::Config>(vars),
        "media" => variables_read::<media::Config>(vars),
        "url-signer" => variables_read::<url_signer::Config>(vars),
        "edge" => variables_read::<edge::Config>(vars),
        other => panic!("unknown service {other}"),
    };
    names.extend(
        ["RUST_LOG", "LOG_FORMAT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]
            .map(String::from),
    );
    names
}

fn unread(service: &str, vars: &BTreeMap<String, String>) -> Vec<String> {
    let read = reads(service, vars);
    vars.keys().filter(|name| !read.contains(*name)).cloned().collect()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn listen_port(vars: &BTreeMap<String, String>) -> Option<u16> {
    vars.get("LISTEN_ADDR")?.rsplit(':').next()?.parse().ok()
}

#[test]
fn docker_compose_sets_only_what_the_services_read_and_probes_what_exists() {
    let mut compose: Value = serde_yaml_ng::from_str(&read("docker-compose.yml")).unwrap();
    compose.apply_merge().unwrap();
    let mut problems = Vec::new();
    for (service, port) in SERVICES {
        let definition = &compose["services"][service];
        let vars: BTreeMap<String, String> =
            definition["environment"].as_mapping().unwrap().iter().map(|(k, v)| (text(k), text(v))).collect();
        for name in unread(service, &vars) {
            problems.push(format!("compose {service}: {name} is not read by {service}"));
        }
        if listen_port(&vars) != Some(port) {
            problems.push(format!("compose {service}: LISTEN_ADDR is not port {port}"));
        }
        let health: Vec<String> =
            definition["healthcheck"]["test"].as_sequence().unwrap().iter().map(text).collect();
        if !health.contains(&format!("http://127.0.0.1:{port}/healthz")) {
            problems.push(format!("compose {service}: health check does not probe :{port}/healthz"));
        }
    }
    for replicated in ["post", "media"] {
        assert_eq!(compose["services"][replicated]["deploy"]["replicas"].as_u64(), Some(2), "{replicated}");
    }
    // The CloudFront private key is mounted into url-signer and its one-shot maker only.
    for (name, definition) in compose["services"].as_mapping().unwrap() {
        let volumes = serde_yaml_ng::to_string(&definition["volumes"]).unwrap();
        let name = text(name);
        if volumes.contains("cloudfront-key") && name != "url-signer" && name != "keys-init" {
            problems.push(format!("compose {name} mounts the CloudFront private key"));
        }
    }
    // nginx's upstreams name the services' ports.
    let nginx = read("deploy/nginx/nginx.conf");
    for (service, port) in SERVICES.iter().filter(|(s, _)| *s != "url-signer") {
        if !nginx.contains(&format!("server {service}:{port} resolve;")) {
            problems.push(format!("nginx.conf has no upstream {service}:{port}"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Every document of every manifest in deploy/k8s.
fn manifests() -> Vec<Value> {
    let mut documents = Vec::new();
    for entry in std::fs::read_dir(repo().join("deploy/k8s")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let source = std::fs::read_to_string(&path).unwrap();
            for document in serde_yaml_ng::Deserializer::from_str(&source) {
                let value: Value = serde::Deserialize::deserialize(document).unwrap();
                if !value.is_null() {
                    documents.push(value);
                }
            }
        }
    }
    documents
}

fn of_kind<'a>(documents: &'a [Value], kind: &str) -> Vec<&'a Value> {
    documents.iter().filter(|d| d["kind"] == kind).collect()
}

fn name(document: &Value) -> String {
    text(&document["metadata"]["name"])
}

#[test]
fn kubernetes_manifests_set_only_what_the_services_read_and_probe_what_exists() {
    let documents = manifests();
    let mut problems = Vec::new();
    let deployments = of_kind(&documents, "Deployment");
    assert_eq!(
        deployments.iter().map(|d| name(d)).collect::<BTreeSet<_>>(),
        SERVICES.iter().map(|(s, _)| (*s).to_owned()).collect::<BTreeSet<_>>()
    );
    for deployment in &deployments {
        let service = name(deployment);
        let port = port_of(&service);
        let spec = &deployment["spec"]["template"]["spec"];
        let container = &spec["containers"][0];
        let vars: BTreeMap<String, String> = container["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|e| (text(&e["name"]), e.get("value").map(text).unwrap_or_else(|| "from-a-secret".into())))
            .collect();
        if container.get("envFrom").is_some() {
            problems.push(format!("k8s {service}: envFrom hides which variables are set"));
        }
        for name in unread(&service, &vars) {
            problems.push(format!("k8s {service}: {name} is not read by {service}"));
        }
        if listen_port(&vars) != Some(port)
            || container["ports"][0]["containerPort"].as_u64() != Some(port.into())
        {
            problems.push(format!("k8s {service}: not listening on {port}"));
        }
        for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
            let get = &container[probe]["httpGet"];
            if get["path"] != path || get["port"].as_u64() != Some(port.into()) {
                problems.push(format!("k8s {service}: {probe} is not {path} on {port}"));
            }
        }
        if container["resources"]["requests"]["cpu"].is_null()
            || container["resources"]["requests"]["memory"].is_null()
        {
            problems.push(format!("k8s {service}: no resource requests"));
        }
        let secrets = serde_yaml_ng::to_string(&spec["volumes"]).unwrap();
        if secrets.contains("shutter-cloudfront-key") != (service == "url-signer") {
            problems.push(format!("k8s {service}: the CloudFront private key belongs to url-signer alone"));
        }
    }
    let services: BTreeSet<String> = of_kind(&documents, "Service").iter().map(|s| name(s)).collect();
    for (service, _) in SERVICES {
        assert!(services.contains(service), "no Service for {service}");
        let pdb = of_kind(&documents, "PodDisruptionBudget").iter().any(|p| name(p) == service);
        assert!(pdb, "no PodDisruptionBudget for {service}");
    }
    let scaled: BTreeSet<String> = of_kind(&documents, "HorizontalPodAutoscaler")
        .iter()
        .map(|h| text(&h["spec"]["scaleTargetRef"]["name"]))
        .collect();
    assert_eq!(scaled, ["media".to_owned(), "post".to_owned()].into());
    // Only post and media may reach url-signer.
    let policy =
        of_kind(&documents, "NetworkPolicy").into_iter().find(|p| name(p) == "url-signer-callers").unwrap();
    let callers: BTreeSet<String> = policy["spec"]["ingress"][0]["from"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|f| text(&f["podSelector"]["matchLabels"]["app.kubernetes.io/name"]))
        .collect();
    assert_eq!(callers, ["media".to_owned(), "post".to_owned()].into());
    // The Ingress routes exactly the gateway's table.
    let ingress = of_kind(&documents, "Ingress")[0];
    let mut routed = BTreeSet::new();
    for rule in ingress["spec"]["rules"].as_sequence().unwrap() {
        for path in rule["http"]["paths"].as_sequence().unwrap() {
            let backend = text(&path["backend"]["service"]["name"]);
            let port = path["backend"]["service"]["port"]["number"].as_u64().unwrap();
            assert_eq!(port, u64::from(port_of(&backend)), "Ingress port of {backend}");
            let exact = path["pathType"] == "Exact";
            routed.insert((text(&path["path"]), exact, backend));
        }
    }
    assert_eq!(routed, gateway_table(), "Ingress and gateway disagree");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The gateway's routes as (path, exact, service), without the page and the hidden prefix.
fn gateway_table() -> BTreeSet<(String, bool, String)> {
    ROUTES
        .iter()
        .filter_map(|(path, route)| {
            let service = match route {
                Route::Auth => "auth",
                Route::Post => "post",
                Route::Media => "media",
                Route::Edge => "edge",
                Route::Page | Route::Hidden => return None,
            };
            Some(((*path).to_owned(), !path.ends_with('/'), service.to_owned()))
        })
        .collect()
}

#[test]
fn nginx_routes_are_the_gateway_routes() {
    let mut routed = BTreeSet::new();
    let mut hidden = Vec::new();
    for line in read("deploy/nginx/routes.conf").lines().map(str::trim).filter(|l| l.starts_with("location "))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (exact, path) = if words[1] == "=" { (true, words[2]) } else { (false, words[1]) };
        if line.contains("return 404") {
            hidden.push(path.to_owned());
        } else if let Some(upstream) = line.split("proxy_pass http://shutter_").nth(1) {
            let target = upstream.split(';').next().unwrap();
            let (service, uri) = target.split_once('/').map_or((target, None), |(s, u)| (s, Some(u)));
            // A URI, when given, is the location itself: nginx then forwards its
            // normalised path, never the client's spelling (edge alone gets that).
            match uri {
                Some(uri) => assert_eq!(format!("/{uri}"), path, "{line}"),
                None => assert_eq!(service, "edge", "{line}: the API services get the normalised path"),
            }
            routed.insert((path.to_owned(), exact, service.to_owned()));
        }
    }
    assert_eq!(routed, gateway_table(), "nginx and gateway disagree");
    let gateway_hidden: Vec<String> =
        ROUTES.iter().filter(|(_, r)| *r == Route::Hidden).map(|(p, _)| (*p).to_owned()).collect();
    assert_eq!(hidden, gateway_hidden);
}

#[test]
fn every_image_listens_where_its_health_check_looks() {
    let dockerfile = read("Dockerfile");
    for (service, port) in SERVICES {
        let stage = dockerfile
            .split(&format!("AS {service}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no stage {service}"));
        let stage = stage.split("\nFROM ").next().unwrap();
        assert!(stage.contains(&format!("ENV LISTEN_ADDR=0.0.0.0:{port}")), "{service}");
        assert!(stage.contains(&format!("http://127.0.0.1:{port}/healthz")), "{service}");
        assert!(stage.contains(&format!("ENTRYPOINT [\"/usr/local/bin/{service}\"]")), "{service}");
    }
    assert!(dockerfile.contains("USER 10001:10001"), "images run as non-root");
}
