//! The operator's CLI as a library: everything `make deploy`, `make deploy-account`,
//! `make smoke-user`, `make token`, `make smoke STAGE=…` and `make diff STAGE=…` do, with the decisions (the deploy
//! preflight, the secret document, the TOTP code, the cdk command lines) as plain functions that
//! the tests call without AWS. `main.rs` only parses arguments and prints the outcome.

pub mod assembly;
pub mod aws;
pub mod cdk;
pub mod cli;
pub mod cognito;
pub mod diff;
pub mod fatal;
pub mod outputs;
pub mod password;
pub mod preflight;
pub mod smoke_user;
pub mod totp;

pub use fatal::Fatal;

/// A stage or smoke-user name: 1–32 lower-case letters, digits or '-', starting with a letter
/// (names go into stack names, e-mail addresses and command lines).
pub fn is_plain_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
