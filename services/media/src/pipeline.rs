//! From bytes to a ready media item: validate, process off the executor,
//! write every object, and only then record it as ready.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime as ChronoTime, Utc};
use common::ids::{MediaId, UserId};
use mongodb::bson::DateTime;

use crate::error::MediaError;
use crate::processing::{self, Format, Limits, Processed, Rejection};
use crate::records::{MediaRecord, MediaStatus, PendingUpload, Records, Removal, Variant};
use crate::slots::Slots;
use crate::storage::{INCOMING_PREFIX, Keys, Storage, Uploaded, incoming_id, incoming_key};
use crate::trace::{TraceRecord, outcome};
use crate::types::TraceResult;

pub const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(600);
/// How long one `complete` may hold an upload (decoding a 50 MP photo takes
/// seconds, not minutes).
const COMPLETION_LEASE: Duration = Duration::from_secs(120);

pub struct Media {
    pub records: Records,
    pub storage: Storage,
    pub limits: Limits,
    pub removals: crate::removal::Removals,
    /// One permit per image being decoded (memory is what bounds them).
    /// Uploads' image work; buyers' copies and traces have their own.
    pub processing: Slots,
    pub marking: Slots,
    pub tracing: Slots,
    pub marks: crate::marks::Marks,
    pub traces: crate::trace::Traces,
    /// auth, for a traced buyer's username.
    pub auth: Option<common::internal_client::ServiceClient>,
}

fn chrono_of(time: DateTime) -> ChronoTime<Utc> {
    ChronoTime::<Utc>::from(time.to_system_time())
}

fn variant(key: String, width: u32, height: u32, bytes: usize, content_type: &str) -> Variant {
    Variant { key, width, height, bytes: bytes as u64, content_type: content_type.to_owned() }
}

impl Media {
    /// An image a client sent: an accepted format within the limits, of the
    /// type it was declared as (read from its header only).
    pub fn check(&self, bytes: &[u8], declared: Option<Format>) -> Result<(), MediaError> {
        let (actual, _, _) = processing::identify(bytes, &self.limits)?;
        match declared {
            Some(declared) if declared != actual => {
                Err(Rejection::Mismatch { declared: declared.content_type(), actual: actual.content_type() }
                    .into())
            }
            _ => Ok(()),
        }
    }

    /// Format check against what the client declared, then the full processing.
    async fn process(&self, bytes: Bytes, declared: Option<Format>) -> Result<Processed, MediaError> {
        self.check(&bytes, declared)?;
        let limits = self.limits;
        Ok(self.processing.run(move || processing::process(&bytes, &limits)).await??)
    }

