//! The per-user limit: at most `requests` requests per caller (the ID token's `sub`) in each
//! fixed window of `window_seconds`, counted in the table so that every function and every
//! execution environment shares one count, and a new token never starts a new one.
//!
//! Windows are aligned to the Unix epoch (`start = now - now % window_seconds`), so every
//! function computes the same window for the same instant without talking to any other. One
//! conditional `UpdateItem` per request counts it (see [`crate::store::UserLimitStore`]); a
//! request over the limit is refused before its handler runs, so it costs no other call.

use std::num::NonZeroU32;

use crate::clock::Timestamp;

/// The limit itself: `requests` per `window_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserLimit {
    requests: NonZeroU32,
    window_seconds: NonZeroU32,
}

/// The most requests a window may allow (cdk/lib/config.ts holds the stage setting to the same).
pub const MAX_REQUESTS: u32 = 1_000_000;
/// The longest window: one day.
pub const MAX_WINDOW_SECONDS: u32 = 86_400;
/// How long a window's counter outlives the window before DynamoDB may delete it (TTL): functions
/// whose clocks run a little behind still find the count, never a deleted one.
pub const TTL_MARGIN_SECONDS: u64 = 60;

impl UserLimit {
    /// The limit, if both numbers are from 1 to their maximum ([`MAX_REQUESTS`],
    /// [`MAX_WINDOW_SECONDS`]).
    pub fn new(requests: u32, window_seconds: u32) -> Option<Self> {
        if requests > MAX_REQUESTS || window_seconds > MAX_WINDOW_SECONDS {
            return None;
        }
        Some(Self {
            requests: NonZeroU32::new(requests)?,
            window_seconds: NonZeroU32::new(window_seconds)?,
        })
    }

    pub fn requests(self) -> u32 {
        self.requests.get()
    }

    pub fn window_seconds(self) -> u32 {
        self.window_seconds.get()
    }

    /// The window `now` falls in.
    pub fn window(self, now: Timestamp) -> Window {
        let length = u64::from(self.window_seconds.get());
        let seconds = now.unix_seconds();
        let start = seconds - seconds % length;
        Window {
            start,
            end: start + length,
        }
    }
}

/// One fixed window, in Unix seconds: from `start` (included) to `end` (excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: u64,
    pub end: u64,
}

impl Window {
    /// Whole seconds from `now` until the window ends, rounded up and at least 1: the
    /// `Retry-After` of a refused request.
    pub fn retry_after(self, now: Timestamp) -> u32 {
        let end_ms = i64::try_from(self.end.saturating_mul(1000)).unwrap_or(i64::MAX);
        let left_ms = end_ms.saturating_sub(now.unix_millis()).max(0);
        let seconds = (left_ms + 999) / 1000;
        u32::try_from(seconds).unwrap_or(u32::MAX).max(1)
    }

    /// The epoch second after which DynamoDB may delete the window's counter.
    pub fn expires(self) -> u64 {
        self.end + TTL_MARGIN_SECONDS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix_ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(unix_ms).expect("in range")
    }

    #[test]
    fn only_positive_bounded_numbers_make_a_limit() {
        assert!(UserLimit::new(1, 1).is_some());
        assert!(UserLimit::new(MAX_REQUESTS, MAX_WINDOW_SECONDS).is_some());
        for (requests, window) in [
            (0, 60),
            (10, 0),
            (MAX_REQUESTS + 1, 60),
            (10, MAX_WINDOW_SECONDS + 1),
        ] {
            assert_eq!(
                UserLimit::new(requests, window),
                None,
                "{requests}/{window}"
            );
        }
    }

    #[test]
    fn windows_are_aligned_to_the_epoch() {
        let limit = UserLimit::new(5, 60).expect("limit");
        let w = limit.window(at(1_796_000_191_123));
        assert_eq!(
            w,
            Window {
                start: 1_796_000_160,
                end: 1_796_000_220
            }
        );
        assert_eq!(limit.window(at(1_796_000_160_000)), w, "the first instant");
        assert_eq!(limit.window(at(1_796_000_219_999)), w, "the last instant");
        assert_eq!(limit.window(at(1_796_000_220_000)).start, 1_796_000_220);
        assert_eq!(w.expires(), 1_796_000_220 + TTL_MARGIN_SECONDS);
    }

    #[test]
    fn retry_after_is_the_whole_seconds_left_and_at_least_one() {
        let w = Window {
            start: 1_796_000_160,
            end: 1_796_000_220,
        };
        assert_eq!(w.retry_after(at(1_796_000_160_000)), 60);
        assert_eq!(
            w.retry_after(at(1_796_000_191_123)),
            29,
            "28.877 s rounds up"
        );
        assert_eq!(w.retry_after(at(1_796_000_219_999)), 1);
        assert_eq!(w.retry_after(at(1_796_000_220_000)), 1, "never 0");
        assert_eq!(w.retry_after(at(1_796_000_300_000)), 1, "a late clock");
    }
}
