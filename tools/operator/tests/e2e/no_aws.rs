//! Without a region, credentials or network: one sentence on stderr, exit status 2, in seconds;
//! the same through `make deploy STAGE=prod`. The instance-metadata endpoint is a loopback port
//! (closed, or one that never answers), so nothing probes 169.254.169.254.

use std::process::Command;
use std::time::Duration;

use crate::harness::{Run, closed_port, operator_bare, repo_root, run, silent_port};

const NO_REGION: &str = "No AWS region: set AWS_REGION (or a profile's region in ~/.aws/config with AWS_PROFILE), or pass REGION=… to make.";
const NO_CREDENTIALS: &str = "No AWS credentials: sign in (aws sso login with AWS_PROFILE set, or aws configure), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role is provided (CI with OIDC, an instance profile).";

fn one_sentence(out: &Run, expected_start: &str, within: Duration) {
    assert_eq!(out.status, 2, "exit status 2: {}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    assert!(out.stderr.starts_with(expected_start), "{}", out.stderr);
    assert!(out.elapsed < within, "took {:?}", out.elapsed);
}

#[test]
fn no_region_is_one_sentence() {
    let mut cmd = operator_bare();
    cmd.args(["deploy", "--stage", "prod"]);
    one_sentence(&run(cmd), NO_REGION, Duration::from_secs(5));
}

#[test]
fn no_region_with_an_instance_metadata_service_that_never_answers_is_one_sentence_in_seconds() {
    let mut cmd = operator_bare();
    cmd.env(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        format!("http://127.0.0.1:{}", silent_port()),
    )
    .args(["token", "--stage", "dev"]);
    one_sentence(&run(cmd), NO_REGION, Duration::from_secs(6));
}

#[test]
fn no_credentials_is_one_sentence() {
    let mut cmd = operator_bare();
    cmd.env("AWS_REGION", "eu-west-1")
        .args(["deploy", "--stage", "prod"]);
    one_sentence(&run(cmd), NO_CREDENTIALS, Duration::from_secs(5));
}

#[test]
fn no_credentials_with_an_instance_metadata_service_that_never_answers_is_one_sentence_in_seconds()
{
    let mut cmd = operator_bare();
    cmd.env("AWS_REGION", "eu-west-1")
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://127.0.0.1:{}", silent_port()),
        )
        .args(["smoke-user", "--stage", "dev"]);
    one_sentence(&run(cmd), NO_CREDENTIALS, Duration::from_secs(6));
}

/// `deploy --stage prod` with a region and static keys, every AWS endpoint at a loopback `port`.
fn deploy_prod_with_keys_against(port: u16) -> Command {
    let mut cmd = operator_bare();
    for (k, v) in static_keys(port) {
        cmd.env(k, v);
    }
    cmd.args(["deploy", "--stage", "prod"]);
    cmd
}

fn static_keys(port: u16) -> [(&'static str, String); 4] {
    [
        ("AWS_REGION", "eu-west-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
    ]
}

#[test]
fn no_network_is_one_sentence() {
    one_sentence(
        &run(deploy_prod_with_keys_against(closed_port())),
        "Cannot reach AWS (STS in eu-west-1): connection failed",
        Duration::from_secs(10),
    );
}

#[test]
fn a_network_that_never_answers_is_one_sentence_within_the_first_call_budget() {
    one_sentence(
        &run(deploy_prod_with_keys_against(silent_port())),
        "Cannot reach AWS (STS in eu-west-1): ",
        Duration::from_secs(12),
    );
}

/// `make deploy STAGE=prod` with the built binary (OPERATOR=…): the operator's one sentence,
/// then make's own "Error N" line. make itself exits 2 for any failed recipe.
fn make_deploy(env: &[(&str, String)]) -> Run {
    let mut cmd = Command::new("make");
    cmd.current_dir(repo_root())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "HOME",
            std::env::temp_dir().join("operator-test-home-without-aws"),
        )
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://127.0.0.1:{}", closed_port()),
        )
        .args([
            "--no-print-directory",
            "deploy",
            "STAGE=prod",
            &format!("OPERATOR={}", env!("CARGO_BIN_EXE_operator")),
        ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(cmd)
}

fn operator_lines(out: &Run) -> Vec<&str> {
    out.stderr
        .lines()
        .filter(|l| !l.starts_with("make: ***"))
        .collect()
}

#[test]
fn make_deploy_prod_without_credentials_ends_in_one_sentence() {
    let out = make_deploy(&[("AWS_REGION", "eu-west-1".into())]);
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert_eq!(operator_lines(&out), [NO_CREDENTIALS]);
}

#[test]
fn make_deploy_prod_without_network_ends_in_one_sentence() {
    let out = make_deploy(&static_keys(closed_port()));
    assert_eq!(out.status, 2, "{}", out.stderr);
    let lines = operator_lines(&out);
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].starts_with("Cannot reach AWS (STS in eu-west-1): connection failed"),
        "{}",
        out.stderr
    );
}

#[test]
fn make_deploy_without_a_stage_names_the_variable() {
    let out = make_deploy(&[]);
    let mut cmd = Command::new("make");
    cmd.current_dir(repo_root()).env_remove("STAGE").args([
        "--no-print-directory",
        "deploy",
        "OPERATOR=false",
    ]);
    let no_stage = run(cmd);
    assert_ne!(no_stage.status, 0);
    no_stage.says("make deploy needs STAGE=dev, staging or prod.");
    assert_eq!(
        out.status, 2,
        "with STAGE=prod the operator runs (and stops without a region): {}",
        out.stderr
    );
}
