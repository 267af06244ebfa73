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
        // The image listens where its build says (the Dockerfile's SERVICE and PORT).
        let args = &definition["build"]["args"];
        if text(&args["SERVICE"]) != service || text(&args["PORT"]) != port.to_string() {
            problems.push(format!("compose {service}: not built as {service} on {port}"));
        }
        for (dependency, _) in definition["depends_on"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, c)| c["condition"] == "service_started")
        {
            problems.push(format!(
                "compose {service}: waits only for {} to start, not to be healthy",
                text(dependency)
            ));
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
        // Each caller's internal-call key: its own service and its maker only.
        for service in ["post", "media"] {
            if volumes.contains(&format!("internal-key-{service}:"))
                && name != service
                && name != "internal-keys-init"
            {
                problems.push(format!("compose {name} mounts {service}'s internal-call key"));
            }
        }
        if name == "edge"
            && serde_yaml_ng::to_string(&definition["environment"]).unwrap().contains("INTERNAL_AUTH")
        {
            problems.push("compose edge holds an internal credential".into());
        }
    }
    // Every long-running container says when it is healthy; no secret has a default.
    for (name, definition) in compose["services"].as_mapping().unwrap() {
        let (name, once) = (text(name), definition["restart"] == "no");
        if !once && definition["healthcheck"]["test"].is_null() {
            problems.push(format!("compose {name} has no health check"));
        }
        for port in definition["ports"].as_sequence().into_iter().flatten().map(text) {
            if name != "nginx" && !port.starts_with("127.0.0.1:") {
                problems.push(format!("compose {name} publishes {port} beyond this machine's loopback"));
            }
        }
    }
    let source = read("docker-compose.yml");
    assert!(!source.contains("INTERNAL_AUTH_SECRET"), "no secret shared by every service");
    for secret in ["MINIO_ROOT_PASSWORD", "EDGE_INVALIDATION_SECRET"] {
        assert!(source.contains(&format!("${{{secret}:?")), "{secret} must be required, not defaulted");
    }
    assert!(!source.contains("POST_DEV_TOPUP"), "the development top-up stays in the dev stack");
    // nginx's upstreams name the services' ports.
    let nginx = read("deploy/nginx/nginx.conf") + &read("deploy/nginx/k8s.conf");
    for (service, port) in SERVICES.iter().filter(|(s, _)| *s != "url-signer") {
        // edge is only in Kubernetes' self-hosted mode: looked up while running.
        let looked_up = if *service == "edge" { " resolve" } else { "" };
        for upstream in [
            format!("server {service}:{port} resolve;"),
            format!("server {service}.shutter.svc.cluster.local:{port}{looked_up};"),
        ] {
            if !nginx.contains(&upstream) {
                problems.push(format!("nginx has no upstream `{upstream}`"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Every document of every manifest in deploy/k8s and its self-hosted mode.
fn manifests() -> Vec<Value> {
    let mut documents = Vec::new();
    let files = ["deploy/k8s", "deploy/k8s/self-hosted"]
        .into_iter()
        .flat_map(|dir| std::fs::read_dir(repo().join(dir)).unwrap());
    for entry in files {
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
    let deployments: Vec<&Value> =
        of_kind(&documents, "Deployment").into_iter().filter(|d| name(d) != "gateway").collect();
    assert_eq!(
        deployments.iter().map(|d| name(d)).collect::<BTreeSet<_>>(),
        SERVICES.iter().map(|(s, _)| (*s).to_owned()).collect::<BTreeSet<_>>()
    );
    for deployment in of_kind(&documents, "Deployment") {
        let name = name(deployment);
        let spec = &deployment["spec"]["template"]["spec"];
        // The restricted Pod Security Standard, for every container, init ones too.
        if spec["securityContext"]["runAsNonRoot"] != true
            || spec["securityContext"]["seccompProfile"]["type"] != "RuntimeDefault"
        {
            problems.push(format!("k8s {name}: the pod is not non-root with the runtime's seccomp profile"));
        }
        let containers =
            spec["containers"].as_sequence().into_iter().chain(spec["initContainers"].as_sequence());
        for container in containers.flatten() {
            let context = &container["securityContext"];
            let dropped =
                context["capabilities"]["drop"].as_sequence().is_some_and(|d| d.iter().any(|c| c == "ALL"));
            if context["allowPrivilegeEscalation"] != false
                || !dropped
                || context["readOnlyRootFilesystem"] != true
            {
                problems.push(format!("k8s {name}/{}: not restricted", text(&container["name"])));
            }
            let image = text(&container["image"]);
            if image.ends_with(":latest") || !image.contains(':') {
                problems.push(format!("k8s {name}: image {image} is not pinned"));
            }
            let resources = &container["resources"];
            if ["requests", "limits"]
                .iter()
                .any(|k| resources[k]["cpu"].is_null() || resources[k]["memory"].is_null())
            {
                problems.push(format!(
                    "k8s {name}/{}: no cpu and memory requests and limits",
                    text(&container["name"])
                ));
            }
        }
    }
    for deployment in &deployments {
        let service = name(deployment);
        let port = port_of(&service);
        let spec = &deployment["spec"]["template"]["spec"];
        let container = &spec["containers"][0];
        let vars: BTreeMap<String, String> = container["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    text(&e["name"]),
                    e.get("value")
                        .map(text)
                        .unwrap_or_else(|| "a-value-from-a-secret-long-enough-for-any-secret".into()),
                )
            })
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
        for secret in container["env"].as_sequence().unwrap().iter().map(|e| &e["valueFrom"]["secretKeyRef"])
        {
            if secret["name"] == "shutter-s3" && secret["optional"] != true {
                problems.push(format!("k8s {service}: S3 keys must be optional (IRSA needs none)"));
            }
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
    // Internal calls are admitted only from the services that make them.
    let callers_of = |service: &str| -> BTreeSet<String> {
        let policy = of_kind(&documents, "NetworkPolicy")
            .into_iter()
            .find(|p| name(p) == format!("{service}-callers"))
            .unwrap_or_else(|| panic!("no NetworkPolicy {service}-callers"));
        policy["spec"]["ingress"][0]["from"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|f| {
                f["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str().map(str::to_owned)
            })
            .collect()
    };
    let set = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<BTreeSet<_>>();
    assert_eq!(callers_of("url-signer"), set(&["edge", "post"]), "the private key's callers");
    assert_eq!(callers_of("auth"), set(&["gateway", "media", "post"]));
    assert_eq!(callers_of("post"), set(&["gateway", "media"]));
    assert_eq!(callers_of("media"), set(&["gateway", "post"]));
    assert_eq!(callers_of("edge"), set(&["gateway", "media"]), "viewers, and invalidations");
    // Nothing in or out but what a policy admits, for every pod.
    let deny = of_kind(&documents, "NetworkPolicy").into_iter().find(|p| name(p) == "default-deny").unwrap();
    assert_eq!(deny["spec"]["podSelector"], Value::Mapping(Default::default()), "every pod");
    assert_eq!(text(&deny["spec"]["policyTypes"][0]), "Ingress");
    assert_eq!(text(&deny["spec"]["policyTypes"][1]), "Egress");
    let reaches = |pod: &str| -> BTreeSet<String> {
        of_kind(&documents, "NetworkPolicy")
            .into_iter()
            .filter(|p| p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == pod)
            .flat_map(|p| p["spec"]["egress"].as_sequence().into_iter().flatten())
            .flat_map(|rule| rule["to"].as_sequence().into_iter().flatten())
            .filter_map(|to| {
                to["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str().map(str::to_owned)
            })
            .collect()
    };
    assert_eq!(reaches("url-signer"), set(&[]), "the private key's holder reaches nobody");
    assert_eq!(reaches("gateway"), set(&["auth", "edge", "media", "post"]));
    assert_eq!(reaches("post"), set(&["auth", "media", "url-signer"]));
    assert_eq!(reaches("media"), set(&["auth", "edge", "post"]));
    assert_eq!(reaches("edge"), set(&["url-signer"]));
    assert_eq!(reaches("auth"), set(&[]));
    // Each Ingress terminates TLS for every host it serves and hands all to the gateway.
    for ingress in of_kind(&documents, "Ingress") {
        let tls_hosts: BTreeSet<String> = ingress["spec"]["tls"]
            .as_sequence()
            .unwrap()
            .iter()
            .flat_map(|t| t["hosts"].as_sequence().unwrap().iter().map(text))
            .collect();
        for rule in ingress["spec"]["rules"].as_sequence().unwrap() {
            assert!(tls_hosts.contains(&text(&rule["host"])), "no TLS for {}", text(&rule["host"]));
            for path in rule["http"]["paths"].as_sequence().unwrap() {
                assert_eq!(
                    text(&path["backend"]["service"]["name"]),
                    "gateway",
                    "the Ingress routes only to the gateway"
                );
            }
        }
    }
    // An autoscaler owns the replica count of what it scales.
    for deployment in of_kind(&documents, "Deployment") {
        if scaled.contains(&name(deployment)) && !deployment["spec"]["replicas"].is_null() {
            problems.push(format!("k8s {}: fixed replicas under an autoscaler", name(deployment)));
        }
    }
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
fn one_image_stage_listens_where_its_health_check_looks() {
    let dockerfile = read("Dockerfile");
    let stage = dockerfile.split("AS service\n").nth(1).expect("a service stage");
    for line in [
        "ARG SERVICE",
        "ARG PORT",
        "ENV LOG_FORMAT=json LISTEN_ADDR=0.0.0.0:${PORT} SERVICE_PORT=${PORT}",
        "USER 10001:10001",
        "ENTRYPOINT [\"/usr/local/bin/service\"]",
    ] {
        assert!(stage.contains(line), "the service stage lacks `{line}`");
    }
    assert!(
        stage.contains("http://127.0.0.1:${SERVICE_PORT}/healthz"),
        "the health check probes its own port"
    );
    for (service, _) in SERVICES {
        assert!(dockerfile.contains(&format!("target/release/{service}")), "{service} is built");
    }
}

/// What the Kubernetes install commands in deploy/README.md create, in order.
fn install_commands() -> Vec<String> {
    let readme = read("deploy/README.md");
    let section = readme.split("## Kubernetes").nth(1).unwrap().split("\n## ").next().unwrap();
    let block = section.split("```sh").nth(1).unwrap().split("```").next().unwrap();
    block
        .replace("\\\n", " ")
        .lines()
        .flat_map(|line| line.split("&&").map(str::trim).map(str::to_owned).collect::<Vec<_>>())
        .filter(|command| command.starts_with("kubectl"))
        .collect()
}

#[test]
fn kubernetes_installs_from_nothing_in_the_documented_order() {
    let commands = install_commands();
    let created = |kind: &str| -> BTreeSet<String> {
        commands
            .iter()
            .filter_map(|c| c.split(&format!("create {kind} ")).nth(1))
            .map(|rest| {
                rest.split_whitespace().find(|w| !w.starts_with('-') && *w != "generic").unwrap().to_owned()
            })
            .collect()
    };
    let (secrets, config_maps) = (created("secret"), created("configmap"));
    assert!(
        commands.first().is_some_and(|c| c.contains("k8s/namespace.yaml")),
        "the namespace first: {commands:#?}"
    );
    assert!(
        commands.last().is_some_and(|c| c.ends_with("apply -f k8s/")),
        "the manifests last: {commands:#?}"
    );
    let documents = manifests();
    for kind in ["Secret", "ConfigMap"] {
        for defined in of_kind(&documents, kind) {
            let name = name(defined);
            assert!(
                !secrets.contains(&name) && !config_maps.contains(&name),
                "applying k8s/ would overwrite {name}"
            );
        }
    }
    // Every Secret and ConfigMap a pod needs exists before the pod does.
    for deployment in of_kind(&documents, "Deployment") {
        let spec = &deployment["spec"]["template"]["spec"];
        for volume in spec["volumes"].as_sequence().into_iter().flatten() {
            if let Some(secret) = volume["secret"]["secretName"].as_str() {
                assert!(secrets.contains(secret), "{}: Secret {secret} is never created", name(deployment));
            }
            if let Some(map) = volume["configMap"]["name"].as_str() {
                assert!(config_maps.contains(map), "{}: ConfigMap {map} is never created", name(deployment));
            }
        }
        for env in spec["containers"][0]["env"].as_sequence().into_iter().flatten() {
            let secret = &env["valueFrom"]["secretKeyRef"];
            if let (Some(secret), false) = (secret["name"].as_str(), secret["optional"] == true) {
                assert!(secrets.contains(secret), "{}: Secret {secret} is never created", name(deployment));
            }
            let map = &env["valueFrom"]["configMapKeyRef"];
            if let (Some(map), false) = (map["name"].as_str(), map["optional"] == true) {
                assert!(config_maps.contains(map), "{}: ConfigMap {map} is never created", name(deployment));
            }
        }
    }
    // The key flow: the manifest and the private key reach url-signer alone;
    // edge trusts what url-signer publishes, so a rotation needs nothing of it.
    let cloudfront =
        commands.iter().find(|c| c.contains("create secret generic shutter-cloudfront-key")).unwrap();
    assert!(cloudfront.contains("keys.json") && cloudfront.contains(".pem"), "{cloudfront}");
    let deployment =
        |name: &str| of_kind(&documents, "Deployment").into_iter().find(|d| self::name(d) == name).unwrap();
    let env = |service: &str, var: &str| -> String {
        let container = &deployment(service)["spec"]["template"]["spec"]["containers"][0];
        container["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|e| e["name"] == var)
            .map(|e| text(&e["value"]))
            .unwrap_or_default()
    };
    assert_eq!(env("url-signer", "SIGNER_KEY_MANIFEST"), "/keys/keys.json");
    assert!(env("edge", "EDGE_KEYS_URL").starts_with("http://url-signer."), "edge follows url-signer's keys");
    let gateway = commands.iter().find(|c| c.contains("create configmap shutter-gateway")).unwrap();
    for file in ["nginx/routes.conf", "nginx/k8s.conf"] {
        assert!(gateway.contains(file), "the gateway's ConfigMap holds {file}: {gateway}");
    }
    // The self-hosted mode: takedowns go to edge's CloudFront API, under the
    // distribution id edge answers to, and edge's manifests are applied.
    let readme = read("deploy/README.md");
    let section = readme.split("## Kubernetes").nth(1).unwrap().split("\n## ").next().unwrap();
    let self_hosted =
        section.split("```sh").nth(2).unwrap().split("```").next().unwrap().replace("\\\n", " ");
    let edge_distribution = env("edge", "EDGE_DISTRIBUTION_ID");
    assert!(
        self_hosted.contains(&format!("CLOUDFRONT_DISTRIBUTION_ID={edge_distribution}"))
            && self_hosted.contains("CLOUDFRONT_ENDPOINT_URL=http://edge.shutter.svc.cluster.local:8085"),
        "self-hosted takedowns invalidate edge: {self_hosted}"
    );
    assert!(self_hosted.contains("kubectl apply -f k8s/ -f k8s/self-hosted/"), "{self_hosted}");
    assert!(
        !commands.iter().any(|c| c.contains("self-hosted")),
        "the CloudFront mode deploys nothing of the self-hosted one"
    );
}

/// compose's replica-set initiation gives up with a clear message when the
/// set never forms, instead of leaving everything waiting forever: its own
/// script, run here against a `mongosh` that never succeeds.
#[test]
fn compose_mongo_init_fails_clearly_at_its_deadline() {
    let mut compose: Value = serde_yaml_ng::from_str(&read("docker-compose.yml")).unwrap();
    compose.apply_merge().unwrap();
    let entrypoint = &compose["services"]["mongo-init"]["entrypoint"];
    assert_eq!(text(&entrypoint[0]), "bash");
    // compose writes a literal `$` as `$$`.
    let script = text(&entrypoint[2]).replace("$$", "$");
    let bin = tempfile::tempdir().unwrap();
    let mongosh = bin.path().join("mongosh");
    std::fs::write(&mongosh, "#!/bin/sh\necho 'MongoNetworkError: connect ECONNREFUSED' >&2\nexit 1\n")
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&mongosh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default());
    let started = std::time::Instant::now();
    let run = std::process::Command::new("bash")
        .args(["-c", &script])
        .env("PATH", path)
        .env("MONGO_INIT_TIMEOUT", "3")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(said.contains("mongo-init: the replica set could not be initiated within 3 s"), "{said}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "it gave up near its deadline");
}