    /// The record of a processed image, with its derivatives' keys.
    fn ready_record(
        id: MediaId,
        owner_id: UserId,
        created_at: DateTime,
        original: &Bytes,
        processed: &Processed,
    ) -> (MediaRecord, Vec<(String, &'static str, Bytes)>) {
        let keys = Keys::new(&id, chrono_of(created_at));
        let jpeg = "image/jpeg";
        let original_key = keys.object("original", processed.format.extension());
        let display_key = keys.object("display", "jpg");
        let thumb_key = keys.object("thumb", "jpg");
        let derivatives = vec![
            (display_key.clone(), jpeg, Bytes::from(processed.display.jpeg.clone())),
            (thumb_key.clone(), jpeg, Bytes::from(processed.thumb.jpeg.clone())),
            (keys.preview.clone(), jpeg, Bytes::from(processed.preview.jpeg.clone())),
        ];
        let (d, t, p) = (&processed.display, &processed.thumb, &processed.preview);
        let variants = [
            (
                "original",
                variant(
                    original_key,
                    processed.width,
                    processed.height,
                    original.len(),
                    processed.format.content_type(),
                ),
            ),
            ("display", variant(display_key, d.width, d.height, d.jpeg.len(), jpeg)),
            ("thumb", variant(thumb_key, t.width, t.height, t.jpeg.len(), jpeg)),
            ("preview", variant(keys.preview, p.width, p.height, p.jpeg.len(), jpeg)),
        ]
        .into_iter()
        .map(|(name, v)| (name.to_owned(), v))
        .collect();
        let record = MediaRecord {
            id,
            owner_id,
            status: MediaStatus::Ready,
            failure: None,
            width: Some(processed.width),
            height: Some(processed.height),
            blurhash: Some(processed.blurhash.clone()),
            sha256: Some(common::sha256_hex(original)),
            variants,
            upload: None,
            created_at,
            removal: None,
            completing_until: None,
        };
        (record, derivatives)
    }

    /// An upload in the request body: processed, stored, recorded.
    pub async fn ingest(
        &self,
        owner_id: &UserId,
        bytes: Bytes,
        declared: Option<Format>,
    ) -> Result<MediaRecord, MediaError> {
        let processed = self.process(bytes.clone(), declared).await?;
        let (record, mut objects) =
            Self::ready_record(MediaId::mint(), owner_id.clone(), DateTime::now(), &bytes, &processed);
        let original = &record.variants["original"];
        objects.insert(0, (original.key.clone(), processed.format.content_type(), bytes));
        let keys: Vec<String> = objects.iter().map(|(key, _, _)| key.clone()).collect();
        self.storage.put_all(objects).await?;
        if let Err(err) = self.records.insert(&record).await {
            self.storage.delete_all(&keys).await;
            return Err(err.into());
        }
        tracing::info!(media_id = %record.id, "media stored");
        Ok(record)
    }

    /// Starts a direct-to-S3 upload: a pending record and a presigned PUT.
    pub async fn start_upload(
        &self,
        owner_id: &UserId,
        content_type: &str,
        size: u64,
    ) -> Result<(MediaRecord, String, ChronoTime<Utc>), MediaError> {
        let format = Format::from_content_type(content_type).ok_or(Rejection::Unsupported)?;
        if size == 0 {
            return Err(Rejection::Empty.into());
        }
        if size > self.limits.max_bytes as u64 {
            return Err(Rejection::TooManyBytes { max: self.limits.max_bytes }.into());
        }
        let id = common::ids::MediaId::mint();
        let created_at = DateTime::now();
        let key = incoming_key(&id, format.extension());
        let expires_at = Utc::now() + UPLOAD_URL_LIFETIME;
        let upload_url =
            self.storage.presign_put(&key, format.content_type(), size, UPLOAD_URL_LIFETIME).await?;
        let record = MediaRecord {
            id,
            owner_id: owner_id.clone(),
            status: MediaStatus::Pending,
            failure: None,
            width: None,
            height: None,
            blurhash: None,
            sha256: None,
            variants: Default::default(),
            upload: Some(PendingUpload {
                content_type: format.content_type().to_owned(),
                size,
                expires_at: DateTime::from_system_time(expires_at.into()),
            }),
            created_at,
            removal: None,
            completing_until: None,
        };
        self.records.insert(&record).await?;
        Ok((record, upload_url, expires_at))
    }

    /// Processes what a direct upload put in S3: claimed first, so two
    /// overlapping calls never work on one upload; the bytes checked are the
    /// bytes stored, under the media's own keys.
    pub async fn complete(&self, pending: MediaRecord) -> Result<MediaRecord, MediaError> {
        if !self.records.claim_completion(&pending.id, COMPLETION_LEASE).await? {
            return Err(MediaError::Conflict(
                "This upload is being completed; ask again in a moment.".into(),
            ));
        }
        let outcome = self.complete_claimed(&pending).await;
        if outcome.as_ref().is_err_and(|err| !matches!(err, MediaError::Rejected(_))) {
            // Not the upload's fault: another `complete` may try again.
            self.records.release_completion(&pending.id).await?;
        }
        outcome
    }

    async fn complete_claimed(&self, pending: &MediaRecord) -> Result<MediaRecord, MediaError> {
        let upload = pending.upload.clone().ok_or(MediaError::NotPending("missing its upload"))?;
        let format = Format::from_content_type(&upload.content_type).ok_or(Rejection::Unsupported)?;
        let staged = incoming_key(&pending.id, format.extension());
        let bytes = match self.storage.read_exact(&staged, upload.size).await? {
            Uploaded::Found(bytes) => bytes,
            Uploaded::Missing => {
                return Err(MediaError::BadRequest("Nothing was uploaded to the upload URL yet.".into()));
            }
            Uploaded::WrongSize(actual) => {
                let reason = format!("{actual} bytes were uploaded, {} declared", upload.size);
                return self.fail(pending, &staged, reason).await;
            }
        };
        let processed = match self.process(bytes.clone(), Some(format)).await {
            Ok(processed) => processed,
            Err(MediaError::Rejected(rejection)) => {
                return self.fail(pending, &staged, rejection.to_string()).await;
            }
            Err(other) => return Err(other),
        };
        let (record, mut objects) = Self::ready_record(
            pending.id.clone(),
            pending.owner_id.clone(),
            pending.created_at,
            &bytes,
            &processed,
        );
        let original = &record.variants["original"];
        objects.insert(0, (original.key.clone(), processed.format.content_type(), bytes));
        self.storage.put_all(objects).await?;
        if !self.records.finish_pending(&record).await? {
            // Only a lease that ran out lets another finish first; it wrote
            // the same keys, which stay.
            return Err(MediaError::NotPending("already completed"));
        }
        self.storage.delete_all(&[staged]).await;
        Ok(record)
    }

    async fn fail<T>(&self, pending: &MediaRecord, staged: &str, reason: String) -> Result<T, MediaError> {
        self.storage.delete_all(&[staged.to_owned()]).await;
        self.records.mark_failed(&pending.id, &reason).await?;
        Err(MediaError::Rejected(Rejection::Corrupt(reason)))
    }

    /// Removes uploads never completed within `older_than` (object and
    /// record), and whatever was PUT through an upload URL after its upload
    /// stopped being pending.
    pub async fn clean_stale_uploads(&self, older_than: Duration) -> anyhow::Result<usize> {
        let stale = self.records.stale_pending(older_than).await?;
        for record in &stale {
            if let Some(upload) = &record.upload
                && let Some(format) = Format::from_content_type(&upload.content_type)
            {
                self.storage.delete_all(&[incoming_key(&record.id, format.extension())]).await;
            }
            self.records.delete_pending(&record.id).await?;
        }
        if !stale.is_empty() {
            tracing::info!(removed = stale.len(), "stale uploads cleaned up");
        }
        // An upload URL works until it expires: anything it wrote since is litter.
        let written_before = std::time::SystemTime::now() - UPLOAD_URL_LIFETIME;
        for key in self.storage.listed_before(INCOMING_PREFIX, written_before).await? {
            let pending = match incoming_id(&key) {
                Some(id) => self.records.get(&id).await?.is_some_and(|r| r.status == MediaStatus::Pending),
                None => false,
            };
            if !pending {
                self.storage.delete_all(&[key]).await;
            }
        }
        Ok(stale.len())
    }
}

impl Media {
    /// Takes a media item down (`TakenDown`) or deletes it for its owner
    /// (`Deleted`): the record first (nothing signs it any more), then the
    /// follow-up work, then every object. Each part is idempotent, so when S3
    /// fails (503) a retry finishes the job.
    pub async fn remove(
        &self,
        id: &MediaId,
        status: MediaStatus,
        removal: Removal,
    ) -> Result<MediaRecord, MediaError> {
        let current = self.records.get(id).await?.ok_or(MediaError::NotFound)?;
        if current.status == MediaStatus::Pending {
            return Err(MediaError::Conflict("This upload is not finished; nothing to remove yet.".into()));
        }
        let record = self.records.mark_removed(id, status, &removal).await?.ok_or(MediaError::NotFound)?;
        // Buyers' marked copies go with the photo.
        let mut keys: Vec<String> = record.object_keys().map(str::to_owned).collect();
        keys.extend(self.marks.object_keys(id).await?);
        self.removals.enqueue(id, &keys).await?;
        self.storage.delete_each(&keys).await?;
        tracing::info!(target: "audit", media_id = %id, status = ?record.status, by = removal.by, reason = removal.reason, objects = keys.len(), "media removed");
        Ok(record)
    }

