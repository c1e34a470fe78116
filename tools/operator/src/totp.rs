//! RFC 6238 codes as Cognito's software-token MFA takes them: HMAC-SHA1, 6 digits, 30-second
//! steps, the secret as the base32 text AssociateSoftwareToken returns.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use totp_rs::{Algorithm, Builder, Secret};

use crate::Fatal;

/// Cognito's TOTP step.
pub const STEP_SECONDS: u64 = 30;

/// The code for `unix_seconds`, from a base32 secret (case and padding ignored).
pub fn code_at(secret_base32: &str, unix_seconds: u64) -> Result<String, Fatal> {
    let cleaned: String = secret_base32
        .chars()
        .filter(|c| *c != '=' && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let secret = Secret::try_from_base32(&cleaned)
        .map_err(|_| Fatal::failed("The stored TOTP secret is not base32: run make smoke-user again to repair the smoke user."))?;
    if secret.as_bytes().is_empty() {
        return Err(Fatal::failed(
            "The stored TOTP secret is empty: run make smoke-user again to repair the smoke user.",
        ));
    }
    // Cognito's parameters (RFC 6238 defaults). `build_noncompliant` because the secret's length
    // is Cognito's choice, not ours (totp-rs's strict builder wants 128 bits or more).
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(0)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret)
        .build_noncompliant();
    Ok(totp.generate(unix_seconds).to_string())
}

/// Seconds since the epoch, now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// How long to wait so that a code made now is still valid when the service checks it: nothing,
/// or until the next step when fewer than `margin` seconds of this one are left.
pub fn wait_for_fresh_step(unix_seconds: u64, margin: u64) -> Duration {
    let left = STEP_SECONDS - unix_seconds % STEP_SECONDS;
    if left < margin {
        Duration::from_secs(left)
    } else {
        Duration::ZERO
    }
}

/// How long until the next step starts (to answer again after a code the service refused).
pub fn until_next_step(unix_seconds: u64) -> Duration {
    Duration::from_secs(STEP_SECONDS - unix_seconds % STEP_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows: the secret is ASCII "12345678901234567890"; the RFC prints
    /// 8 digits, Cognito uses the last 6.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(
                code_at(secret, time).ok().as_deref(),
                Some(&eight[2..]),
                "T = {time}"
            );
        }
    }

    #[test]
    fn lower_case_and_padding_are_accepted() {
        assert_eq!(
            code_at("gezdgnbvgy3tqojqgezdgnbvgy3tqojq====", 59)
                .ok()
                .as_deref(),
            Some("287082")
        );
    }

    #[test]
    fn a_secret_that_is_not_base32_is_refused_with_the_repair_command() {
        assert!(code_at("not base32!", 59).is_err_and(|e| e.sentence.contains("make smoke-user")));
        assert!(code_at("", 59).is_err());
    }

    #[test]
    fn a_code_is_not_made_in_the_last_seconds_of_a_step() {
        assert_eq!(wait_for_fresh_step(60, 3), Duration::ZERO);
        assert_eq!(wait_for_fresh_step(87, 3), Duration::ZERO);
        assert_eq!(wait_for_fresh_step(88, 3), Duration::from_secs(2));
        assert_eq!(until_next_step(61), Duration::from_secs(29));
    }
}
