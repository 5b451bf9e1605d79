//! The simulator's mutable state, behind one mutex that is never held across an `.await`.

use crate::endpoint::Endpoint;
use crate::fault::FaultQueue;
use crate::grants::Grants;
use crate::options::{ChunkRule, Persona, RateLimits};
use crate::rate::Window;
use crate::record::RecordedRequest;
use crate::session::Session;
use protocol::wire::PostMode;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// TikTok's cap on inbox shares not yet posted, per 24 hours.
pub(crate) const MAX_PENDING_INBOX_SHARES: usize = 5;
/// The span the pending-share cap counts over.
const PENDING_SHARE_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// Everything that changes while the simulator runs.
#[derive(Debug)]
pub(crate) struct State {
    /// The creator; tests may swap it mid-run.
    pub(crate) persona: Persona,
    /// The limits in force; tests may change them mid-run.
    pub(crate) rate_limits: RateLimits,
    /// Which multi-chunk plans init accepts; tests may change it mid-run.
    pub(crate) chunk_rule: ChunkRule,
    /// Admitted requests per endpoint. There is one token, so per endpoint is per token.
    pub(crate) windows: HashMap<Endpoint, Window>,
    /// Every upload, in creation order.
    pub(crate) sessions: Vec<Session>,
    /// Every request, in arrival order.
    pub(crate) requests: Vec<RecordedRequest>,
    /// Scripted faults still to fire.
    pub(crate) faults: FaultQueue,
    /// OAuth codes and the tokens issued from them.
    pub(crate) grants: Grants,
}

impl State {
    /// A fresh state for a simulator playing `persona` under `rate_limits` and `chunk_rule`.
    pub(crate) fn new(persona: Persona, rate_limits: RateLimits, chunk_rule: ChunkRule) -> Self {
        Self {
            persona,
            rate_limits,
            chunk_rule,
            windows: HashMap::new(),
            sessions: Vec::new(),
            requests: Vec::new(),
            faults: FaultQueue::default(),
            grants: Grants::default(),
        }
    }

    /// Counts a call to `endpoint` against its limit; false when over it.
    pub(crate) fn admit(&mut self, endpoint: Endpoint, now: Instant) -> bool {
        match self.rate_limits.for_endpoint(endpoint) {
            None => true,
            Some(limit) => self.windows.entry(endpoint).or_default().admit(now, limit),
        }
    }

    /// The session `publish_id` names.
    pub(crate) fn session(&self, publish_id: &str) -> Option<&Session> {
        self.sessions
            .iter()
            .find(|session| session.record.publish_id == publish_id)
    }

    /// The position of the session an upload URL's query names; both the id and the token must
    /// match. Sessions are never removed, so the position stays valid.
    pub(crate) fn upload_index(&self, upload_id: &str, upload_token: &str) -> Option<usize> {
        self.sessions.iter().position(|session| {
            session.upload_id == upload_id && session.upload_token == upload_token
        })
    }

    /// Inbox shares that count against TikTok's cap of 5: created in the last 24 hours, upload
    /// not complete, URL not expired. (TikTok counts shares "not yet posted" by the creator; the
    /// simulator has no creator to post them, so a completed upload stops counting, which keeps
    /// long demos usable.)
    /// Direct Posts that count against the creator's daily cap: completed uploads started in
    /// the last 24 hours.
    pub(crate) fn direct_posts_today(&self, now: Instant) -> usize {
        self.sessions
            .iter()
            .filter(|session| {
                session.record.mode == PostMode::Direct
                    && session.record.complete
                    && now.duration_since(session.created_at) < PENDING_SHARE_WINDOW
            })
            .count()
    }

    pub(crate) fn pending_inbox_shares(&self, now: Instant) -> usize {
        self.sessions
            .iter()
            .filter(|session| {
                session.record.mode == PostMode::Inbox
                    && !session.record.complete
                    && !session.is_expired(now)
                    && now.duration_since(session.created_at) < PENDING_SHARE_WINDOW
            })
            .count()
    }
}
