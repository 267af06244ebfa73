//! Objects in the private bucket. Writes go all-or-nothing: when one put
//! fails, the ones already written are deleted.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use chrono::{Datelike, Utc};
use common::ids::MediaId;

/// Where a media item's objects live.
pub struct Keys {
    pub dir: String,
    pub preview: String,
}

impl Keys {
    /// `private/{yyyy}/{mm}/{dd}/{id}/…` and `public/previews/{id}.jpg`.
    pub fn new(id: &MediaId, created: chrono::DateTime<Utc>) -> Self {
        Self {
            dir: format!("private/{:04}/{:02}/{:02}/{id}", created.year(), created.month(), created.day()),
            preview: format!("public/previews/{id}.jpg"),
        }
    }

    pub fn object(&self, name: &str, extension: &str) -> String {
        format!("{}/{name}.{extension}", self.dir)
    }
}

/// Where a presigned PUT lands: outside every served prefix, read once by
/// `complete` (which stores what it checked under the media's own keys) and
/// deleted. A PUT through the same URL later lands here again, where
/// nothing reads it, and the janitor removes it.
pub const INCOMING_PREFIX: &str = "incoming/";

pub fn incoming_key(id: &MediaId, extension: &str) -> String {
    format!("{INCOMING_PREFIX}{id}.{extension}")
}

/// The media id an incoming key belongs to.
pub fn incoming_id(key: &str) -> Option<MediaId> {
    MediaId::parse(key.strip_prefix(INCOMING_PREFIX)?.split('.').next()?).ok()
}

#[derive(Clone)]
pub struct Storage {
    pub client: Client,
    pub bucket: String,
    /// Signs upload URLs for the address clients use (may be `client`).
    pub presigner: Client,
}

pub enum Uploaded {
    Missing,
    WrongSize(u64),
    Found(Bytes),
}

#[derive(Debug, thiserror::Error)]
#[error("S3 is unavailable: {0}")]
pub struct Unavailable(pub String);

fn unavailable<E: std::error::Error>(err: E) -> Unavailable {
    Unavailable(aws_sdk_s3::error::DisplayErrorContext(err).to_string())
}

impl Storage {
    /// Puts every object, or none: on failure the ones written are removed.
    pub async fn put_all(&self, objects: Vec<(String, &'static str, Bytes)>) -> Result<(), Unavailable> {
        let mut written = Vec::new();
        for (key, content_type, body) in objects {
            let put = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .content_type(content_type)
                .body(ByteStream::from(body))
                .send()
                .await;
            if let Err(err) = put {
                self.delete_all(&written).await;
                return Err(unavailable(err));
            }
            written.push(key);
        }
        Ok(())
    }

    /// Best effort: a key that cannot be deleted now is logged.
    pub async fn delete_all(&self, keys: &[String]) {
        for key in keys {
            if let Err(err) = self.delete(key).await {
                tracing::warn!(key, error = %err, "could not delete an object");
            }
        }
    }

    /// Deletes every key or reports the first failure; deleting a key that
    /// is already gone succeeds (S3's DeleteObject is idempotent).
    pub async fn delete_each(&self, keys: &[String]) -> Result<(), Unavailable> {
        for key in keys {
            self.delete(key).await?;
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), Unavailable> {
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.map(drop).map_err(unavailable)
    }

    /// A presigned PUT for exactly this content type and length.
    pub async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let request = self
            .presigner
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(i64::try_from(size)?)
            .presigned(PresigningConfig::expires_in(ttl)?)
            .await?;
        Ok(request.uri().to_owned())
    }

    /// Keys under `prefix` last written before `before`.
    pub async fn listed_before(
        &self,
        prefix: &str,
        before: std::time::SystemTime,
    ) -> Result<Vec<String>, Unavailable> {
        let mut keys = Vec::new();
        let mut pages =
            self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(unavailable)?;
            for object in page.contents() {
                let old = object
                    .last_modified()
                    .and_then(|at| std::time::SystemTime::try_from(*at).ok())
                    .is_some_and(|at| at < before);
                if let (true, Some(key)) = (old, object.key()) {
                    keys.push(key.to_owned());
                }
            }
        }
        Ok(keys)
    }

    /// A whole object; `None` when there is no such key.
    pub async fn read(&self, key: &str) -> Result<Option<Bytes>, Unavailable> {
        match self.get(key).await? {
            Some(object) => Ok(Some(collect(object).await?)),
            None => Ok(None),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<GetObjectOutput>, Unavailable> {
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(object) => Ok(Some(object)),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(err) => Err(unavailable(err)),
        }
    }

    /// Reads an uploaded object of exactly `expected` bytes.
    pub async fn read_exact(&self, key: &str, expected: u64) -> Result<Uploaded, Unavailable> {
        let Some(object) = self.get(key).await? else { return Ok(Uploaded::Missing) };
        let length = object.content_length.and_then(|len| u64::try_from(len).ok()).unwrap_or_default();
        if length != expected {
            return Ok(Uploaded::WrongSize(length));
        }
        Ok(Uploaded::Found(collect(object).await?))
    }
}

async fn collect(object: GetObjectOutput) -> Result<Bytes, Unavailable> {
    let data = object.body.collect().await.map_err(|err| Unavailable(err.to_string()))?;
    Ok(data.into_bytes())
}
