//! What the simulated Login Kit remembers: authorization codes waiting to be exchanged, and the
//! access and refresh tokens it issued, each tied to a grant (one person's consent) that a
//! revoke ends. Refresh tokens rotate strictly: each works once.

use crate::ids;
use protocol::tiktok::TokenResponse;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// How long an authorization code may wait for its exchange. TikTok's codes are short-lived;
/// five minutes is plenty for a redirect.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(5 * 60);

/// The `open_id` of the simulated person, unless a test signs in as someone else
/// (`Sim::sign_in_as`).
pub(crate) const OPEN_ID: &str = "sim-open-id-0001";

/// An authorization code waiting for its exchange.
#[derive(Debug, Clone)]
pub(crate) struct PendingCode {
    /// The `redirect_uri` of the authorize request; the exchange must send the same.
    pub(crate) redirect_uri: String,
    /// The hex `code_challenge`, when the authorize request had one (desktop and mobile).
    pub(crate) code_challenge: Option<String>,
    /// What the person granted.
    pub(crate) scopes: Vec<String>,
    /// Who consented: the account the code's tokens are for.
    pub(crate) open_id: String,
    /// After this the code is refused.
    pub(crate) expires: Instant,
}

/// One person's consent: every token issued under it dies with a revoke.
#[derive(Debug)]
struct Grant {
    scopes: Vec<String>,
    open_id: String,
    revoked: bool,
}

/// An issued token.
#[derive(Debug)]
struct Issued {
    /// Index into `grants`.
    grant: usize,
    expires: Instant,
    /// A refresh token already exchanged (rotation) is refused from then on.
    spent: bool,
}

/// How long issued tokens live.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lifetimes {
    pub(crate) access: Duration,
    pub(crate) refresh: Duration,
}

/// Codes, grants and tokens. Lives inside the simulator's state mutex.
#[derive(Debug, Default)]
pub(crate) struct Grants {
    /// Who is signed in to the simulated TikTok in the browser; empty means [`OPEN_ID`].
    pub(crate) signed_in: String,
    codes: HashMap<String, PendingCode>,
    grants: Vec<Grant>,
    access: HashMap<String, Issued>,
    refresh: HashMap<String, Issued>,
}

impl Grants {
    /// Mints a single-use code for a consent.
    pub(crate) fn issue_code(&mut self, pending: PendingCode) -> String {
        let code = ids::secret("code");
        self.codes.insert(code.clone(), pending);
        code
    }

    /// Takes a code out for its one exchange; `None` if unknown, used or expired.
    pub(crate) fn take_code(&mut self, code: &str, now: Instant) -> Option<PendingCode> {
        self.codes
            .remove(code)
            .filter(|pending| now < pending.expires)
    }

    /// Who consents on the authorize page now.
    pub(crate) fn person(&self) -> String {
        if self.signed_in.is_empty() {
            OPEN_ID.to_owned()
        } else {
            self.signed_in.clone()
        }
    }

    /// Starts a grant by `open_id` with `scopes` and issues its first token pair.
    pub(crate) fn start(
        &mut self,
        open_id: String,
        scopes: Vec<String>,
        now: Instant,
        lifetimes: Lifetimes,
    ) -> TokenResponse {
        self.grants.push(Grant {
            scopes,
            open_id,
            revoked: false,
        });
        self.issue(self.grants.len() - 1, now, lifetimes)
    }

    /// Exchanges a refresh token for a new pair; the old refresh token stops working. `None`
    /// if it is unknown, spent, expired or revoked.
    pub(crate) fn rotate(
        &mut self,
        refresh_token: &str,
        now: Instant,
        lifetimes: Lifetimes,
    ) -> Option<TokenResponse> {
        let issued = self.refresh.get_mut(refresh_token)?;
        if issued.spent || now >= issued.expires || self.grants[issued.grant].revoked {
            return None;
        }
        issued.spent = true;
        let grant = issued.grant;
        Some(self.issue(grant, now, lifetimes))
    }

