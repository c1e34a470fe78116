//! `make diff STAGE=…` against moto: the deployed template read back from CloudFormation
//! (DescribeStacks, GetTemplate), then cdk/tools/stage-diff.ts deciding whether a stateful
//! resource would be replaced or deleted without the pull request's label.

use std::path::Path;

use serde_json::{Value, json};

use crate::harness::{Moto, Run, repo_root, run};

/// A table whose partition key is `key`, retained on delete as the stage stacks keep theirs.
fn table(key: &str) -> Value {
    json!({
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}]
        }
    })
}

/// A synthesized assembly of one environment-agnostic stack (manifest.json as CDK writes it).
fn write_assembly(dir: &Path, stack: &str, template: &Value) {
    std::fs::write(
        dir.join(format!("{stack}.template.json")),
        template.to_string(),
    )
    .expect("template");
    let manifest = json!({
        "version": "55.0.0",
        "artifacts": {
            stack: {
                "type": "aws:cloudformation:stack",
                "environment": "aws://unknown-account/unknown-region",
                "properties": {"templateFile": format!("{stack}.template.json"), "requiresBootstrapStackVersion": 6, "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version"}
            }
        }
    });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).expect("manifest");
}

fn diff(moto: &Moto, region: &str, stage: &str, assembly: &Path, labels: &str) -> Run {
    let mut cmd = moto.operator(region);
    cmd.env("PR_LABELS", labels)
        .args(["diff", "--stage", stage, "--assembly"])
        .arg(assembly);
    run(cmd)
}

fn report(stage: &str) -> String {
    std::fs::read_to_string(repo_root().join(format!("target/diff/{stage}.md"))).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replaced_table_fails_the_diff_until_the_pull_request_carries_the_label() {
    let moto = Moto::start();
    let region = "eu-west-1";
    let stack = "SecureServerlessBackend-staging";
    aws_sdk_cloudformation::Client::new(&moto.sdk(region))
        .create_stack()
        .stack_name(stack)
        .template_body(json!({"Resources": {"Table": table("PK")}}).to_string())
        .send()
        .await
        .expect("deployed stack");
    let assembly = tempdir("diff-staging");
    write_assembly(
        &assembly,
        stack,
        &json!({"Resources": {"Table": table("OWNER")}}),
    );

    let refused = diff(&moto, region, "staging", &assembly, "[\"dependencies\"]");
    refused.expect(
        1,
        "1 stateful resource of staging would be replaced or deleted",
    );
    assert!(refused.stdout.contains("KeySchema"), "{}", refused.stdout);
    let text = report("staging");
    assert!(
        text.contains("| SecureServerlessBackend-staging | `Table` | AWS::DynamoDB::Table | replaced | KeySchema changes;"),
        "{text}"
    );
    assert!(text.contains("against account 123456789012"), "{text}");
    let deployed = std::fs::read_to_string(
        repo_root()
            .join("target/diff/staging/deployed/SecureServerlessBackend-staging.template.json"),
    )
    .expect("the deployed template, read back from CloudFormation");
    assert!(deployed.contains("\"PK\""), "{deployed}");

    let allowed = diff(
        &moto,
        region,
        "staging",
        &assembly,
        "[\"stateful-change-approved\"]",
    );
    allowed.expect(0, "carries the label stateful-change-approved");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stage_that_is_not_deployed_yet_diffs_as_all_new() {
    let moto = Moto::start();
    let assembly = tempdir("diff-prod");
    write_assembly(
        &assembly,
        "SecureServerlessBackend-prod",
        &json!({"Resources": {"Table": table("PK")}}),
    );
    let r = diff(&moto, "eu-central-1", "prod", &assembly, "");
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        report("prod").contains("SecureServerlessBackend-prod in eu-central-1: not deployed yet"),
        "{}",
        report("prod")
    );
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("operator-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
