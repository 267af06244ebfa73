//! What a viewer sees of posts. Every photo is private: an entitled viewer
//! (free post, the author, a buyer) gets CloudFront signed URLs, fetched
//! from url-signer in batches of at most `sign_batch` URLs (its
//! `SIGNER_MAX_BATCH`), sent at once; anyone else gets the locked form with
//! the public blurred preview. When url-signer is slow or down the answer is
//! still 200, with `url: null` and an error per photo.

use common::internal_client::ServiceClient;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::posts::PostRecord;

#[derive(Serialize)]
struct SignItem {
    resource: String,
    expires_in_s: u64,
}

#[derive(Deserialize)]
struct Signed {
    url: String,
    expires_at: u64,
}

#[derive(Deserialize)]
struct SignResponse {
    items: Vec<Signed>,
}

pub struct Renderer {
    pub signer: ServiceClient,
    pub photo_base_url: String,
    pub url_lifetime_s: u64,
    /// The most URLs one signing call asks for (url-signer refuses more).
    pub sign_batch: usize,
}

/// A post as one viewer may see it, before URLs are filled in.
pub struct Visible<'a> {
    pub post: &'a PostRecord,
    pub entitled: bool,
}

impl Renderer {
    fn url_of(&self, key: &str) -> String {
        format!("{}/{key}", self.photo_base_url)
    }

    /// Renders `posts`, signing every entitled photo in one call.
    pub async fn render(&self, posts: &[Visible<'_>]) -> Vec<Value> {
        let resources: Vec<String> = posts
            .iter()
            .filter(|v| v.entitled)
            .flat_map(|v| v.post.photos.iter().filter(|photo| !photo.removed))
            .flat_map(|photo| [self.url_of(&photo.display_key), self.url_of(&photo.thumb_key)])
            .collect();
        let signed = if resources.is_empty() { Some(Vec::new()) } else { self.sign(&resources).await };
        let mut signed = signed.map(|items| items.into_iter());
        posts
            .iter()
            .map(|visible| {
                let post = visible.post;
                let photos: Vec<Value> = post
                    .photos
                    .iter()
                    .map(|photo| {
                        if photo.removed {
                            // Its objects are gone: say so rather than hand out a dead URL.
                            return json!({ "media_id": photo.media_id, "unavailable": true });
                        }
                        let base = json!({
                            "media_id": photo.media_id,
                            "width": photo.width,
                            "height": photo.height,
                            "blurhash": photo.blurhash,
                            "preview_url": self.url_of(&photo.preview_key),
                        });
                        let mut value = base;
                        if !visible.entitled {
                            value["locked"] = json!(true);
                            value["price_cents"] = json!(post.price_cents);
                            return value;
                        }
                        value["locked"] = json!(false);
                        match signed.as_mut().map(|items| (items.next(), items.next())) {
                            Some((Some(display), Some(thumb))) => {
                                value["url"] = json!(display.url);
                                value["thumb_url"] = json!(thumb.url);
                                value["expires_at"] = json!(display.expires_at.min(thumb.expires_at));
                            }
                            _ => {
                                value["url"] = Value::Null;
                                value["thumb_url"] = Value::Null;
                                value["error"] = json!("temporarily_unavailable");
                            }
                        }
                        value
                    })
                    .collect();
                json!({
                    "id": post.id,
                    "author_id": post.author_id,
                    "caption": post.caption,
                    "price_cents": post.price_cents,
                    "deleted": post.deleted,
                    "like_count": post.like_count,
                    "comment_count": post.comment_count,
                    "created_at": post.created_at.try_to_rfc3339_string().unwrap_or_default(),
                    "photos": photos,
                })
            })
            .collect()
    }

    /// Every URL of a response, in batches sent together; `None` when
    /// url-signer cannot help now.
    async fn sign(&self, resources: &[String]) -> Option<Vec<Signed>> {
        let batches = resources.chunks(self.sign_batch.max(1)).map(|batch| self.sign_batch_of(batch));
        let signed = futures_util::future::join_all(batches).await;
        signed.into_iter().collect::<Option<Vec<_>>>().map(|batches| batches.into_iter().flatten().collect())
    }

    async fn sign_batch_of(&self, resources: &[String]) -> Option<Vec<Signed>> {
        let items: Vec<SignItem> = resources
            .iter()
            .map(|resource| SignItem { resource: resource.clone(), expires_in_s: self.url_lifetime_s })
            .collect();
        match self
            .signer
            .post_json_idempotent::<_, SignResponse>("/internal/v1/sign", &json!({ "items": items }))
            .await
        {
            Ok(response) if response.items.len() == resources.len() => Some(response.items),
            Ok(_) => {
                tracing::error!("url-signer answered a different number of URLs");
                None
            }
            Err(err) => {
                tracing::warn!(error = %err, "signed URLs unavailable; answering without them");
                None
            }
        }
    }
}
