//! CloudFront's API for tests: `CLOUDFRONT_ENDPOINT_URL` when set, otherwise
//! moto's server mode (installed by `scripts/bootstrap`), started once per
//! test binary.
//!
//! moto implements CreatePublicKey, GetPublicKey, ListPublicKeys,
//! DeletePublicKey, CreateKeyGroup, GetKeyGroup, ListKeyGroups,
//! CreateDistribution and CreateInvalidation, but not UpdateKeyGroup (it
//! answers 500). A thin proxy in front of it adds that one operation the way
//! CloudFront documents it — `If-Match` must quote the group's current ETag,
//! else 412 `PreconditionFailed` — and shows the updated items in
//! GetKeyGroup. Everything else reaches moto untouched. Tests that rely on
//! UpdateKeyGroup therefore check our requests against this stand-in, not
//! against moto; `updates()` lists what was sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

static ENDPOINT: OnceLock<String> = OnceLock::new();
static UPDATES: OnceLock<Arc<Mutex<Vec<KeyGroupUpdate>>>> = OnceLock::new();

/// One UpdateKeyGroup request as the proxy received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGroupUpdate {
    pub group_id: String,
    pub if_match: Option<String>,
    pub items: Vec<String>,
}

/// The endpoint the SDK should use (`CLOUDFRONT_ENDPOINT_URL` for the tests).
pub fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(|| match std::env::var("CLOUDFRONT_ENDPOINT_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => start().expect("cannot start moto; run scripts/bootstrap"),
    })
}

/// Every UpdateKeyGroup request the proxy has seen in this test binary.
pub fn updates() -> Vec<KeyGroupUpdate> {
    UPDATES.get().map(|u| u.lock().unwrap().clone()).unwrap_or_default()
}

/// `cloudfront_api` settings for the test endpoint (dummy credentials: moto
/// ignores them), three attempts per call.
pub fn settings() -> cloudfront_api::ApiSettings {
    cloudfront_api::ApiSettings {
        endpoint: Some(endpoint().to_owned()),
        credentials: Some(("testing".into(), "testing".into())),
        max_attempts: 3,
    }
}

/// An SDK client for the test endpoint, for what the tests read back.
pub async fn client() -> aws_sdk_cloudfront::Client {
    cloudfront_api::CloudFront::new(&settings()).await.client().clone()
}

/// A new distribution in front of an S3 origin; answers its id.
pub async fn distribution() -> String {
    use aws_sdk_cloudfront::types::{
        DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig, ViewerProtocolPolicy,
    };
    let origin = Origin::builder()
        .id("s3")
        .domain_name("shutter-media.s3.amazonaws.com")
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .unwrap();
    let behaviour = DefaultCacheBehavior::builder()
        .target_origin_id("s3")
        .viewer_protocol_policy(ViewerProtocolPolicy::HttpsOnly)
        .build()
        .unwrap();
    let config = DistributionConfig::builder()
        .caller_reference(crate::unique_name("distribution"))
        .comment("Shutter test")
        .enabled(true)
        .origins(Origins::builder().quantity(1).items(origin).build().unwrap())
        .default_cache_behavior(behaviour)
        .build()
        .unwrap();
    let created = client().await.create_distribution().distribution_config(config).send().await.unwrap();
    created.distribution.unwrap().id
}

/// Every invalidation of `distribution_id`: (caller reference, paths).
pub async fn invalidations(distribution_id: &str) -> Vec<(String, Vec<String>)> {
    let client = client().await;
    let listed = client.list_invalidations().distribution_id(distribution_id).send().await.unwrap();
    let mut found = Vec::new();
    for summary in listed.invalidation_list.and_then(|l| l.items).unwrap_or_default() {
        let one =
            client.get_invalidation().distribution_id(distribution_id).id(summary.id).send().await.unwrap();
        let batch = one.invalidation.unwrap().invalidation_batch.unwrap();
        found.push((batch.caller_reference, batch.paths.and_then(|p| p.items).unwrap_or_default()));
    }
    found
}

fn start() -> anyhow::Result<String> {
    let binary = crate::process::tool(".tools/moto/bin/moto_server")?;
    let args = |port: u16| vec!["-H".into(), "127.0.0.1".into(), "-p".into(), port.to_string()];
    let (port, server) = crate::process::spawn_listening(&binary, args, Duration::from_secs(60))?;
    server.keep();
    let moto = format!("http://127.0.0.1:{port}");
    start_proxy(moto)
}

#[derive(Default)]
struct Groups {
    /// group id → (items, ETag) once updated through the proxy.
    updated: HashMap<String, (Vec<String>, String)>,
}

struct Proxy {
    moto: String,
    client: reqwest::Client,
    groups: Mutex<Groups>,
    /// UpdateKeyGroup is compare-and-set: one at a time.
    update_lock: tokio::sync::Mutex<()>,
    updates: Arc<Mutex<Vec<KeyGroupUpdate>>>,
}

