//! Random passwords that meet a Cognito pool's policy.

use crate::Fatal;

const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"23456789";
/// A subset of the symbols Cognito counts as special characters, without quotes, backslash,
/// backtick and space, so that the value survives any copy and paste.
const SYMBOLS: &[u8] = b"^$*.[]{}()?!@#%&/,><:;|_~=+-";

/// The length of every generated password unless the pool asks for more (Cognito allows 6–99).
pub const DEFAULT_LENGTH: usize = 32;

/// A password of `max(DEFAULT_LENGTH, minimum)` characters with at least one lower-case letter,
/// upper-case letter, digit and symbol, from the operating system's random source.
pub fn generate(minimum: usize) -> Result<String, Fatal> {
    let length = minimum.clamp(DEFAULT_LENGTH, 99);
    let classes: [&[u8]; 4] = [LOWER, UPPER, DIGITS, SYMBOLS];
    let all: Vec<u8> = classes.concat();
    let mut chars: Vec<u8> = Vec::with_capacity(length);
    for class in classes {
        chars.push(class[uniform(class.len())?]);
    }
    while chars.len() < length {
        chars.push(all[uniform(all.len())?]);
    }
    // Fisher–Yates, so the four guaranteed characters are not always first.
    for i in (1..chars.len()).rev() {
        chars.swap(i, uniform(i + 1)?);
    }
    String::from_utf8(chars).map_err(|_| Fatal::failed("A generated password was not ASCII."))
}

/// A uniform index below `n` (rejection sampling over one random byte; n ≤ 256).
fn uniform(n: usize) -> Result<usize, Fatal> {
    let limit = 256 - 256 % n;
    loop {
        let mut byte = [0u8; 1];
        getrandom::fill(&mut byte)
            .map_err(|e| Fatal::failed(format!("The system's random source failed: {e}.")))?;
        let b = usize::from(byte[0]);
        if b < limit {
            return Ok(b % n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_meet_cognitos_four_classes_and_the_length() {
        for minimum in [6, 14, 32, 40, 99, 200] {
            let p = generate(minimum).unwrap_or_default();
            assert_eq!(p.len(), minimum.clamp(DEFAULT_LENGTH, 99));
            assert!(p.bytes().any(|b| LOWER.contains(&b)), "{p}");
            assert!(p.bytes().any(|b| UPPER.contains(&b)), "{p}");
            assert!(p.bytes().any(|b| DIGITS.contains(&b)), "{p}");
            assert!(p.bytes().any(|b| SYMBOLS.contains(&b)), "{p}");
        }
    }

    #[test]
    fn two_passwords_differ() {
        assert_ne!(generate(14).ok(), generate(14).ok());
    }
}
