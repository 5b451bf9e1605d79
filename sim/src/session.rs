//! One upload session: what init created, the bytes accepted so far (as a running SHA-256, never
//! the bytes themselves), and the status `status/fetch` reports for it.

use crate::ids;
use crate::record::UploadRecord;
use protocol::PrivacyLevel;
use protocol::chunk::{ChunkPlan, ChunkRange};
use protocol::tiktok::PostInfo;
use protocol::wire::PostMode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::time::Instant;

/// An upload from init to its final status.
#[derive(Debug)]
pub(crate) struct Session {
    /// What tests see.
    pub(crate) record: UploadRecord,
    /// The `upload_id` query parameter of the upload URL.
    pub(crate) upload_id: String,
    /// The `upload_token` query parameter, which authorises the PUTs.
    pub(crate) upload_token: String,
    /// When init ran; inbox shares count as pending for 24 hours from here.
    pub(crate) created_at: Instant,
    /// When the upload URL stops working.
    pub(crate) expires_at: Instant,
    /// Set by [`crate::Fault::ExpireUploadUrls`].
    pub(crate) expired: bool,
    /// SHA-256 of the accepted bytes so far.
    pub(crate) hasher: Sha256,
    /// When the final chunk was accepted.
    pub(crate) completed_at: Option<Instant>,
    /// The `fail_reason` a scripted [`crate::Fault::FailPublish`] gave this upload.
    pub(crate) fail_reason: Option<String>,
    /// The public post id, for a successful public Direct Post.
    pub(crate) post_id: Option<u64>,
}

impl Session {
    /// A fresh session for a checked plan, with its ids and upload URL minted.
    pub(crate) fn open(
        mode: PostMode,
        plan: ChunkPlan,
        post_info: Option<PostInfo>,
        base_url: &str,
        now: Instant,
        ttl: Duration,
    ) -> Self {
        let upload_id = ids::upload_id();
        let upload_token = ids::upload_token();
        let upload_url = format!(
            "{base_url}{}?upload_id={upload_id}&upload_token={upload_token}",
            crate::endpoint::UPLOAD_PATH
        );
        Self {
            record: UploadRecord {
                publish_id: ids::publish_id(mode),
                mode,
                plan,
                content_type: None,
                post_info,
                received_bytes: 0,
                chunks_accepted: Vec::new(),
                sha256: None,
                complete: false,
                upload_url,
            },
            upload_id,
            upload_token,
            created_at: now,
            expires_at: now + ttl,
            expired: false,
            hasher: Sha256::new(),
            completed_at: None,
            fail_reason: None,
            post_id: None,
        }
    }

    /// Whether the upload URL no longer works.
    pub(crate) fn is_expired(&self, now: Instant) -> bool {
        self.expired || now >= self.expires_at
    }

    /// The chunk TikTok expects next, if any.
    pub(crate) fn next_chunk(&self) -> Option<ChunkRange> {
        let accepted = self.record.chunks_accepted.len() as u64;
        self.record.plan.chunk(accepted)
    }

    /// The `Content-Range` every upload response carries: `bytes 0-{received-1}/{total}`, or
    /// `bytes */{total}` before the first byte.
    pub(crate) fn progress(&self) -> String {
        let total = self.record.plan.video_size;
        match self.record.received_bytes {
            0 => format!("bytes */{total}"),
            received => format!("bytes 0-{}/{total}", received - 1),
        }
    }

    /// Accepts `chunk`, whose bytes `hasher` has absorbed on top of the previous ones. On the
    /// final chunk the upload completes: `fail_reason` decides how processing ends.
    pub(crate) fn commit(
        &mut self,
        chunk: ChunkRange,
        hasher: Sha256,
        content_type: &str,
        now: Instant,
        fail_reason: impl FnOnce() -> Option<String>,
    ) {
        self.hasher = hasher;
        self.record.received_bytes = chunk.end;
        self.record.chunks_accepted.push(chunk);
        self.record
            .content_type
            .get_or_insert_with(|| content_type.to_owned());
        if !chunk.is_last {
            return;
        }
        self.record.complete = true;
        self.record.sha256 = Some(hex::encode(self.hasher.clone().finalize()));
        self.completed_at = Some(now);
        self.fail_reason = fail_reason();
        let public = self
            .record
            .post_info
            .as_ref()
            .is_some_and(|info| info.privacy_level == PrivacyLevel::PublicToEveryone);
        if self.fail_reason.is_none() && public {
            self.post_id = Some(ids::post_id());
        }
    }

    /// `data` of `status/fetch` at `now`. Until the final chunk plus `processing_delay` it is
    /// `PROCESSING_UPLOAD`; then `FAILED` if a failure was scripted, else `PUBLISH_COMPLETE`
    /// (Direct Post, with the post id only when public) or `SEND_TO_USER_INBOX` (inbox). An
    /// upload whose URL expired before completing stays `PROCESSING_UPLOAD`: TikTok documents
    /// nothing else for it.
    pub(crate) fn status(&self, now: Instant, processing_delay: Duration) -> Value {
        let uploaded_bytes = self.record.received_bytes;
        let processed = self
            .completed_at
            .is_some_and(|done| now >= done + processing_delay);
        if !processed {
            return json!({"status": "PROCESSING_UPLOAD", "uploaded_bytes": uploaded_bytes});
        }
        if let Some(reason) = &self.fail_reason {
            return json!({
                "status": "FAILED",
                "fail_reason": reason,
                "publicaly_available_post_id": [],
                "uploaded_bytes": uploaded_bytes,
            });
        }
        let status = match self.record.mode {
            PostMode::Direct => "PUBLISH_COMPLETE",
            PostMode::Inbox => "SEND_TO_USER_INBOX",
        };
        // serde_json writes a u64 exactly, so the 19 digits survive on the wire.
        let post_ids: Vec<u64> = self.post_id.into_iter().collect();
        json!({
            "status": status,
            "publicaly_available_post_id": post_ids,
            "uploaded_bytes": uploaded_bytes,
        })
    }
}
