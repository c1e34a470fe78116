//! End to end: scripts/smoke.sh against a freshly started server must pass every check.

use std::process::Command;

use crate::helpers::spawn_server;

#[test]
fn the_smoke_script_passes_against_the_local_server() {
    let server = spawn_server(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/smoke.sh");
    let out = Command::new("bash")
        .arg(script)
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
    for function in [
        "create-item",
        "get-item",
        "list-items",
        "update-item",
        "delete-item",
    ] {
        assert!(stdout.contains(function), "no {function} row:\n{stdout}");
    }
}

#[test]
fn the_smoke_script_runs_one_function_with_only() {
    let server = spawn_server(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/smoke.sh");
    let out = Command::new("bash")
        .args([script, &server.base_url, "--only", "list-items"])
        .env_remove("ID_TOKEN")
        .env_remove("API_KEY")
        .output()
        .expect("run scripts/smoke.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("2 passed, 0 failed"), "{stdout}");
    assert!(!stdout.contains("update-item"), "{stdout}");
}
