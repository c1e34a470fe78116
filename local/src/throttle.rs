//! API Gateway's throttles: token buckets (a burst's worth of tokens, refilled at the rate) for
//! the stage, each method and each client app's usage plan (per key), and the usage plan's quota
//! per period.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::{Limits, QuotaPeriod, Throttle};

/// A token bucket: holds up to `burst` tokens, gains `rate` per second, a request takes one.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(t: Throttle, now: Instant) -> Self {
        Self {
            rate: t.rate_limit,
            burst: t.burst_limit,
            tokens: t.burst_limit,
            last: now,
        }
    }

    /// Takes a token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The number of the quota period `epoch_seconds` falls in (UTC days; weeks from Monday;
/// calendar months).
pub fn period_index(period: QuotaPeriod, epoch_seconds: i64) -> i64 {
    let days = epoch_seconds.div_euclid(86_400);
    match period {
        QuotaPeriod::Day => days,
        // 1970-01-01 was a Thursday: shift so weeks start on Monday.
        QuotaPeriod::Week => (days + 3).div_euclid(7),
        QuotaPeriod::Month => time::OffsetDateTime::from_unix_timestamp(epoch_seconds)
            .map(|t| i64::from(t.year()) * 12 + i64::from(u8::from(t.month())))
            .unwrap_or(days),
    }
}

#[derive(Debug)]
struct KeyState {
    bucket: TokenBucket,
    period: i64,
    used: u64,
}

/// Why a request was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Throttled,
    QuotaExceeded,
}

/// Every throttle of one server.
#[derive(Debug)]
pub struct Throttles {
    limits: Limits,
    stage: Mutex<TokenBucket>,
    methods: Mutex<HashMap<String, TokenBucket>>,
    keys: Mutex<HashMap<String, KeyState>>,
}

impl Throttles {
    pub fn new(limits: Limits) -> Self {
        let now = Instant::now();
        Self {
            stage: Mutex::new(TokenBucket::new(limits.throttle, now)),
            methods: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
            limits,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The stage-wide throttle, before routing.
    pub fn stage(&self, now: Instant) -> Result<(), Refusal> {
        let mut bucket = self.stage.lock().unwrap_or_else(|p| p.into_inner());
        bucket.try_take(now).then_some(()).ok_or(Refusal::Throttled)
    }

    /// A method's own throttle, when the stage sets one for `"VERB /path"`.
    pub fn method(&self, key: &str, now: Instant) -> Result<(), Refusal> {
        let Some(t) = self.limits.method_throttles.get(key) else {
            return Ok(());
        };
        let mut methods = self.methods.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = methods
            .entry(key.to_owned())
            .or_insert_with(|| TokenBucket::new(*t, now));
        bucket.try_take(now).then_some(()).ok_or(Refusal::Throttled)
    }

    /// The usage plan of the client app `client` (whose API key the request carries): its
    /// throttle, then its quota, each counted for that client alone. A throttled request does not
    /// count against the quota. A client the stage does not name has no plan and is refused.
    pub fn usage_plan(
        &self,
        client: &str,
        now: Instant,
        epoch_seconds: i64,
    ) -> Result<(), Refusal> {
        let Some(plan) = self.limits.clients.plan(client).copied() else {
            return Err(Refusal::Throttled);
        };
        let period = period_index(plan.quota_period, epoch_seconds);
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let state = keys.entry(client.to_owned()).or_insert_with(|| KeyState {
            bucket: TokenBucket::new(plan.throttle(), now),
            period,
            used: 0,
        });
        if !state.bucket.try_take(now) {
            return Err(Refusal::Throttled);
        }
        if state.period != period {
            state.period = period;
            state.used = 0;
        }
        if state.used >= plan.quota_limit {
            return Err(Refusal::QuotaExceeded);
        }
        state.used += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{Clients, UsagePlan};

    fn plan(rate: f64, burst: f64, quota: u64) -> UsagePlan {
        UsagePlan {
            rate_limit: rate,
            burst_limit: burst,
            quota_limit: quota,
            quota_period: QuotaPeriod::Day,
        }
    }

    /// Clients "a" and "b" with the same plan.
    fn limits(rate: f64, burst: f64, quota: u64) -> Limits {
        Limits {
            throttle: Throttle {
                rate_limit: rate,
                burst_limit: burst,
            },
            method_throttles: Default::default(),
            clients: Clients(vec![
                ("a".to_owned(), plan(rate, burst, quota)),
                ("b".to_owned(), plan(rate, burst, quota)),
            ]),
        }
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(
            Throttle {
                rate_limit: 2.0,
                burst_limit: 3.0,
            },
            t0,
        );
        assert!((0..3).all(|_| b.try_take(t0)), "the burst");
        assert!(!b.try_take(t0), "empty");
        assert!(
            b.try_take(t0 + Duration::from_millis(500)),
            "one token after 0.5 s at 2/s"
        );
        assert!(!b.try_take(t0 + Duration::from_millis(500)), "and only one");
    }

    #[test]
    fn the_quota_counts_per_key_and_resets_with_the_period() {
        let th = Throttles::new(limits(1000.0, 1000.0, 2));
        let t0 = Instant::now();
        assert_eq!(th.usage_plan("a", t0, 0), Ok(()));
        assert_eq!(th.usage_plan("a", t0, 0), Ok(()));
        assert_eq!(th.usage_plan("a", t0, 0), Err(Refusal::QuotaExceeded));
        assert_eq!(
            th.usage_plan("b", t0, 0),
            Ok(()),
            "another client has its own quota"
        );
        assert_eq!(th.usage_plan("a", t0, 86_400), Ok(()), "the next day");
    }

    #[test]
    fn each_client_is_held_to_its_own_plan() {
        let mut l = limits(1000.0, 1000.0, 1000);
        l.clients.0[0].1 = plan(0.001, 1.0, 1000);
        l.clients.0[1].1 = plan(1000.0, 1000.0, 2);
        let th = Throttles::new(l);
        let t0 = Instant::now();
        assert_eq!(th.usage_plan("a", t0, 0), Ok(()));
        assert_eq!(
            th.usage_plan("a", t0, 0),
            Err(Refusal::Throttled),
            "a's burst of 1"
        );
        assert_eq!(th.usage_plan("b", t0, 0), Ok(()), "b's burst is its own");
        assert_eq!(th.usage_plan("b", t0, 0), Ok(()));
        assert_eq!(
            th.usage_plan("b", t0, 0),
            Err(Refusal::QuotaExceeded),
            "b's quota of 2"
        );
        assert_eq!(
            th.usage_plan("nobody", t0, 0),
            Err(Refusal::Throttled),
            "no plan, no entry"
        );
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2024-01-01 was a Monday.
        let monday = 1_704_067_200;
        assert_eq!(
            period_index(QuotaPeriod::Week, monday - 1) + 1,
            period_index(QuotaPeriod::Week, monday)
        );
        assert_eq!(
            period_index(QuotaPeriod::Month, monday - 1) + 1,
            period_index(QuotaPeriod::Month, monday)
        );
    }
}