fn start_proxy(moto: String) -> anyhow::Result<String> {
    let updates = UPDATES.get_or_init(Default::default).clone();
    let proxy = web::Data::new(Proxy {
        moto,
        client: reqwest::Client::new(),
        groups: Mutex::default(),
        update_lock: Default::default(),
        updates,
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    std::thread::Builder::new().name("cloudfront-proxy".into()).spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                App::new()
                    .app_data(proxy.clone())
                    .route("/2020-05-31/key-group/{id}", web::put().to(update_key_group))
                    .default_service(web::to(forward))
            })
            .workers(1)
            .listen(listener)
            .expect("proxy listener")
            .run()
            .await
        })
    })?;
    Ok(url)
}

fn xml_values<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(open.as_str()).skip(1).filter_map(|rest| rest.split(close.as_str()).next()).collect()
}

fn items_xml(items: &[String]) -> String {
    let keys: String = items.iter().map(|item| format!("<PublicKey>{item}</PublicKey>")).collect();
    format!("<Items>{keys}</Items>")
}

fn error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).content_type("text/xml").body(
        format!(
            "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">\
             <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>proxy</RequestId></ErrorResponse>"
        ),
    )
}

type Answer = (u16, Vec<(String, String)>, String);

async fn send_to_moto(
    proxy: &Proxy,
    method: &str,
    path: &str,
    headers: &actix_web::http::header::HeaderMap,
    body: web::Bytes,
) -> anyhow::Result<Answer> {
    let method = reqwest::Method::from_bytes(method.as_bytes())?;
    let mut request = proxy.client.request(method, format!("{}{path}", proxy.moto)).body(body.to_vec());
    // The caller's headers go along: moto routes by the signature's service name.
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| {
            *name != "content-length" && *name != "transfer-encoding" && *name != "connection"
        })
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()))
        .collect();
    Ok((status, headers, response.text().await?))
}

/// moto's answer, with a proxy-updated key group's items and ETag.
async fn forward(req: HttpRequest, body: web::Bytes, proxy: web::Data<Proxy>) -> HttpResponse {
    let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let Ok((status, mut headers, mut text)) =
        send_to_moto(&proxy, req.method().as_str(), path, req.headers(), body).await
    else {
        return error(503, "ServiceUnavailable", "moto is not answering");
    };
    if req.method() == "GET"
        && let Some(group_id) = req.path().strip_prefix("/2020-05-31/key-group/")
        && let Some((items, etag)) =
            proxy.groups.lock().unwrap().updated.get(group_id.trim_end_matches("/config"))
        && let (Some(start), Some(end)) = (text.find("<Items>"), text.find("</Items>"))
    {
        text.replace_range(start..end + "</Items>".len(), &items_xml(items));
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case("etag"));
        headers.push(("ETag".into(), etag.clone()));
    }
    let mut answer = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    for (name, value) in headers {
        answer.append_header((name, value));
    }
    answer.body(text)
}

async fn update_key_group(req: HttpRequest, body: web::Bytes, proxy: web::Data<Proxy>) -> HttpResponse {
    let group_id = req.match_info().query("id").to_owned();
    let xml = String::from_utf8_lossy(&body).into_owned();
    let items: Vec<String> = xml_values(&xml, "PublicKey").into_iter().map(str::to_owned).collect();
    let name = xml_values(&xml, "Name").first().map(|s| (*s).to_owned()).unwrap_or_default();
    let if_match = req.headers().get("if-match").and_then(|v| v.to_str().ok()).map(str::to_owned);
    proxy.updates.lock().unwrap().push(KeyGroupUpdate {
        group_id: group_id.clone(),
        if_match: if_match.clone(),
        items: items.clone(),
    });

    let _one_at_a_time = proxy.update_lock.lock().await;
    // The current ETag: ours after an update, moto's before.
    let current = proxy.groups.lock().unwrap().updated.get(&group_id).map(|(_, etag)| etag.clone());
    let current = match current {
        Some(etag) => etag,
        None => {
            let path = format!("/2020-05-31/key-group/{group_id}");
            match send_to_moto(&proxy, "GET", &path, req.headers(), web::Bytes::new()).await {
                Ok((200, headers, _)) => headers
                    .into_iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("etag"))
                    .map(|(_, value)| value)
                    .unwrap_or_default(),
                _ => return error(404, "NoSuchResource", "no such key group"),
            }
        }
    };
    if if_match.as_deref() != Some(current.as_str()) {
        return error(412, "PreconditionFailed", "the If-Match version is missing or not valid");
    }
    if items.is_empty() {
        return error(400, "InvalidArgument", "a key group needs at least one public key");
    }
    let etag = format!("E{}", uuid::Uuid::new_v4().simple().to_string().to_uppercase());
    proxy.groups.lock().unwrap().updated.insert(group_id.clone(), (items.clone(), etag.clone()));
    HttpResponse::Ok().content_type("text/xml").insert_header(("ETag", etag)).body(format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<KeyGroup xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">\
         <Id>{group_id}</Id><LastModifiedTime>2026-01-01T00:00:00Z</LastModifiedTime>\
         <KeyGroupConfig><Name>{name}</Name>{}</KeyGroupConfig></KeyGroup>",
        items_xml(&items)
    ))
}
