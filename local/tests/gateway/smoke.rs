//! End to end: scripts/smoke.sh against a freshly started server must pass every check.

use std::process::Command;

use api_contract::Contract;

use crate::helpers::spawn_server;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/smoke.sh");

/// The functions the contract routes to, in its order.
fn functions() -> Vec<String> {
    Contract::load()
        .expect("contract")
        .operations()
        .expect("operations")
        .into_iter()
        .map(|o| o.function)
        .collect()
}

#[test]
fn the_smoke_script_passes_against_the_local_server() {
    let server = spawn_server(&[]);
    let out = Command::new("bash")
        .arg(SCRIPT)
        .arg(&server.base_url)
        .env_remove("ID_TOKEN")
        .env_remove("API_KEY")
        .env_remove("BASE_URL")
        .output()
        .expect("run scripts/smoke.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "smoke.sh failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("11 passed, 0 failed"), "{stdout}");
    for function in functions() {
        assert!(stdout.contains(&function), "no {function} row:\n{stdout}");
    }
}

#[test]
fn the_smoke_script_knows_exactly_the_contracts_functions() {
    let out = Command::new("bash")
        .args([SCRIPT, "http://127.0.0.1:9", "--only", "no-such-function"])
        .output()
        .expect("run scripts/smoke.sh");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let listed: Vec<&str> = stderr
        .split_once("one of: ")
        .and_then(|(_, rest)| rest.split_once(';'))
        .map(|(list, _)| list.split_whitespace().collect())
        .unwrap_or_default();
    let mut listed: Vec<String> = listed.into_iter().map(str::to_owned).collect();
    let mut in_contract = functions();
    listed.sort();
    in_contract.sort();
    assert_eq!(listed, in_contract, "{stderr}");
}

#[test]
fn the_smoke_script_runs_one_function_with_only() {
    let server = spawn_server(&[]);
    let out = Command::new("bash")
        .args([SCRIPT, &server.base_url, "--only", "list-items"])
        .env_remove("ID_TOKEN")
        .env_remove("API_KEY")
        .output()
        .expect("run scripts/smoke.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("2 passed, 0 failed"), "{stdout}");
    assert!(!stdout.contains("update-item"), "{stdout}");
}
