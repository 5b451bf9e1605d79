//! What the simulator remembers for tests to inspect: every upload and every request.

use protocol::chunk::{ChunkPlan, ChunkRange};
use protocol::tiktok::PostInfo;
use protocol::wire::PostMode;

/// One init's upload, as the simulator saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRecord {
    /// The `publish_id` init returned.
    pub publish_id: String,
    /// Direct Post (`video/init`) or upload to inbox (`inbox/video/init`).
    pub mode: PostMode,
    /// The plan init declared (already checked with [`ChunkPlan::validate_as`] under the
    /// simulator's `ChunkRule`).
    pub plan: ChunkPlan,
    /// The `Content-Type` of the first accepted chunk.
    pub content_type: Option<String>,
    /// `post_info` of a Direct Post; `None` for the inbox.
    pub post_info: Option<PostInfo>,
    /// Bytes accepted so far (always the end of the last accepted chunk).
    pub received_bytes: u64,
    /// The chunks accepted, in order; each `start..end` is half-open like `Blob.slice`.
    pub chunks_accepted: Vec<ChunkRange>,
    /// Lowercase hex SHA-256 of the assembled video, once complete.
    pub sha256: Option<String>,
    /// Whether every chunk has been accepted.
    pub complete: bool,
    /// The `upload_url` init returned.
    pub upload_url: String,
}

/// One request the simulator received, recorded on arrival and completed once answered.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, `PUT`, `OPTIONS`, …
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Every header, names in lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body of an API call (JSON); never upload bytes. `None` when empty or too large.
    pub body: Option<Vec<u8>>,
    /// The status answered; 0 while unanswered or when the connection was dropped on purpose.
    pub status: u16,
}

impl RecordedRequest {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}