    /// Traces `suspect` on `record` for `by` and records the outcome.
    pub async fn trace(
        &self,
        record: &MediaRecord,
        suspect: Bytes,
        by: &str,
    ) -> Result<TraceResult, MediaError> {
        let display_key = record.display_key().ok_or(MediaError::NotFound)?;
        let clean = self.storage.read(display_key).await?.ok_or(MediaError::NotFound)?;
        let suspect_sha256 = common::sha256_hex(&suspect);
        let (limits, key) = (self.limits, self.marks.key());
        let detection =
            self.tracing.run(move || processing::watermark::trace(&clean, &suspect, &limits, &key)).await??;
        let mark = match &detection {
            Some(found) => self.marks.find(&record.id, found.id).await?,
            None => None,
        };
        let result = outcome(detection.as_ref(), mark.as_ref(), self.auth.as_ref()).await;
        let trace = TraceRecord {
            id: crate::trace::TraceId::mint(),
            media_id: record.id.clone(),
            by: by.to_owned(),
            at: DateTime::now(),
            found: result.found,
            mark_id: mark.as_ref().map(|m| m.id),
            purchase_id: result.purchase_id.clone(),
            subscription_id: result.subscription_id.clone(),
            buyer_id: result.buyer.as_ref().map(|b| b.id.clone()),
            confidence: result.confidence,
            suspect_sha256,
            request_id: common::request_id::current(),
            audited: false,
            audit_due: Some(DateTime::now()),
            audit_attempts: 0,
        };
        self.traces.record(&trace).await?;
        tracing::info!(target: "audit", media_id = %record.id, by, found = result.found, purchase_id = ?result.purchase_id, subscription_id = ?result.subscription_id, "leak traced");
        Ok(result)
    }
}
