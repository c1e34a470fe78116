//! One API key per client app of the stage (config/stages.json `clients`), each held to its own
//! usage plan, as the stack gives each client its own key and plan.

use std::io::Write;

use serde_json::Value;

use crate::helpers::{TestServer, assert_gateway_problem, request, spawn_server};

/// A stages file whose dev stage has two client apps with different plans, `web` first: web's
/// throttle is a burst of 2 that never refills, mobile's quota is 3 requests a day.
const TWO_PLANS: &str = r#"{"stages":{"dev":{
    "throttle":{"rateLimit":100000,"burstLimit":100000},
    "userLimit":{"requests":1000000,"windowSeconds":60},
    "corsAllowOrigins":["http://localhost:3000"],
    "clients":{
        "web":{"rateLimit":0.001,"burstLimit":2,"quotaLimit":1000,"quotaPeriod":"DAY"},
        "mobile":{"rateLimit":100000,"burstLimit":100000,"quotaLimit":3,"quotaPeriod":"DAY"}}}}}"#;

/// A server reading `stages` (written to a file of its own) instead of config/stages.json.
fn spawn_with_stages(stages: &str) -> (TestServer, tempfile_path::Dir) {
    let dir = tempfile_path::Dir::new();
    let file = dir.path.join("stages.json");
    std::fs::File::create(&file)
        .and_then(|mut f| f.write_all(stages.as_bytes()))
        .expect("write the stages file");
    let path = file.to_str().expect("a UTF-8 path").to_owned();
    let server = spawn_server(&[
        ("LOCAL_STAGES_FILE", path.as_str()),
        ("LOCAL_NO_METHOD_THROTTLES", "1"),
    ]);
    (server, dir)
}

/// A directory under the system's temporary directory, removed on drop.
mod tempfile_path {
    pub struct Dir {
        pub path: std::path::PathBuf,
    }
    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir()
                .join(format!("local-clients-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&path).expect("a temporary directory");
            Self { path }
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// `/_local/credentials` for `sub` (and `client`, if given): the whole answer.
fn credentials_of(server: &TestServer, sub: &str, client: Option<&str>) -> Value {
    let query = client.map_or_else(String::new, |c| format!("&client={c}"));
    let r = request(
        server,
        "GET",
        &format!("/_local/credentials?sub={sub}{query}"),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "credentials: {}", r.text());
    r.json()
}

fn list(server: &TestServer, token: &str, key: &str) -> crate::helpers::TestResponse {
    request(
        server,
        "GET",
        "/v1/items",
        &[("Authorization", token), ("x-api-key", key)],
        None,
    )
}

#[test]
fn each_configured_client_app_has_its_own_key_and_each_key_works() {
    // The shipped dev stage: web and mobile.
    let server = spawn_server(&[]);
    let default = credentials_of(&server, "alice", None);
    let keys = default["apiKeys"].as_object().expect("apiKeys");
    let mut names: Vec<&str> = keys.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["mobile", "web"],
        "one key per client of config/stages.json's dev"
    );
    assert_ne!(keys["web"], keys["mobile"], "the keys differ");
    assert_eq!(default["client"], "web", "the first client by default");
    assert_eq!(default["apiKey"], keys["web"]);
    let token = default["idToken"].as_str().expect("idToken");
    for client in ["web", "mobile"] {
        let key = keys[client].as_str().expect("a key");
        assert_eq!(key.len(), 40, "{client}");
        assert_eq!(
            list(&server, token, key).status,
            200,
            "{client}'s key works"
        );
        let chosen = credentials_of(&server, "alice", Some(client));
        assert_eq!(chosen["client"], client);
        assert_eq!(chosen["apiKey"], key, "?client={client} gives its key");
    }
    let env = request(
        &server,
        "GET",
        "/_local/credentials?sub=bob&client=mobile&format=env",
        &[],
        None,
    );
    assert!(
        env.text().contains(&format!(
            "\nAPI_KEY={}\n",
            keys["mobile"].as_str().expect("key")
        )),
        "{}",
        env.text()
    );
}

#[test]
fn an_unknown_key_or_client_is_refused() {
    let server = spawn_server(&[]);
    let creds = credentials_of(&server, "alice", None);
    let token = creds["idToken"].as_str().expect("idToken");
    let web = creds["apiKeys"]["web"].as_str().expect("web");
    // A server with another signing secret derives other keys for the same clients.
    let other_secret = "ab".repeat(32);
    let other = spawn_server(&[("LOCAL_JWT_SECRET", other_secret.as_str())]);
    let foreign = credentials_of(&other, "alice", None)["apiKeys"]["web"]
        .as_str()
        .expect("key")
        .to_owned();
    let last = if web.ends_with('x') { 'y' } else { 'x' };
    let changed = format!("{}{last}", &web[..web.len() - 1]);
    for (case, key) in [
        (
            "a web key with its last character changed",
            changed.as_str(),
        ),
        ("another server's web key", foreign.as_str()),
        ("a client's name", "web"),
    ] {
        let body = assert_gateway_problem(&list(&server, token, key), 403, case);
        assert_eq!(body["detail"], "Forbidden", "{case}");
    }
    let r = request(
        &server,
        "GET",
        "/_local/credentials?sub=alice&client=tv",
        &[],
        None,
    );
    let body = assert_gateway_problem(&r, 400, "an unknown client");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("web, mobile")),
        "names the clients, first one first: {body}"
    );
}

