//! The deploy preflight against moto (SSM bootstrap version, API Gateway's account setting, the
//! deployed stack and its template) and a loopback stand-in for Lambda's GetAccountSettings,
//! which moto 5.2.5 does not implement (its Lambda URL map has no /account-settings route).

use std::path::Path;

use serde_json::json;

use crate::harness::{Moto, Recorder, recorder, run};

/// A synthesized assembly as CDK writes it (manifest.json layout of aws-cdk-lib 2.x; the real
/// synth output is read by scripts/cdk-test.sh through `operator assembly`).
fn write_assembly(dir: &Path, stage: &str, reserved_per_function: u32, subscribers: usize) {
    let mut resources = serde_json::Map::new();
    for name in [
        "CreateItem",
        "GetItem",
        "ListItems",
        "UpdateItem",
        "DeleteItem",
    ] {
        resources.insert(
            format!("{name}Fn"),
            json!({"Type": "AWS::Lambda::Function", "Properties": {"ReservedConcurrentExecutions": reserved_per_function}}),
        );
    }
    // What every stage stack has: an API stage (execution logs need the CloudWatch role) and alarms.
    resources.insert(
        "Stage".into(),
        json!({"Type": "AWS::ApiGateway::Stage", "Properties": {}}),
    );
    resources.insert(
        "Alarm".into(),
        json!({"Type": "AWS::CloudWatch::Alarm", "Properties": {}}),
    );
    for i in 0..subscribers {
        resources.insert(
            format!("Subscription{i}"),
            json!({"Type": "AWS::SNS::Subscription", "Properties": {"Protocol": "email"}}),
        );
    }
    let stack = format!("SecureServerlessBackend-{stage}");
    std::fs::write(
        dir.join(format!("{stack}.template.json")),
        json!({"Resources": resources}).to_string(),
    )
    .expect("template");
    let manifest = json!({
        "version": "55.0.0",
        "artifacts": {
            format!("{stack}.assets"): {
                "type": "cdk:asset-manifest",
                "properties": {"file": format!("{stack}.assets.json"), "requiresBootstrapStackVersion": 6, "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version"}
            },
            stack.clone(): {
                "type": "aws:cloudformation:stack",
                "environment": "aws://unknown-account/unknown-region",
                "properties": {"templateFile": format!("{stack}.template.json"), "requiresBootstrapStackVersion": 6, "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version"},
                "dependencies": [format!("{stack}.assets")]
            },
            "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}}
        }
    });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).expect("manifest");
}

/// Lambda's GetAccountSettings answer for an account with `limit` and `unreserved`.
fn lambda_account(limit: u32, unreserved: u32) -> Recorder {
    let body = json!({
        "AccountLimit": {"TotalCodeSize": 80530636800u64, "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800, "ConcurrentExecutions": limit, "UnreservedConcurrentExecutions": unreserved},
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0}
    })
    .to_string();
    recorder("200 OK", Box::leak(body.into_boxed_str()))
}

struct Case<'a> {
    moto: &'a Moto,
    region: &'a str,
    assembly: &'a Path,
}

