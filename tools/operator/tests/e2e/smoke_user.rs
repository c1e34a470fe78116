//! make smoke-user, make token and make smoke STAGE=… against a stage in moto. moto checks TOTP
//! codes here (MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP): a wrong code is refused, so a token
//! proves the CLI computed the code from the secret Cognito handed out.

use aws_sdk_cognitoidentityprovider::types::{UserPoolMfaType, UserStatusType};
use base64::Engine;
use serde_json::Value;

use crate::harness::{Moto, recorder, run};
use crate::stage::{Stage, arrange};

fn jwt_payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON payload")
}

async fn stored_smoke_user(stage: &Stage) -> Value {
    stage.document().await["users"]["smoke"].clone()
}

/// `export ID_TOKEN=… API_KEY=…` → (token, key).
fn parse_export(stdout: &str) -> (String, String) {
    let line = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "one line on stdout: {stdout}");
    let rest = line
        .strip_prefix("export ID_TOKEN=")
        .unwrap_or_else(|| panic!("export line: {line}"));
    let (token, key) = rest.split_once(" API_KEY=").expect("API_KEY");
    (token.to_owned(), key.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn smoke_user_is_created_once_reused_repaired_and_signs_in_through_the_mfa_challenge() {
    let moto = Moto::start();
    let api = recorder("503 Service Unavailable", r#"{"title":"recorded"}"#);
    let stage = arrange(
        &moto,
        "eu-west-1",
        "dev",
        UserPoolMfaType::On,
        &format!("{}/dev/", api.url),
    )
    .await;
    let operator = |args: &[&str]| {
        let mut cmd = moto.operator(&stage.region);
        cmd.args(args);
        run(cmd)
    };

    // First run: created, stored, TOTP set up through the MFA_SETUP challenge's session.
    let first = operator(&["smoke-user", "--stage", "dev"]);
    first.expect(
        0,
        "smoke user smoke (smoke@smoke-user.invalid) created in dev",
    );
    assert!(
        first.stdout.is_empty(),
        "nothing secret on stdout: {}",
        first.stdout
    );
    let stored = stored_smoke_user(&stage).await;
    assert_eq!(stored["username"], "smoke@smoke-user.invalid");
    let password = stored["password"].as_str().expect("password");
    assert_eq!(password.len(), 32);
    assert!(
        !stored["totpSecret"]
            .as_str()
            .expect("totp secret")
            .is_empty()
    );
    assert!(
        !first.stderr.contains(password),
        "the password is never printed"
    );
    let user = stage
        .cognito
        .admin_get_user()
        .user_pool_id(&stage.pool_id)
        .username("smoke@smoke-user.invalid")
        .send()
        .await
        .expect("user");
    assert_eq!(
        user.user_status(),
        Some(&UserStatusType::Confirmed),
        "no new-password challenge left"
    );
    assert_eq!(
        user.preferred_mfa_setting(),
        Some("SOFTWARE_TOKEN_MFA"),
        "no MFA-setup challenge left"
    );
    assert_eq!(stage.user_count().await, 1);

    // Second run: the stored credentials still sign in (password + TOTP): nothing changes.
    let second = operator(&["smoke-user", "--stage", "dev"]);
    second.expect(0, "still signs in: unchanged");
    assert_eq!(
        stored_smoke_user(&stage).await,
        stored,
        "the secret is unchanged"
    );
    assert_eq!(stage.user_count().await, 1, "no second user");

    // make token: admin sign-in through the operator client, the TOTP challenge answered.
    let token = operator(&["token", "--stage", "dev"]);
    assert_eq!(token.status, 0, "{}", token.stderr);
    let (id_token, api_key) = parse_export(&token.stdout);
    assert_eq!(
        api_key, stage.api_key_values["web"],
        "without --client: the first client's (web, first in ApiKeyIds though not in sorted order) key value, from GetApiKey"
    );
    let mobile = operator(&["token", "--stage", "dev", "--client", "mobile"]);
    assert_eq!(mobile.status, 0, "{}", mobile.stderr);
    assert_eq!(
        parse_export(&mobile.stdout).1,
        stage.api_key_values["mobile"],
        "--client mobile: that client's key value"
    );
    assert_ne!(stage.api_key_values["mobile"], stage.api_key_values["web"]);
    let unknown = operator(&["token", "--stage", "dev", "--client", "tv"]);
    assert_eq!(unknown.status, 1);
    assert!(unknown.stdout.is_empty());
    unknown.says("SecureServerlessBackend-dev has no client tv; its clients are mobile, web.");
    let claims = jwt_payload(&id_token);
    assert_eq!(claims["token_use"], "id");
    assert_eq!(
        claims["aud"],
        stage.client_id.as_str(),
        "issued to the operator client"
    );
    assert_eq!(claims["email"], "smoke@smoke-user.invalid");
    assert!(
        !token.stderr.contains(&id_token) && !token.stderr.contains(&api_key),
        "credentials only on stdout"
    );

    let json = operator(&["token", "--stage", "dev", "--json"]);
    assert_eq!(json.status, 0, "{}", json.stderr);
    let doc: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(doc["apiKey"], stage.api_key_value.as_str());
    assert_eq!(
        jwt_payload(doc["idToken"].as_str().expect("idToken"))["token_use"],
        "id"
    );
    assert!(doc["expiresIn"].as_i64().expect("expiresIn") > 0);

    // make smoke STAGE=dev: scripts/smoke.sh against the stack's ApiUrl with those credentials.
    let smoke = operator(&["smoke", "--stage", "dev", "--", "--only", "list-items"]);
    assert_eq!(
        smoke.status, 1,
        "the recorder answers 503, so the smoke table fails: {}{}",
        smoke.stdout, smoke.stderr
    );
    assert!(smoke.stdout.contains("list-items"), "{}", smoke.stdout);
    let requests = api.requests.lock().expect("lock").clone();
    let first_request = requests.first().expect("smoke.sh called the stage URL");
    assert!(
        first_request.starts_with("GET /dev/v1/items?limit=10 "),
        "{first_request}"
    );
    let header = |name: &str| {
        first_request
            .lines()
            .find_map(|l| {
                l.split_once(": ")
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_owned())
            })
            .unwrap_or_default()
    };
    assert_eq!(header("x-api-key"), stage.api_key_value);
    assert_eq!(
        jwt_payload(&header("Authorization"))["email"],
        "smoke@smoke-user.invalid"
    );

    // A wrong TOTP secret in the store: moto refuses the code, token says how to repair...
    let mut broken = stage.document().await;
    broken["users"]["smoke"]["totpSecret"] = Value::from("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    stage.put_document(&broken).await;
    let refused = operator(&["token", "--stage", "dev"]);
    assert_eq!(refused.status, 1);
    assert!(refused.stdout.is_empty());
    assert_eq!(
        refused.failure().lines().count(),
        1,
        "one sentence: {}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("could not sign in (CodeMismatchException")
            && refused
                .stderr
                .contains("run make smoke-user STAGE=dev to repair it"),
        "{}",
        refused.stderr
    );

    // ...and smoke-user repairs it: the same single user name, new credentials that work.
    let repaired = operator(&["smoke-user", "--stage", "dev"]);
    repaired.expect(0, "re-created (the stored credentials were refused");
    assert_eq!(stage.user_count().await, 1);
    assert_ne!(
        stored_smoke_user(&stage).await["password"],
        stored["password"]
    );
    assert_eq!(operator(&["token", "--stage", "dev"]).status, 0);

    // --rotate replaces a working user too.
    let before = stored_smoke_user(&stage).await;
    let rotated = operator(&["smoke-user", "--stage", "dev", "--rotate"]);
    rotated.expect(0, "re-created (rotated on request)");
    assert_ne!(
        stored_smoke_user(&stage).await["password"],
        before["password"]
    );
    assert_eq!(stage.user_count().await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_optional_mfa_totp_is_set_up_with_the_access_token_and_a_second_user_sits_beside_the_first()
 {
    let moto = Moto::start();
    let stage = arrange(
        &moto,
        "eu-central-1",
        "staging",
        UserPoolMfaType::Optional,
        "https://example.invalid/staging/",
    )
    .await;
    let operator = |args: &[&str]| {
        let mut cmd = moto.operator(&stage.region);
        cmd.args(args);
        run(cmd)
    };
    for user in ["smoke", "second"] {
        let created = operator(&["smoke-user", "--stage", "staging", "--user", user]);
        assert_eq!(created.status, 0, "{}", created.stderr);
        let name = format!("{user}@smoke-user.invalid");
        let got = stage
            .cognito
            .admin_get_user()
            .user_pool_id(&stage.pool_id)
            .username(&name)
            .send()
            .await
            .expect("user");
        assert_eq!(
            got.preferred_mfa_setting(),
            Some("SOFTWARE_TOKEN_MFA"),
            "{user}"
        );
    }
    let doc = stage.document().await;
    assert_eq!(doc["users"].as_object().map(|o| o.len()), Some(2), "{doc}");
    let token = operator(&["token", "--stage", "staging", "--user", "second"]);
    assert_eq!(token.status, 0, "{}", token.stderr);
    let (id_token, _) = parse_export(&token.stdout);
    assert_eq!(jwt_payload(&id_token)["email"], "second@smoke-user.invalid");

    let missing = operator(&["token", "--stage", "staging", "--user", "third"]);
    assert_eq!(missing.status, 1);
    assert_eq!(
        missing.failure(),
        "Stage staging has no smoke user \"third\" yet: run make smoke-user STAGE=staging USER=third."
    );
    let no_stack = operator(&["token", "--stage", "prod"]);
    assert_eq!(no_stack.status, 1);
    no_stack.says("SecureServerlessBackend-prod does not exist in account");
}

/// prod-global's primary stack lives in us-east-1 (config/stages.json "regions"): the operator
/// goes there from any CLI region for its outputs, pool, secret and API key.
#[tokio::test(flavor = "multi_thread")]
async fn a_stage_pinned_to_regions_is_read_in_its_primary_region_from_any_cli_region() {
    let moto = Moto::start();
    let stage = arrange(
        &moto,
        "us-east-1",
        "prod-global",
        UserPoolMfaType::On,
        "https://api.example.com/",
    )
    .await;
    let operator = |args: &[&str]| {
        let mut cmd = moto.operator("eu-west-1");
        cmd.args(args);
        run(cmd)
    };
    let created = operator(&["smoke-user", "--stage", "prod-global"]);
    created.expect(
        0,
        "prod-global's primary stack is in us-east-1 (config/stages.json \"regions\"): using us-east-1",
    );
    assert_eq!(stage.user_count().await, 1);
    let token = operator(&["token", "--stage", "prod-global"]);
    assert_eq!(token.status, 0, "{}", token.stderr);
    let (id_token, key) = parse_export(&token.stdout);
    assert_eq!(jwt_payload(&id_token)["email"], "smoke@smoke-user.invalid");
    assert!(!key.is_empty());

    // A stage the file does not pin stays in the CLI's region: no prod stack in eu-west-1.
    let unpinned = operator(&["token", "--stage", "prod"]);
    assert_eq!(unpinned.status, 1);
    unpinned.says("SecureServerlessBackend-prod does not exist in account");
}
