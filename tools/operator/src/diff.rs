//! `make diff STAGE=…`: the stage's synthesized stacks against the deployed ones. This half reads
//! AWS (CloudFormation DescribeStacks and GetTemplate of each stack of the assembly, in its region,
//! nothing else: CI's read-only diff role allows exactly that) and writes what it found; the
//! template half, `cdk/tools/stage-diff.ts`, renders `cdk diff`'s text, writes the report and
//! decides whether a stateful resource would be replaced or deleted without the pull request's
//! consent (its exit status is the command's).

use std::path::{Path, PathBuf};

use aws_sdk_cloudformation::types::TemplateStage;
use serde::Serialize;

use crate::Fatal;
use crate::assembly::Assembly;
use crate::aws::{Aws, error_code, sdk_message};

/// One stack to diff: its synthesized template and, when it is deployed, the deployed one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackTemplates {
    pub name: String,
    pub region: String,
    /// The synthesized template (cdk.out/…).
    pub template: PathBuf,
    /// The deployed template as written by `fetch`; None when the stack does not exist.
    pub deployed: Option<PathBuf>,
}

/// What `cdk/tools/stage-diff.ts` reads: the stage, the account compared against, the stacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffInput {
    pub stage: String,
    pub account: String,
    pub stacks: Vec<StackTemplates>,
}

/// Where a stage's diff leaves its files: target/diff/<stage>/ (deployed templates, input) and
/// the report target/diff/<stage>.md (the pull-request comment).
pub fn work_dir(stage: &str) -> PathBuf {
    Path::new("target").join("diff").join(stage)
}

pub fn report_file(stage: &str) -> PathBuf {
    Path::new("target").join("diff").join(format!("{stage}.md"))
}

/// The template half's command line: `node --import tsx cdk/tools/stage-diff.ts INPUT REPORT`.
pub fn stage_diff_args(input: &Path, report: &Path) -> Vec<String> {
    vec![
        "--import".to_owned(),
        "tsx".to_owned(),
        "cdk/tools/stage-diff.ts".to_owned(),
        input.display().to_string(),
        report.display().to_string(),
    ]
}

/// Whether a stack in this status has a deployed template to diff against. A stack that a change
/// set only reviews (REVIEW_IN_PROGRESS) or that was deleted holds nothing yet.
pub fn has_template(status: &str) -> bool {
    status != "REVIEW_IN_PROGRESS" && status != "DELETE_COMPLETE"
}

/// Reads each stack's deployed template into `dir/deployed/<stack>.template.json`.
pub async fn fetch(
    aws: &Aws,
    assembly: &Assembly,
    dir: &Path,
) -> Result<Vec<StackTemplates>, Fatal> {
    let deployed_dir = dir.join("deployed");
    std::fs::create_dir_all(&deployed_dir)
        .map_err(|e| Fatal::failed(format!("Cannot create {}: {e}.", deployed_dir.display())))?;
    let mut stacks = Vec::new();
    for plan in &assembly.stacks {
        let region = plan.region.clone().unwrap_or_else(|| aws.region.clone());
        let body = deployed_template(aws, &region, &plan.name).await?;
        let deployed = match body {
            Some(body) => {
                let file = deployed_dir.join(format!("{}.template.json", plan.name));
                std::fs::write(&file, body)
                    .map_err(|e| Fatal::failed(format!("Cannot write {}: {e}.", file.display())))?;
                Some(file)
            }
            None => None,
        };
        stacks.push(StackTemplates {
            name: plan.name.clone(),
            region,
            template: plan.template_file.clone(),
            deployed,
        });
    }
    Ok(stacks)
}

/// The deployed template's text, or None when the stack does not exist (yet).
async fn deployed_template(aws: &Aws, region: &str, name: &str) -> Result<Option<String>, Fatal> {
    let cfn = aws_sdk_cloudformation::Client::new(&aws.config_in(region));
    let account = &aws.account;
    let refused = |call: &str, message: String| {
        Fatal::failed(format!(
            "Reading {name} in {region} (CloudFormation {call}) failed: {message}; the diff needs cloudformation:{call} on arn:aws:cloudformation:{region}:{account}:stack/{name}/*."
        ))
    };
    let status = match cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => out
            .stacks()
            .first()
            .and_then(|s| s.stack_status())
            .map(|s| s.as_str().to_owned()),
        // CloudFormation answers a missing stack with a ValidationError.
        Err(e)
            if error_code(&e) == Some("ValidationError")
                && sdk_message(&e).contains("does not exist") =>
        {
            None
        }
        Err(e) => return Err(refused("DescribeStacks", sdk_message(&e))),
    };
    match status {
        Some(status) if has_template(&status) => {}
        _ => return Ok(None),
    }
    let out = cfn
        .get_template()
        .stack_name(name)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .map_err(|e| refused("GetTemplate", sdk_message(&e)))?;
    Ok(Some(out.template_body().unwrap_or_default().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_diff_writes_under_target_diff() {
        assert_eq!(work_dir("prod"), PathBuf::from("target/diff/prod"));
        assert_eq!(report_file("prod"), PathBuf::from("target/diff/prod.md"));
    }

    #[test]
    fn the_template_half_runs_the_typescript_tool_on_the_input_and_report() {
        assert_eq!(
            stage_diff_args(
                Path::new("target/diff/prod/input.json"),
                Path::new("target/diff/prod.md")
            ),
            [
                "--import",
                "tsx",
                "cdk/tools/stage-diff.ts",
                "target/diff/prod/input.json",
                "target/diff/prod.md"
            ]
        );
    }

    #[test]
    fn only_a_stack_that_was_created_has_a_template_to_diff() {
        for status in [
            "CREATE_COMPLETE",
            "UPDATE_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE",
            "UPDATE_IN_PROGRESS",
        ] {
            assert!(has_template(status), "{status}");
        }
        for status in ["REVIEW_IN_PROGRESS", "DELETE_COMPLETE"] {
            assert!(!has_template(status), "{status}");
        }
    }

    #[test]
    fn the_input_names_a_missing_stack_with_null() {
        let input = DiffInput {
            stage: "prod".into(),
            account: "123456789012".into(),
            stacks: vec![StackTemplates {
                name: "SecureServerlessBackend-prod".into(),
                region: "eu-west-1".into(),
                template: PathBuf::from(
                    "cdk.out/diff-prod/SecureServerlessBackend-prod.template.json",
                ),
                deployed: None,
            }],
        };
        assert_eq!(
            serde_json::to_value(&input).ok(),
            Some(serde_json::json!({
                "stage": "prod",
                "account": "123456789012",
                "stacks": [{"name": "SecureServerlessBackend-prod", "region": "eu-west-1", "template": "cdk.out/diff-prod/SecureServerlessBackend-prod.template.json", "deployed": null}]
            }))
        );
    }
}
