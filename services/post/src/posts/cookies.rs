//! One CloudFront signed cookie per viewer, over their own prefix
//! (`private/viewers/{viewer}/`, where media keeps their marked copies):
//! every paid photo a viewer is entitled to — bought, or by subscription —
//! is served from there under one signature, and photo URLs in answers
//! carry none. The cookie's policy names that prefix only, so it never
//! opens another viewer's copies or a clean original; it is bound to the
//! viewer's network when paid URLs are (`posts::binding`), and short-lived:
//! an answer hands a fresh one when the viewer's is past half its life, and
//! a lapsed or refunded entitlement stops being served new ones. Each
//! replica keeps the cookies it signed, so a viewer costs at most one
//! signature per cookie lifetime.

use actix_web::body::BoxBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder};
use common::contract::media::viewer_prefix;
use common::contract::signing::{COOKIES_PATH, CookieRequest, CookieResponse, SignItem};
use common::ids::UserId;
use common::internal_client::ServiceClient;
use ipnet::IpNet;
use serde::Serialize;

/// A viewer's cookies as the answer sets them.
#[derive(Debug, Clone)]
pub struct ViewerCookie {
    /// `/private/viewers/{viewer}/`.
    pub path: String,
    /// `CloudFront-Policy`, `CloudFront-Signature`, `CloudFront-Key-Pair-Id`.
    pub pairs: Vec<(String, String)>,
    /// Epoch seconds.
    pub expires_at: u64,
}

/// Where the cookies go: `POST_COOKIE_DOMAIN` (a domain the API and the
/// distribution's alternate domain share; unset: the API's host, as on the
/// dev stack's one origin) and whether they need HTTPS.
#[derive(Debug, Clone)]
pub struct CookieSettings {
    pub domain: Option<String>,
    pub secure: bool,
}

pub struct CookieJar {
    pub signer: ServiceClient,
    pub photo_base_url: String,
    pub lifetime_s: u64,
    pub settings: CookieSettings,
    signed: quick_cache::sync::Cache<(UserId, Option<IpNet>), ViewerCookie>,
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl CookieJar {
    pub fn new(
        signer: ServiceClient,
        photo_base_url: String,
        lifetime_s: u64,
        settings: CookieSettings,
    ) -> Self {
        Self { signer, photo_base_url, lifetime_s, settings, signed: quick_cache::sync::Cache::new(100_000) }
    }

    /// `viewer`'s own copies' URL prefix.
    pub fn prefix_url(&self, viewer: &UserId) -> String {
        format!("{}/{}", self.photo_base_url, viewer_prefix(viewer))
    }

    /// `viewer`'s cookie for `range`: the one signed before while it has
    /// half its life left, else a new one; `None` when url-signer cannot
    /// sign now.
    pub async fn for_viewer(&self, viewer: &UserId, range: Option<IpNet>) -> Option<ViewerCookie> {
        let slot = (viewer.clone(), range);
        if let Some(cookie) = self.signed.get(&slot)
            && cookie.expires_at > now() + self.lifetime_s / 2
        {
            return Some(cookie);
        }
        let item = SignItem {
            resource: format!("{}*", self.prefix_url(viewer)),
            expires_in_s: self.lifetime_s,
            ip: range.map(|range| range.to_string()),
            not_before: None,
        };
        let request = CookieRequest { item, key_id: None };
        let signed = match self.signer.post_json_idempotent::<_, CookieResponse>(COOKIES_PATH, &request).await
        {
            Ok(signed) => signed,
            Err(err) => {
                tracing::warn!(error = %err, "a viewer's cookie cannot be signed now; their copies answer without URLs");
                return None;
            }
        };
        let cookie = ViewerCookie {
            path: format!("/{}", viewer_prefix(viewer)),
            pairs: signed.cookies.into_iter().collect(),
            expires_at: signed.expires_at,
        };
        self.signed.insert(slot, cookie.clone());
        Some(cookie)
    }
}

/// A JSON answer that may set the viewer's cookie.
pub struct Delivered<T> {
    pub status: StatusCode,
    pub body: T,
    pub cookie: Option<ViewerCookie>,
    pub settings: CookieSettings,
}

impl<T: Serialize> Responder for Delivered<T> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(cookie) = &self.cookie {
            let max_age = cookie.expires_at.saturating_sub(now());
            for (name, value) in &cookie.pairs {
                let mut built = Cookie::build(name.clone(), value.clone())
                    .path(cookie.path.clone())
                    .max_age(actix_web::cookie::time::Duration::seconds(i64::try_from(max_age).unwrap_or(0)))
                    .http_only(true)
                    .secure(self.settings.secure)
                    .same_site(SameSite::Lax);
                if let Some(domain) = &self.settings.domain {
                    built = built.domain(domain.clone());
                }
                response.cookie(built.finish());
            }
        }
        response.json(self.body)
    }
}