impl Case<'_> {
    fn preflight(&self, stage: &str, lambda: &Recorder, extra: &[&str]) -> crate::harness::Run {
        let mut cmd = self.moto.operator(self.region);
        cmd.env("AWS_ENDPOINT_URL_LAMBDA", &lambda.url)
            .args(["preflight", "--stage", stage, "--assembly"])
            .arg(self.assembly)
            .args(extra);
        let out = run(cmd);
        let requests = lambda.requests.lock().expect("lock");
        assert!(
            requests
                .iter()
                .all(|r| r.starts_with("GET /2016-08-19/account-settings")),
            "only GetAccountSettings goes to the stand-in: {requests:?}"
        );
        out
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn preflight_reads_bootstrap_role_and_concurrency_and_says_what_is_missing() {
    let moto = Moto::start();
    let region = "us-west-2";
    let sdk = moto.sdk(region);
    let dir = std::env::temp_dir().join(format!("operator-assembly-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    write_assembly(&dir, "prod", 100, 1);
    let case = Case {
        moto: &moto,
        region,
        assembly: &dir,
    };

    // A fresh account: not bootstrapped, no API Gateway CloudWatch role; concurrency is fine.
    let fresh = case.preflight("prod", &lambda_account(1000, 1000), &[]);
    assert_eq!(fresh.status, 1, "{}", fresh.stderr);
    assert_eq!(
        fresh.failure().lines().collect::<Vec<_>>(),
        [
            "Account 123456789012 is not bootstrapped for the CDK in us-west-2 (no SSM parameter /cdk-bootstrap/hnb659fds/version; version 6 needed): run npx cdk bootstrap aws://123456789012/us-west-2.",
            "API Gateway in us-west-2 has no CloudWatch role, so the stage's execution logs cannot be written: deploy the account stack first (make deploy-account REGION=us-west-2), or, if the account manages that setting elsewhere, set SKIP_ACCOUNT_STACK=1.",
        ]
    );

    // Bootstrapped with an old version, role still missing but the check skipped.
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    ssm.put_parameter()
        .name("/cdk-bootstrap/hnb659fds/version")
        .value("5")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("ssm");
    let old = case.preflight(
        "prod",
        &lambda_account(1000, 1000),
        &["--skip-account-stack-check"],
    );
    old.expect(
        1,
        "is bootstrapped in us-west-2 with version 5 but this app needs 6",
    );
    assert!(
        !old.stderr.contains("CloudWatch role"),
        "skipped: {}",
        old.stderr
    );

    // A ready account with room for 5 × 100.
    make_ready(&sdk).await;
    let ready = case.preflight("prod", &lambda_account(1000, 1000), &[]);
    ready.expect(0, "preflight passed: us-west-2: bootstrap version 21 (needs 6); API Gateway CloudWatch role set; concurrency 1000 unreserved + 0 own − 500 new = 500 left (limit 1000)");

    // Not enough: other functions hold 450 of 1000.
    let tight = case.preflight("prod", &lambda_account(1000, 550), &[]);
    tight.expect(1, "prod reserves 500 concurrent executions in us-west-2, but the account's limit is 1000 and 450 are reserved by other functions, which would leave 50 unreserved");

    // A redeploy: the deployed stack (read from CloudFormation) already holds 500 of the 500
    // reserved, so the same 550-of-1000 account has room.
    let deployed = json!({
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "python3.12", "Handler": "x.h", "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Code": {"ZipFile": "def h(e, c): pass"}, "ReservedConcurrentExecutions": 450}}
        }
    });
    aws_sdk_cloudformation::Client::new(&sdk)
        .create_stack()
        .stack_name("SecureServerlessBackend-prod")
        .template_body(deployed.to_string())
        .send()
        .await
        .expect("stack");
    let redeploy = case.preflight("prod", &lambda_account(1000, 550), &[]);
    redeploy.expect(
        0,
        "concurrency 550 unreserved + 450 own − 500 new = 500 left",
    );

    // staging/prod without a subscriber.
    write_assembly(&dir, "staging", 20, 0);
    let silent = case.preflight("staging", &lambda_account(1000, 1000), &[]);
    silent.expect(1, "SecureServerlessBackend-staging has no alarm subscriber");

    let _ = std::fs::remove_dir_all(&dir);
}

