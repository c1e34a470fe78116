//! The operator's CLI as a library: everything `make deploy`, `make deploy-account`,
//! `make smoke-user`, `make token` and `make smoke STAGE=…` do, with the decisions (the deploy
//! preflight, the secret document, the TOTP code, the cdk command lines) as plain functions that
//! the tests call without AWS. `main.rs` only parses arguments and prints the outcome.

pub mod assembly;
pub mod aws;
pub mod cdk;
pub mod cli;
pub mod cognito;
pub mod fatal;
pub mod outputs;
pub mod password;
pub mod preflight;
pub mod smoke_user;
pub mod totp;

pub use fatal::Fatal;
