//! One sentence and an exit status: how every command ends when it cannot go on.

use std::fmt;

/// Exit status for a problem of the environment: no region, no credentials, no network.
pub const EXIT_ENVIRONMENT: i32 = 2;
/// Exit status for everything else that stops a command (a failed check, an AWS error).
pub const EXIT_FAILED: i32 = 1;

/// What stops a command: printed as one sentence on stderr, the process exits with `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    pub status: i32,
    pub sentence: String,
}

impl Fatal {
    /// The environment is not set up (region, credentials, network): exit status 2.
    pub fn environment(sentence: impl Into<String>) -> Self {
        Self {
            status: EXIT_ENVIRONMENT,
            sentence: sentence.into(),
        }
    }

    /// A check failed or AWS refused: exit status 1.
    pub fn failed(sentence: impl Into<String>) -> Self {
        Self {
            status: EXIT_FAILED,
            sentence: sentence.into(),
        }
    }
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sentence)
    }
}

impl std::error::Error for Fatal {}