/// A stage whose stacks span regions, as prod-global synthesizes: a support stack (replica key,
/// backup-copy vault: no API, no alarms) and a secondary API stack in us-west-2, the primary in
/// us-east-1, each pinned to its region. The preflight checks the bootstrap in every region, the
/// CloudWatch role only where an API stage is, and a subscriber only for stacks with alarms.
#[tokio::test(flavor = "multi_thread")]
async fn preflight_checks_every_region_of_a_multi_region_stage() {
    let moto = Moto::start();
    let dir = std::env::temp_dir().join(format!("operator-assembly-multi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let primary = "SecureServerlessBackend-prod-global";
    let stacks = [
        (format!("{primary}-support-us-west-2"), "us-west-2", false),
        (primary.to_owned(), "us-east-1", true),
        (format!("{primary}-us-west-2"), "us-west-2", true),
    ];
    let mut artifacts = serde_json::Map::new();
    for (name, region, api) in &stacks {
        let resources = if *api {
            json!({
                "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"ReservedConcurrentExecutions": 10}},
                "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {}},
                "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
                "Subscription": {"Type": "AWS::SNS::Subscription", "Properties": {"Protocol": "email"}}
            })
        } else {
            json!({"Key": {"Type": "AWS::KMS::Key", "Properties": {}}, "Vault": {"Type": "AWS::Backup::BackupVault", "Properties": {}}})
        };
        std::fs::write(
            dir.join(format!("{name}.template.json")),
            json!({ "Resources": resources }).to_string(),
        )
        .expect("template");
        artifacts.insert(
            name.clone(),
            json!({
                "type": "aws:cloudformation:stack",
                "environment": format!("aws://unknown-account/{region}"),
                "properties": {"templateFile": format!("{name}.template.json"), "requiresBootstrapStackVersion": 6, "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version"}
            }),
        );
    }
    std::fs::write(
        dir.join("manifest.json"),
        json!({"version": "55.0.0", "artifacts": artifacts}).to_string(),
    )
    .expect("manifest");
    // The CLI's own region is neither: pinned stacks go where the assembly says.
    let case = Case {
        moto: &moto,
        region: "eu-west-1",
        assembly: &dir,
    };

    let fresh = case.preflight("prod-global", &lambda_account(1000, 1000), &[]);
    assert_eq!(fresh.status, 1, "{}", fresh.stderr);
    assert_eq!(
        fresh.failure().lines().collect::<Vec<_>>(),
        [
            "Account 123456789012 is not bootstrapped for the CDK in us-east-1 (no SSM parameter /cdk-bootstrap/hnb659fds/version; version 6 needed): run npx cdk bootstrap aws://123456789012/us-east-1.",
            "API Gateway in us-east-1 has no CloudWatch role, so the stage's execution logs cannot be written: deploy the account stack first (make deploy-account REGION=us-east-1), or, if the account manages that setting elsewhere, set SKIP_ACCOUNT_STACK=1.",
            "Account 123456789012 is not bootstrapped for the CDK in us-west-2 (no SSM parameter /cdk-bootstrap/hnb659fds/version; version 6 needed): run npx cdk bootstrap aws://123456789012/us-west-2.",
            "API Gateway in us-west-2 has no CloudWatch role, so the stage's execution logs cannot be written: deploy the account stack first (make deploy-account REGION=us-west-2), or, if the account manages that setting elsewhere, set SKIP_ACCOUNT_STACK=1.",
        ]
    );

    for region in ["us-east-1", "us-west-2"] {
        make_ready(&moto.sdk(region)).await;
    }
    let ready = case.preflight("prod-global", &lambda_account(1000, 1000), &[]);
    assert_eq!(ready.status, 0, "{}", ready.stderr);
    for part in [
        "us-east-1: bootstrap version 21 (needs 6)",
        "us-west-2: bootstrap version 21 (needs 6)",
    ] {
        assert!(ready.stderr.contains(part), "{part}: {}", ready.stderr);
    }
    assert!(
        !ready.stderr.contains("no alarm subscriber"),
        "{}",
        ready.stderr
    );
    assert!(
        !ready.failure().contains("eu-west-1"),
        "nothing is checked in the CLI's own region: {}",
        ready.stderr
    );

    // Prod's shape: an environment-agnostic stage stack in the CLI's region and a backup-copy
    // stack (no API) elsewhere: no CloudWatch role needed in the copy region.
    let copy_only =
        std::env::temp_dir().join(format!("operator-assembly-copy-{}", std::process::id()));
    std::fs::create_dir_all(&copy_only).expect("dir");
    write_assembly(&copy_only, "prod", 10, 1);
    let support = "SecureServerlessBackend-prod-support-ap-southeast-2";
    std::fs::write(
        copy_only.join(format!("{support}.template.json")),
        json!({"Resources": {"Vault": {"Type": "AWS::Backup::BackupVault", "Properties": {}}}})
            .to_string(),
    )
    .expect("template");
    let mut manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(copy_only.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    manifest["artifacts"][support] = json!({
        "type": "aws:cloudformation:stack",
        "environment": "aws://unknown-account/ap-southeast-2",
        "properties": {"templateFile": format!("{support}.template.json"), "requiresBootstrapStackVersion": 6, "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version"}
    });
    std::fs::write(copy_only.join("manifest.json"), manifest.to_string()).expect("manifest");
    for region in ["eu-west-1", "ap-southeast-2"] {
        aws_sdk_ssm::Client::new(&moto.sdk(region))
            .put_parameter()
            .name("/cdk-bootstrap/hnb659fds/version")
            .value("21")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .expect("ssm");
    }
    let prod = Case {
        moto: &moto,
        region: "eu-west-1",
        assembly: &copy_only,
    }
    .preflight("prod", &lambda_account(1000, 1000), &[]);
    assert_eq!(prod.status, 1, "{}", prod.stderr);
    assert_eq!(
        prod.failure().lines().collect::<Vec<_>>(),
        [
            "API Gateway in eu-west-1 has no CloudWatch role, so the stage's execution logs cannot be written: deploy the account stack first (make deploy-account REGION=eu-west-1), or, if the account manages that setting elsewhere, set SKIP_ACCOUNT_STACK=1."
        ],
        "ap-southeast-2 (the copy vault only) has no role either, and needs none"
    );

    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&copy_only);
}

/// A region ready for a deploy: bootstrapped (version 21) and with API Gateway's CloudWatch role.
async fn make_ready(sdk: &aws_config::SdkConfig) {
    aws_sdk_ssm::Client::new(sdk)
        .put_parameter()
        .name("/cdk-bootstrap/hnb659fds/version")
        .value("21")
        .overwrite(true)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("ssm");
    aws_sdk_apigateway::Client::new(sdk)
        .update_account()
        .patch_operations(
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path("/cloudwatchRoleArn")
                .value("arn:aws:iam::123456789012:role/ApiGatewayCloudWatch")
                .build(),
        )
        .send()
        .await
        .expect("apigateway account");
}
