//! What a viewer sees of posts. Every photo is private: an entitled viewer
//! (free post, the author, a buyer) gets CloudFront signed URLs, fetched
//! from url-signer in batches of at most `sign_batch` URLs (its
//! `SIGNER_MAX_BATCH`), sent at once; anyone else gets the locked form with
//! the public blurred preview. When url-signer is slow or down the answer is
//! still 200, with `url: null` and an error per photo.
//!
//! A paid post's photos are signed for the viewer's network
//! (`posts::binding`) — the author's views included, so the rule is one;
//! free photos and public previews stay canned and shared by everyone.

use common::contract::signing::{SIGN_PATH, SignItem, SignRequest, SignResponse, SignedUrl};
use common::internal_client::ServiceClient;
use ipnet::IpNet;

use crate::posts::store::{Photo, PostRecord};
use crate::posts::types::{LockedPhoto, PhotoFacts, PhotoView, PostView, UnavailablePhoto, UnlockedPhoto};

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

    fn facts(&self, photo: &Photo) -> PhotoFacts {
        PhotoFacts {
            media_id: photo.media_id.clone(),
            width: photo.width,
            height: photo.height,
            blurhash: photo.blurhash.clone(),
            preview_url: self.url_of(&photo.preview_key),
        }
    }

    /// Renders `posts`, signing every entitled photo (in as few calls as
    /// url-signer allows); paid ones bound to `viewer_range` when it is set.
    #[tracing::instrument(skip_all, fields(posts = posts.len()))]
    pub async fn render(&self, posts: &[Visible<'_>], viewer_range: Option<IpNet>) -> Vec<PostView> {
        let mut signed = self.signed_for(posts, viewer_range).await;
        posts.iter().map(|visible| self.view(visible, &mut signed)).collect()
    }

    /// One post, as `render` would show it.
    pub async fn render_one(
        &self,
        post: &PostRecord,
        entitled: bool,
        viewer_range: Option<IpNet>,
    ) -> PostView {
        let visible = Visible { post, entitled };
        let mut signed = self.signed_for(std::slice::from_ref(&visible), viewer_range).await;
        self.view(&visible, &mut signed)
    }

    /// The URLs of every entitled, present photo of `posts`, in the order
    /// `view` takes them (display then thumbnail); `None` when url-signer
    /// cannot help now.
    async fn signed_for(
        &self,
        posts: &[Visible<'_>],
        viewer_range: Option<IpNet>,
    ) -> Option<std::vec::IntoIter<SignedUrl>> {
        let items: Vec<SignItem> = posts
            .iter()
            .filter(|v| v.entitled)
            .flat_map(|v| {
                let bound_to = viewer_range.filter(|_| v.post.price_cents > 0).map(|range| range.to_string());
                v.post
                    .photos
                    .iter()
                    .filter(|photo| !photo.removed)
                    .flat_map(move |photo| [photo.display_key.as_str(), photo.thumb_key.as_str()])
                    .map(move |key| self.sign_item(key, bound_to.clone()))
            })
            .collect();
        let signed = if items.is_empty() { Some(Vec::new()) } else { self.sign(items).await };
        signed.map(Vec::into_iter)
    }

    fn sign_item(&self, key: &str, ip: Option<String>) -> SignItem {
        SignItem { resource: self.url_of(key), expires_in_s: self.url_lifetime_s, ip, not_before: None }
    }

    fn view(&self, visible: &Visible<'_>, signed: &mut Option<std::vec::IntoIter<SignedUrl>>) -> PostView {
        let post = visible.post;
        let photos = post.photos.iter().map(|photo| self.photo_view(photo, visible, signed)).collect();
        PostView {
            id: post.id.clone(),
            author_id: post.author_id.clone(),
            author: None,
            caption: post.caption.clone(),
            price_cents: post.price_cents,
            deleted: post.deleted,
            like_count: post.like_count,
            comment_count: post.comment_count,
            created_at: post.created_at.try_to_rfc3339_string().unwrap_or_default(),
            photos,
        }
    }

    fn photo_view(
        &self,
        photo: &Photo,
        visible: &Visible<'_>,
        signed: &mut Option<std::vec::IntoIter<SignedUrl>>,
    ) -> PhotoView {
        if photo.removed {
            // Its objects are gone: say so rather than hand out a dead URL.
            return PhotoView::Unavailable(UnavailablePhoto {
                media_id: photo.media_id.clone(),
                unavailable: true,
            });
        }
        let facts = self.facts(photo);
        if !visible.entitled {
            return PhotoView::Locked(LockedPhoto {
                facts,
                locked: true,
                price_cents: visible.post.price_cents,
            });
        }
        PhotoView::Unlocked(match signed.as_mut().map(|items| (items.next(), items.next())) {
            Some((Some(display), Some(thumb))) => UnlockedPhoto {
                facts,
                locked: false,
                expires_at: Some(display.expires_at.min(thumb.expires_at)),
                url: Some(display.url.to_string()),
                thumb_url: Some(thumb.url.to_string()),
                error: None,
            },
            _ => UnlockedPhoto {
                facts,
                locked: false,
                url: None,
                thumb_url: None,
                expires_at: None,
                error: Some("temporarily_unavailable"),
            },
        })
    }

    /// Every URL of a response, in batches sent together; `None` when
    /// url-signer cannot help now.
    async fn sign(&self, items: Vec<SignItem>) -> Option<Vec<SignedUrl>> {
        let batches = items.chunks(self.sign_batch.max(1)).map(|batch| self.sign_batch_of(batch.to_vec()));
        let signed = futures_util::future::join_all(batches).await;
        signed.into_iter().collect::<Option<Vec<_>>>().map(|batches| batches.into_iter().flatten().collect())
    }

    async fn sign_batch_of(&self, items: Vec<SignItem>) -> Option<Vec<SignedUrl>> {
        let count = items.len();
        let request = SignRequest { items, key_id: None };
        match self.signer.post_json_idempotent::<_, SignResponse>(SIGN_PATH, &request).await {
            Ok(response) if response.items.len() == count => Some(response.items),
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