    /// The scopes behind a live access token; `None` if unknown, expired or revoked.
    pub(crate) fn access_scopes(&self, access_token: &str, now: Instant) -> Option<&[String]> {
        let issued = self.access.get(access_token)?;
        let grant = &self.grants[issued.grant];
        (now < issued.expires && !grant.revoked).then_some(grant.scopes.as_slice())
    }

    /// Makes every access token issued so far expire at `now`, as when TikTok invalidates
    /// tokens early; refresh tokens keep working.
    pub(crate) fn expire_access_tokens(&mut self, now: Instant) {
        for issued in self.access.values_mut() {
            issued.expires = issued.expires.min(now);
        }
    }

    /// Ends the grant behind `token` (an access or a refresh token); unknown tokens are
    /// ignored, as OAuth servers do.
    pub(crate) fn revoke(&mut self, token: &str) {
        let grant = self
            .access
            .get(token)
            .or_else(|| self.refresh.get(token))
            .map(|issued| issued.grant);
        if let Some(grant) = grant {
            self.grants[grant].revoked = true;
        }
    }

    fn issue(&mut self, grant: usize, now: Instant, lifetimes: Lifetimes) -> TokenResponse {
        let access_token = ids::secret("act");
        let refresh_token = ids::secret("rft");
        for (map, token, ttl) in [
            (&mut self.access, &access_token, lifetimes.access),
            (&mut self.refresh, &refresh_token, lifetimes.refresh),
        ] {
            let issued = Issued {
                grant,
                expires: now + ttl,
                spent: false,
            };
            map.insert(token.clone(), issued);
        }
        TokenResponse {
            access_token,
            expires_in: whole_secs(lifetimes.access),
            open_id: self.grants[grant].open_id.clone(),
            refresh_expires_in: whole_secs(lifetimes.refresh),
            refresh_token,
            scope: self.grants[grant].scopes.join(","),
            token_type: "Bearer".to_owned(),
        }
    }
}

/// A lifetime in TikTok's whole seconds, rounded up (a 1.5 s test lifetime says 2).
fn whole_secs(ttl: Duration) -> u64 {
    ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFETIMES: Lifetimes = Lifetimes {
        access: Duration::from_secs(2),
        refresh: Duration::from_secs(60),
    };

    #[test]
    fn codes_are_single_use_and_short_lived() {
        let now = Instant::now();
        let mut grants = Grants::default();
        let pending = PendingCode {
            redirect_uri: "http://localhost:1/cb".into(),
            code_challenge: None,
            scopes: vec!["video.publish".into()],
            open_id: OPEN_ID.into(),
            expires: now + CODE_TTL,
        };
        let code = grants.issue_code(pending.clone());
        assert!(grants.take_code(&code, now).is_some());
        assert!(grants.take_code(&code, now).is_none(), "used");
        let code = grants.issue_code(pending);
        assert!(grants.take_code(&code, now + CODE_TTL).is_none(), "expired");
    }

    #[test]
    fn refresh_tokens_rotate_strictly_and_revoke_ends_everything() {
        let now = Instant::now();
        let mut grants = Grants::default();
        let first = grants.start(OPEN_ID.into(), vec!["video.upload".into()], now, LIFETIMES);
        assert_eq!(first.expires_in, 2);
        assert_eq!(
            grants.access_scopes(&first.access_token, now),
            Some(&["video.upload".to_owned()][..])
        );
        assert!(
            grants
                .access_scopes(&first.access_token, now + LIFETIMES.access)
                .is_none()
        );
        let second = grants.rotate(&first.refresh_token, now, LIFETIMES).unwrap();
        assert_ne!(second.refresh_token, first.refresh_token);
        assert!(
            grants
                .rotate(&first.refresh_token, now, LIFETIMES)
                .is_none()
        );
        grants.revoke(&second.access_token);
        assert!(grants.access_scopes(&second.access_token, now).is_none());
        assert!(
            grants
                .rotate(&second.refresh_token, now, LIFETIMES)
                .is_none()
        );
        assert_eq!(whole_secs(Duration::from_millis(1500)), 2);
    }
}
