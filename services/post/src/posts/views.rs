//! What a viewer sees of posts. Every photo is private: an entitled viewer
//! (free post, the author, a buyer) gets CloudFront signed URLs, fetched
//! from url-signer in batches of at most `sign_batch` URLs (its
//! `SIGNER_MAX_BATCH`), sent at once; anyone else gets the locked form with
//! the public blurred preview. When url-signer is slow or down the answer is
//! still 200, with `url: null` and an error per photo.
//!
//! A paid post's photos are signed for the viewer's network
//! (`posts::binding`) — the author's views included, so the rule is one;
//! free photos and public previews stay canned and shared by everyone. A
//! buyer or subscriber is never shown the clean objects of a paid photo:
//! media makes (on first request) their own copies, carrying a forensic
//! mark, under their own prefix, and those are served by one signed cookie
//! per viewer (`posts::cookies`), their URLs unsigned. When media cannot
//! make them now, the photo answers `temporarily_unavailable` rather than
//! fall back to a clean copy.

use actix_web::http::StatusCode;
use common::contract::media::{
    Grant, MARKED_COPIES_PATH, MarkedCopies, MarkedCopiesRequest, MarkedCopy, MarkedCopyRequest,
};
use common::contract::signing::{SIGN_PATH, SignItem, SignRequest, SignResponse, SignedUrl};
use common::ids::{PurchaseId, SubscriptionId, UserId};
use common::internal_client::ServiceClient;
use ipnet::IpNet;

use crate::posts::cookies::{CookieJar, Delivered, ViewerCookie};
use crate::posts::store::{Audience, Photo, PostRecord};
use crate::posts::types::{LockedPhoto, PhotoFacts, PhotoView, PostView, UnavailablePhoto, UnlockedPhoto};

pub struct Renderer {
    pub signer: ServiceClient,
    /// media, for buyers' marked copies.
    pub media: ServiceClient,
    pub photo_base_url: String,
    pub url_lifetime_s: u64,
    /// The most URLs one signing call asks for (url-signer refuses more).
    pub sign_batch: usize,
    /// Viewers' cookies, for their own copies.
    pub cookies: CookieJar,
}

/// Posts as one viewer sees them, and the cookie their own copies need.
pub struct Rendered<T> {
    pub views: T,
    pub cookie: Option<ViewerCookie>,
}

impl<T> Rendered<T> {
    /// The answer: `views` (made into the body by `body`), setting the cookie if there is one.
    pub fn answer<B>(self, status: StatusCode, jar: &CookieJar, body: impl FnOnce(T) -> B) -> Delivered<B> {
        Delivered { status, body: body(self.views), cookie: self.cookie, settings: jar.settings.clone() }
    }
}

/// How a shown photo is delivered: its objects signed one by one (bound to
/// the viewer's network or not), or the viewer's own copies under their cookie.
enum Delivery {
    Signed { bound: bool },
    Cookie,
}

/// Why a viewer may (or may not) see a post's photos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Locked,
    /// A free post.
    Open,
    Author,
    Bought {
        purchase_id: PurchaseId,
        buyer_id: UserId,
    },
    /// A subscriber of a tier the post is for.
    Subscribed {
        subscription_id: SubscriptionId,
        subscriber_id: UserId,
    },
}

/// What a viewer holds towards a post's author: the post bought, a
/// subscription (its id and tier rank), a follow.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    pub purchase: Option<PurchaseId>,
    pub subscription: Option<(SubscriptionId, i64)>,
    pub follows: bool,
}

impl Access {
    /// `viewer`'s access to `post`, given what they hold.
    pub fn of(post: &PostRecord, viewer: Option<&UserId>, standing: Standing) -> Access {
        let Some(viewer) = viewer else {
            return Self::public(post);
        };
        if *viewer == post.author_id {
            return Access::Author;
        }
        if let Some(purchase_id) = standing.purchase {
            return Access::Bought { purchase_id, buyer_id: viewer.clone() };
        }
        if post.deleted {
            return Access::Locked;
        }
        match (post.audience, standing.subscription) {
            (Audience::Anyone, _) => Self::public(post),
            (Audience::Followers, subscription) if standing.follows || subscription.is_some() => Access::Open,
            (Audience::Subscribers { min_rank }, Some((subscription_id, rank))) if rank >= min_rank => {
                Access::Subscribed { subscription_id, subscriber_id: viewer.clone() }
            }
            _ => Access::Locked,
        }
    }

    /// What anyone sees: a free post open to anyone, else locked.
    fn public(post: &PostRecord) -> Access {
        match post.audience == Audience::Anyone && post.price_cents == 0 && !post.deleted {
            true => Access::Open,
            false => Access::Locked,
        }
    }

