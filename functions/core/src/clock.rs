//! Time: the instants the API writes (`createdAt`, `updatedAt`, idempotency records' expiry) as a
//! type, and the clock that makes them, injected into [`crate::App`] so that tests can hold or
//! move time.

use std::fmt;

use serde::Serialize;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// An instant to the millisecond, written as RFC 3339 in UTC with milliseconds
/// (`2026-11-29T04:36:31.123Z`), the only form the API gives and stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The instant `unix_ms` milliseconds after the Unix epoch, within the years 0 to 9999.
    pub fn from_unix_millis(unix_ms: i64) -> Option<Self> {
        let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000).ok()?;
        (0..=9999).contains(&t.year()).then_some(Self(t))
    }

    /// Reads exactly the form [`Timestamp`] writes; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let shape = b.len() == 24
            && b.iter().enumerate().all(|(i, &c)| match i {
                4 | 7 => c == b'-',
                10 => c == b'T',
                13 | 16 => c == b':',
                19 => c == b'.',
                23 => c == b'Z',
                _ => c.is_ascii_digit(),
            });
        if !shape {
            return None;
        }
        let n = |from: usize, to: usize| s.get(from..to)?.parse::<u16>().ok();
        let date = Date::from_calendar_date(
            i32::from(n(0, 4)?),
            Month::try_from(u8::try_from(n(5, 7)?).ok()?).ok()?,
            u8::try_from(n(8, 10)?).ok()?,
        )
        .ok()?;
        let time = Time::from_hms_milli(
            u8::try_from(n(11, 13)?).ok()?,
            u8::try_from(n(14, 16)?).ok()?,
            u8::try_from(n(17, 19)?).ok()?,
            n(20, 23)?,
        )
        .ok()?;
        Some(Self(PrimitiveDateTime::new(date, time).assume_utc()))
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> i64 {
        i64::try_from(self.0.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
    }

    /// Whole seconds since the Unix epoch (0 for an instant before it), as DynamoDB's TTL
    /// attribute takes them.
    pub fn unix_seconds(self) -> u64 {
        u64::try_from(self.0.unix_timestamp()).unwrap_or(0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where the application gets the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system's clock: what every function and the local server run on.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let t = OffsetDateTime::now_utc();
        // Truncated to the millisecond, so that what is written reads back equal.
        let unix_ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        Timestamp::from_unix_millis(unix_ms).unwrap_or(Timestamp(OffsetDateTime::UNIX_EPOCH))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        let t = SystemClock.now().to_string();
        assert!(t.ends_with('Z'), "{t}");
        assert_eq!(t.len(), "2026-11-29T04:36:31.123Z".len(), "{t}");
    }

    #[test]
    fn a_timestamp_reads_back_what_it_writes() {
        let now = SystemClock.now();
        assert_eq!(Timestamp::parse(&now.to_string()), Some(now));
        let t = Timestamp::from_unix_millis(1_796_000_191_123).expect("in range");
        assert_eq!(t.to_string(), "2026-11-30T00:56:31.123Z");
        assert_eq!(t.unix_seconds(), 1_796_000_191);
    }

    #[test]
    fn only_the_form_the_api_writes_is_a_timestamp() {
        for bad in [
            "",
            "2026-11-29T04:36:31Z",
            "2026-11-29T04:36:31.123+00:00",
            "2026-11-29 04:36:31.123Z",
            "2026-02-30T00:00:00.000Z",
            "2026-11-29T24:00:00.000Z",
            "+026-11-29T04:36:31.123Z",
            "2026-11-29T04:36:31.1234Z",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad:?}");
        }
    }
}
