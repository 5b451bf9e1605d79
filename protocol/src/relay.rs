//! When the page stops PUTting chunks to TikTok's upload host and sends them through our proxy's
//! relay instead. Decided from what the direct PUTs themselves showed: TikTok documents no other
//! request to its upload URL, so the page sends none just to find out.
//!
//! A browser refused by CORS hides the refusal from the page: XHR reports status 0 and an `error`
//! event, as for a network failure. But a refusal fails in one of two shapes:
//! - the preflight (`OPTIONS`, which `Content-Range` makes necessary) is refused, so the request
//!   fails before any of the body is sent;
//! - the preflight passes but TikTok's answer carries no `Access-Control-Allow-Origin`, so the
//!   whole body is sent (upload `load`) and then the answer is withheld.
//!
//! A connection that breaks while the body is going, a stall the page gave up on, a pause and an
//! offline browser are not refusals. One answer the page may read proves the browser may reach
//! TikTok directly: then nothing switches for the rest of the upload.

/// Failed direct PUTs shaped like a refusal, with none answered, before the page switches to
/// the relay. One could be a network blip that refused a connection; two, with nothing getting
/// through in between, is a browser TikTok will not answer. (A genuinely unreachable host takes
/// the relay too, which then reports what went wrong with a status the page can read.)
pub const REFUSALS_BEFORE_RELAY: u32 = 2;

/// How one direct PUT ended, as the page's XHR saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectPut {
    /// The HTTP status; 0 when the page may read no answer.
    pub status: u16,
    /// Bytes of the body the browser reported sent: upload `progress`, and the whole chunk once
    /// upload `load` fired.
    pub body_sent: u64,
    /// The chunk's length.
    pub body_len: u64,
    /// The page gave up on the request itself (a stall timeout).
    pub abandoned: bool,
    /// Whether the browser believed it was online (`navigator.onLine`) when the PUT ended.
    pub online: bool,
}

impl DirectPut {
    /// Whether the PUT failed the way a CORS refusal fails: no readable answer, not given up by
    /// the page, online, and either none or all of the body sent.
    pub fn looks_refused(&self) -> bool {
        self.status == 0
            && !self.abandoned
            && self.online
            && (self.body_sent == 0 || self.body_sent >= self.body_len)
    }
}

/// What one upload has shown so far about reaching TikTok directly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectRecord {
    /// A direct PUT got an answer the page could read.
    answered: bool,
    /// Direct PUTs that looked refused.
    refusals: u32,
}

impl DirectRecord {
    /// Notes how a direct PUT ended; true when the chunks should go through the relay from now
    /// on.
    pub fn note(&mut self, put: &DirectPut) -> bool {
        if put.status != 0 {
            self.answered = true;
        } else if put.looks_refused() {
            self.refusals += 1;
        }
        !self.answered && self.refusals >= REFUSALS_BEFORE_RELAY
    }
}

/// Which way one upload's chunks go: straight to TikTok until the direct PUTs show the browser
/// may not ([`DirectRecord`]), then through the relay for the rest of the upload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Route {
    relay: bool,
    direct: DirectRecord,
    /// Switched to the relay during this upload, and no chunk carried by it yet.
    unproven: bool,
}

/// What one PUT's ending changed about the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Nothing: the next chunk goes the same way.
    Stay,
    /// The direct path looks refused: from the next PUT on, chunks go through the relay.
    ToRelay,
    /// The relay carried the first chunk since the switch: worth remembering for this browser's
    /// next uploads, since its direct path failed and the relay works.
    RelayProven,
}

impl Route {
    /// A route starting through the relay when `relay` (this browser is known to need it).
    pub fn new(relay: bool) -> Self {
        Self {
            relay,
            ..Self::default()
        }
    }

    /// Whether chunks go through the relay.
    pub fn relay(&self) -> bool {
        self.relay
    }

    /// Notes how a PUT the route sent ended, and whether TikTok accepted its chunk.
    pub fn note(&mut self, put: &DirectPut, accepted: bool) -> Turn {
        if self.relay {
            if accepted && std::mem::take(&mut self.unproven) {
                return Turn::RelayProven;
            }
            return Turn::Stay;
        }
        if self.direct.note(put) {
            self.relay = true;
            self.unproven = true;
            return Turn::ToRelay;
        }
        Turn::Stay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const LEN: u64 = 10 * 1024 * 1024;

    /// How a PUT ended, in a word: `answered` (a readable status), `preflight` (refused before
    /// the body), `withheld` (body sent, answer withheld), `cut` (broken mid-body), `stalled`
    /// (the page gave up), `offline`.
    fn put(how: &str) -> DirectPut {
        let failed = DirectPut {
            status: 0,
            body_sent: 0,
            body_len: LEN,
            abandoned: false,
            online: true,
        };
        match how {
            "answered" => DirectPut {
                status: 503,
                body_sent: LEN,
                ..failed
            },
            "preflight" => failed,
            "withheld" => DirectPut {
                body_sent: LEN,
                ..failed
            },
            "cut" => DirectPut {
                body_sent: LEN / 2,
                ..failed
            },
            "stalled" => DirectPut {
                body_sent: LEN / 2,
                abandoned: true,
                ..failed
            },
            "stalled-before-body" => DirectPut {
                abandoned: true,
                ..failed
            },
            "offline" => DirectPut {
                online: false,
                ..failed
            },
            other => panic!("no such ending {other:?}"),
        }
    }

    /// Feeds `endings` to a fresh record; the index of the PUT after which the page switches.
    fn check(endings: &[&str], expected: Option<usize>) {
        let mut record = DirectRecord::default();
        let switched = endings.iter().position(|how| record.note(&put(how)));
        assert_eq!(switched, expected, "{endings:?}");
    }

    #[test]
    fn switches_after_two_refusal_shaped_failures_with_nothing_answered() {
        check(&["preflight", "preflight"], Some(1));
        check(&["withheld", "withheld"], Some(1));
        check(&["preflight", "withheld"], Some(1));
        check(&["preflight"], None);
        // Failures that say nothing about CORS neither count nor reset the count.
        check(
            &["preflight", "cut", "stalled", "offline", "preflight"],
            Some(4),
        );
        check(
            &["cut", "cut", "cut", "stalled", "stalled-before-body"],
            None,
        );
        check(&["offline", "offline", "offline"], None);
    }

    #[test]
    fn an_answer_proves_the_direct_path_for_the_rest_of_the_upload() {
        check(&["answered", "preflight", "preflight", "withheld"], None);
        check(&["preflight", "answered", "preflight", "preflight"], None);
    }

    #[test]
    fn the_route_switches_once_and_remembers_the_relay_once_it_carried_a_chunk() {
        let mut route = Route::new(false);
        assert_eq!(route.note(&put("preflight"), false), Turn::Stay);
        assert!(!route.relay());
        assert_eq!(route.note(&put("withheld"), false), Turn::ToRelay);
        assert!(route.relay());
        // Through the relay, a failure changes nothing; the first accepted chunk proves it.
        assert_eq!(route.note(&put("answered"), false), Turn::Stay);
        assert_eq!(route.note(&put("answered"), true), Turn::RelayProven);
        assert_eq!(route.note(&put("answered"), true), Turn::Stay);
    }

    #[test]
    fn a_route_known_to_need_the_relay_has_nothing_to_prove() {
        let mut route = Route::new(true);
        assert!(route.relay());
        assert_eq!(route.note(&put("answered"), true), Turn::Stay);
        for how in ["preflight", "preflight", "withheld"] {
            assert_eq!(route.note(&put(how), false), Turn::Stay);
        }
    }
}