#[test]
fn each_client_is_throttled_and_metered_by_its_own_plan_alone() {
    let (server, _dir) = spawn_with_stages(TWO_PLANS);
    let creds = credentials_of(&server, "alice", None);
    let token = creds["idToken"].as_str().expect("idToken");
    let web = creds["apiKeys"]["web"].as_str().expect("web");
    let mobile = creds["apiKeys"]["mobile"].as_str().expect("mobile");

    // web: a burst of 2, then throttled (not over quota).
    let statuses: Vec<u16> = (0..2).map(|_| list(&server, token, web).status).collect();
    assert_eq!(statuses, [200, 200], "web's burst");
    let body = assert_gateway_problem(&list(&server, token, web), 429, "web throttled");
    assert_eq!(
        body["type"],
        "urn:problem:secure-serverless-backend:too-many-requests"
    );

    // mobile is not slowed by web's throttle: its quota of 3, then QUOTA_EXCEEDED.
    let statuses: Vec<u16> = (0..3)
        .map(|_| list(&server, token, mobile).status)
        .collect();
    assert_eq!(
        statuses,
        [200, 200, 200],
        "mobile's own quota, untouched by web"
    );
    let body = assert_gateway_problem(&list(&server, token, mobile), 429, "mobile over quota");
    assert_eq!(
        body["type"],
        "urn:problem:secure-serverless-backend:quota-exceeded"
    );

    // And web's answer is still its throttle, not mobile's exhausted quota.
    let body = assert_gateway_problem(&list(&server, token, web), 429, "web still throttled");
    assert_eq!(
        body["type"],
        "urn:problem:secure-serverless-backend:too-many-requests"
    );
}

#[test]
fn one_clients_exhausted_quota_leaves_the_other_clients_untouched() {
    // The shipped plans with a quota of 2 for every client (LOCAL_QUOTA_LIMIT).
    let server = spawn_server(&[("LOCAL_QUOTA_LIMIT", "2")]);
    let creds = credentials_of(&server, "alice", None);
    let token = creds["idToken"].as_str().expect("idToken");
    let web = creds["apiKeys"]["web"].as_str().expect("web");
    let mobile = creds["apiKeys"]["mobile"].as_str().expect("mobile");
    let statuses: Vec<u16> = (0..3).map(|_| list(&server, token, web).status).collect();
    assert_eq!(statuses, [200, 200, 429], "web's quota of 2 used up");
    let statuses: Vec<u16> = (0..3)
        .map(|_| list(&server, token, mobile).status)
        .collect();
    assert_eq!(
        statuses,
        [200, 200, 429],
        "mobile still has its whole quota"
    );
}