    pub fn entitled(&self) -> bool {
        *self != Access::Locked
    }
}

/// A post as one viewer may see it, before URLs are filled in.
pub struct Visible<'a> {
    pub post: &'a PostRecord,
    pub access: Access,
}

impl Visible<'_> {
    /// The buyer's (or subscriber's) own copies are what they see of a paid photo.
    fn marked_copy_of(&self, photo: &Photo) -> Option<MarkedCopyRequest> {
        match &self.access {
            Access::Subscribed { subscription_id, subscriber_id } => Some(MarkedCopyRequest {
                media_id: photo.media_id.clone(),
                buyer_id: subscriber_id.clone(),
                grant: Grant::Subscription(subscription_id.clone()),
            }),
            Access::Bought { purchase_id, buyer_id } if self.post.price_cents > 0 => {
                Some(MarkedCopyRequest {
                    media_id: photo.media_id.clone(),
                    buyer_id: buyer_id.clone(),
                    grant: Grant::Purchase(purchase_id.clone()),
                })
            }
            _ => None,
        }
    }
}

/// A shown photo's two signed URLs, display and thumbnail.
type PhotoUrls = Option<(SignedUrl, SignedUrl)>;

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
    pub async fn render(
        &self,
        posts: &[Visible<'_>],
        viewer_range: Option<IpNet>,
    ) -> Rendered<Vec<PostView>> {
        let (urls, cookie) = self.urls_for(posts, viewer_range).await;
        let mut urls = urls.into_iter();
        let views = posts.iter().map(|visible| self.view(visible, &mut urls)).collect();
        Rendered { views, cookie }
    }

    /// One post, as `render` would show it.
    pub async fn render_one(
        &self,
        post: &PostRecord,
        access: Access,
        viewer_range: Option<IpNet>,
    ) -> Rendered<PostView> {
        let visible = Visible { post, access };
        let (urls, cookie) = self.urls_for(std::slice::from_ref(&visible), viewer_range).await;
        Rendered { views: self.view(&visible, &mut urls.into_iter()), cookie }
    }

    /// The URLs of every entitled, present photo of `posts`, in the order
    /// `view` takes them (`None` for a photo whose URLs cannot be made now),
    /// and the viewer's cookie when their own copies are among them.
    async fn urls_for(
        &self,
        posts: &[Visible<'_>],
        viewer_range: Option<IpNet>,
    ) -> (Vec<PhotoUrls>, Option<ViewerCookie>) {
        let shown: Vec<(&Visible<'_>, &Photo)> = posts
            .iter()
            .filter(|v| v.access.entitled())
            .flat_map(|v| v.post.photos.iter().filter(|photo| !photo.removed).map(move |photo| (v, photo)))
            .collect();
        let wanted: Vec<Option<MarkedCopyRequest>> =
            shown.iter().map(|(v, photo)| v.marked_copy_of(photo)).collect();
        let mut copies = self.marked_copies(wanted.iter().flatten().cloned().collect()).await.into_iter();
        // Per shown photo: its two keys, and how they are delivered.
        let keys: Vec<Option<([String; 2], Delivery)>> = shown
            .iter()
            .zip(&wanted)
            .map(|((v, photo), wanted)| match wanted {
                Some(_) => copies.next().flatten().map(|c| ([c.display_key, c.thumb_key], Delivery::Cookie)),
                None => Some((
                    [photo.display_key.clone(), photo.thumb_key.clone()],
                    Delivery::Signed { bound: v.post.price_cents > 0 || v.post.audience != Audience::Anyone },
                )),
            })
            .collect();
        let items: Vec<SignItem> = keys
            .iter()
            .flatten()
            .filter_map(|(pair, delivery)| match delivery {
                Delivery::Signed { bound } => Some((pair, *bound)),
                Delivery::Cookie => None,
            })
            .flat_map(|(pair, bound)| {
                let ip = viewer_range.filter(|_| bound).map(|range| range.to_string());
                pair.iter().map(move |key| self.sign_item(key, ip.clone()))
            })
            .collect();
        let viewer = wanted.iter().flatten().next().map(|request| &request.buyer_id);
        let (signed, cookie) = futures_util::join!(
            async {
                match items.is_empty() {
                    true => Some(Vec::new()),
                    false => self.sign(items).await,
                }
            },
            async {
                match viewer {
                    Some(viewer) => self.cookies.for_viewer(viewer, viewer_range).await,
                    None => None,
                }
            }
        );
        let mut signed = signed.map(Vec::into_iter);
        let urls = keys
            .into_iter()
            .map(|planned| match planned? {
                (_, Delivery::Signed { .. }) => {
                    let urls = signed.as_mut()?;
                    Some((urls.next()?, urls.next()?))
                }
                ([display, thumb], Delivery::Cookie) => {
                    let expires_at = cookie.as_ref()?.expires_at;
                    let unsigned = |key: &str| SignedUrl { url: self.url_of(key).into(), expires_at };
                    Some((unsigned(&display), unsigned(&thumb)))
                }
            })
            .collect();
        (urls, cookie)
    }

    /// Has media make `access`'s copies of `post`'s photos now, ahead of
    /// the first view.
    pub async fn prepare_copies(&self, post: &PostRecord, access: Access) {
        let visible = Visible { post, access };
        let requests: Vec<MarkedCopyRequest> =
            post.photos.iter().filter_map(|p| visible.marked_copy_of(p)).collect();
        self.marked_copies(requests).await;
    }

    /// The buyers' copies, in order; `None` each when media cannot make them now.
    async fn marked_copies(&self, requests: Vec<MarkedCopyRequest>) -> Vec<Option<MarkedCopy>> {
        if requests.is_empty() {
            return Vec::new();
        }
        let count = requests.len();
        let request = MarkedCopiesRequest { items: requests };
        match self.media.post_json_idempotent::<_, MarkedCopies>(MARKED_COPIES_PATH, &request).await {
            Ok(copies) if copies.items.len() == count => copies.items.into_iter().map(Some).collect(),
            Ok(_) => {
                tracing::error!("media answered a different number of marked copies");
                vec![None; count]
            }
            Err(err) => {
                tracing::warn!(error = %err, "buyers' copies unavailable; those photos answer without URLs");
                vec![None; count]
            }
        }
    }

    fn sign_item(&self, key: &str, ip: Option<String>) -> SignItem {
        SignItem { resource: self.url_of(key), expires_in_s: self.url_lifetime_s, ip, not_before: None }
    }

    fn view(&self, visible: &Visible<'_>, urls: &mut std::vec::IntoIter<PhotoUrls>) -> PostView {
        let post = visible.post;
        let photos = post.photos.iter().map(|photo| self.photo_view(photo, visible, urls)).collect();
        PostView {
            photos_available: post.deliverable_photos(),
            id: post.id.clone(),
            author_id: post.author_id.clone(),
            author: None,
            caption: post.caption.clone(),
            price_cents: post.price_cents,
            audience: post.audience,
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
        urls: &mut std::vec::IntoIter<PhotoUrls>,
    ) -> PhotoView {
        if photo.removed {
            // Its objects are gone: say so rather than hand out a dead URL.
            return PhotoView::Unavailable(UnavailablePhoto {
                media_id: photo.media_id.clone(),
                unavailable: true,
            });
        }
        let facts = self.facts(photo);
        if !visible.access.entitled() {
            return PhotoView::Locked(LockedPhoto {
                facts,
                locked: true,
                price_cents: visible.post.price_cents,
            });
        }
        PhotoView::Unlocked(match urls.next().flatten() {
            Some((display, thumb)) => UnlockedPhoto {
                facts,
                locked: false,
                expires_at: Some(display.expires_at.min(thumb.expires_at)),
                url: Some(display.url.to_string()),
                thumb_url: Some(thumb.url.to_string()),
                error: None,
            },
            None => UnlockedPhoto {
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

#[cfg(test)]
mod tests {
    use common::ids::{MediaId, PostId};
    use mongodb::bson::DateTime;

    use super::*;

    fn post(price_cents: u64, deleted: bool) -> PostRecord {
        PostRecord {
            id: PostId::mint(),
            author_id: ann(),
            caption: String::new(),
            price_cents,
            photos: Vec::new(),
            created_at: DateTime::now(),
            deleted,
            like_count: 0,
            comment_count: 0,
            audience: Audience::Anyone,
        }
    }

    fn for_audience(price_cents: u64, audience: Audience) -> PostRecord {
        PostRecord { audience, ..post(price_cents, false) }
    }

    fn photo(media_id: MediaId) -> Photo {
        Photo {
            media_id,
            display_key: "d".into(),
            thumb_key: "t".into(),
            preview_key: "p".into(),
            blurhash: None,
            width: 1,
            height: 1,
            removed: false,
        }
    }

    /// The author of every post here.
    fn ann() -> UserId {
        UserId::parse("0190b3c0a0f27e1a9c3d5e7f80000001").unwrap()
    }

    fn none() -> Standing {
        Standing::default()
    }

    #[test]
    fn who_sees_a_post_and_how() {
        let (bob, bobs_purchase) = (UserId::mint(), PurchaseId::mint());
        let (free, paid, gone) = (post(0, false), post(500, false), post(0, true));
        for any in [&free, &paid, &gone] {
            assert_eq!(Access::of(any, Some(&ann()), none()), Access::Author, "the author, always");
        }
        assert_eq!(Access::of(&free, None, none()), Access::Open, "a free post: anyone");
        assert_eq!(Access::of(&free, Some(&bob), none()), Access::Open);
        assert_eq!(Access::of(&paid, None, none()), Access::Locked, "a paid post: locked");
        assert_eq!(Access::of(&paid, Some(&bob), none()), Access::Locked);
        let bought = Standing { purchase: Some(bobs_purchase.clone()), ..none() };
        assert_eq!(
            Access::of(&paid, Some(&bob), bought),
            Access::Bought { purchase_id: bobs_purchase, buyer_id: bob.clone() },
        );
        assert_eq!(Access::of(&gone, Some(&bob), none()), Access::Locked, "a deleted free post: gone");
        assert!(!Access::Locked.entitled() && Access::Open.entitled() && Access::Author.entitled());
    }

    #[test]
    fn an_audience_sees_its_posts_and_anyone_else_buys_or_stays_out() {
        let (bob, subscription) = (UserId::mint(), SubscriptionId::mint());
        let tier = |rank| Standing { subscription: Some((subscription.clone(), rank)), ..none() };
        let follower = Standing { follows: true, ..none() };
        let for_tier_two = for_audience(0, Audience::Subscribers { min_rank: 2 });
        let subscribed =
            Access::Subscribed { subscription_id: subscription.clone(), subscriber_id: bob.clone() };
        assert_eq!(Access::of(&for_tier_two, Some(&bob), tier(2)), subscribed, "its tier");
        assert_eq!(Access::of(&for_tier_two, Some(&bob), tier(5)), subscribed, "a higher tier includes it");
        assert_eq!(Access::of(&for_tier_two, Some(&bob), tier(1)), Access::Locked, "a lower tier does not");
        assert_eq!(Access::of(&for_tier_two, Some(&bob), follower.clone()), Access::Locked);
        assert_eq!(Access::of(&for_tier_two, None, none()), Access::Locked, "free, but not for anyone");
        let sold_to_others = for_audience(300, Audience::Subscribers { min_rank: 1 });
        assert_eq!(Access::of(&sold_to_others, Some(&bob), tier(1)), subscribed);
        let bought = Standing { purchase: Some(PurchaseId::mint()), ..none() };
        assert!(matches!(Access::of(&sold_to_others, Some(&bob), bought), Access::Bought { .. }));
        let for_followers = for_audience(0, Audience::Followers);
        assert_eq!(Access::of(&for_followers, Some(&bob), follower), Access::Open);
        assert_eq!(Access::of(&for_followers, Some(&bob), tier(1)), Access::Open, "a subscriber too");
        assert_eq!(Access::of(&for_followers, Some(&bob), none()), Access::Locked);
        let gone = PostRecord { deleted: true, ..for_tier_two };
        assert_eq!(Access::of(&gone, Some(&bob), tier(5)), Access::Locked, "deleted: buyers only");
    }

    #[test]
    fn a_subscriber_sees_their_own_marked_copy() {
        let (bob, subscription) = (UserId::mint(), SubscriptionId::mint());
        let photo = photo(MediaId::mint());
        let post = for_audience(0, Audience::Subscribers { min_rank: 1 });
        let access = Access::Subscribed { subscription_id: subscription.clone(), subscriber_id: bob.clone() };
        let copy =
            Visible { post: &post, access }.marked_copy_of(&photo).expect("a copy, though the post is free");
        assert_eq!((copy.buyer_id, copy.grant), (bob, Grant::Subscription(subscription)));
    }

    #[test]
    fn only_a_buyer_of_a_paid_post_sees_a_marked_copy() {
        let (media_id, bob, purchase_id) = (MediaId::mint(), UserId::mint(), PurchaseId::mint());
        let photo = photo(media_id.clone());
        let buyer = Access::Bought { purchase_id: purchase_id.clone(), buyer_id: bob.clone() };
        let paid = post(500, false);
        let copy = Visible { post: &paid, access: buyer.clone() }.marked_copy_of(&photo).expect("a copy");
        assert_eq!((copy.media_id, copy.buyer_id, copy.grant), (media_id, bob, Grant::Purchase(purchase_id)));
        assert!(
            Visible { post: &paid, access: Access::Author }.marked_copy_of(&photo).is_none(),
            "the clean one"
        );
        let free = post(0, false);
        assert!(Visible { post: &free, access: buyer }.marked_copy_of(&photo).is_none());
    }
}
