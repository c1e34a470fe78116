//! The operator CLI end to end: the binary against moto's server on loopback (smoke user, token,
//! smoke, preflight, diff), and without credentials or network (one sentence, exit status 2).
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

mod diff;
mod harness;
mod no_aws;
mod preflight;
mod smoke_user;
mod stage;
