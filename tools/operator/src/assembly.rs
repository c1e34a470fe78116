//! What a synthesized cloud assembly (`cdk.out/…/manifest.json` and its templates) says a deploy
//! will need: the stacks and their regions, the bootstrap version, the reserved concurrency, the
//! alarm subscribers. Read from the files `cdk deploy --app <dir>` then deploys, never recomputed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::Fatal;

/// The SSM parameter the default bootstrap (qualifier hnb659fds) keeps its version in.
pub const DEFAULT_BOOTSTRAP_PARAMETER: &str = "/cdk-bootstrap/hnb659fds/version";

/// One CloudFormation stack of the assembly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackPlan {
    pub name: String,
    /// The account the stack is pinned to; None for an environment-agnostic stack.
    pub account: Option<String>,
    /// The region the stack is pinned to; None for an environment-agnostic stack (it goes to the
    /// caller's region).
    pub region: Option<String>,
    pub template_file: PathBuf,
    /// Sum of `ReservedConcurrentExecutions` over the template's Lambda functions.
    pub reserved_concurrency: u32,
    /// Functions with a reservation.
    pub reserving_functions: u32,
    /// SNS subscriptions the template declares (AWS::SNS::Subscription and topics' inline ones).
    pub subscriptions: u32,
    /// CloudWatch alarms the template declares: a stack with alarms needs someone to hear them.
    pub alarms: u32,
    /// API Gateway stages the template declares: their execution logs need the region's
    /// API Gateway CloudWatch role (a stage's backup-copy stack in another region has none).
    pub api_stages: u32,
}

/// A bootstrap version the assembly requires, and where the account keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapNeed {
    pub parameter: String,
    pub version: u32,
}

/// The parts of an assembly a deploy preflight reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Assembly {
    pub dir: PathBuf,
    pub stacks: Vec<StackPlan>,
    /// The highest version any stack or asset manifest requires, per SSM parameter.
    pub bootstrap: Vec<BootstrapNeed>,
}

impl Assembly {
    /// Reads `<dir>/manifest.json` and every stack template it lists.
    pub fn read(dir: &Path) -> Result<Self, Fatal> {
        let manifest_path = dir.join("manifest.json");
        let manifest = read_json(&manifest_path)?;
        let artifacts = manifest
            .get("artifacts")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                Fatal::failed(format!(
                    "{} has no artifacts: not a CDK cloud assembly.",
                    manifest_path.display()
                ))
            })?;

        let mut stacks = Vec::new();
        let mut bootstrap: BTreeMap<String, u32> = BTreeMap::new();
        for (id, artifact) in artifacts {
            let kind = artifact
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let props = artifact.get("properties").cloned().unwrap_or(Value::Null);
            if (kind == "aws:cloudformation:stack" || kind == "cdk:asset-manifest")
                && let Some(version) = props
                    .get("requiresBootstrapStackVersion")
                    .and_then(Value::as_u64)
            {
                let parameter = props
                    .get("bootstrapStackVersionSsmParameter")
                    .and_then(Value::as_str)
                    .unwrap_or(DEFAULT_BOOTSTRAP_PARAMETER)
                    .to_owned();
                let version = u32::try_from(version).unwrap_or(u32::MAX);
                let entry = bootstrap.entry(parameter).or_insert(0);
                *entry = (*entry).max(version);
            }
            if kind != "aws:cloudformation:stack" {
                continue;
            }
            let template_name = props
                .get("templateFile")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    Fatal::failed(format!(
                        "{}: stack {id} has no templateFile.",
                        manifest_path.display()
                    ))
                })?;
            let (account, region) = parse_environment(
                artifact
                    .get("environment")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            );
            let template_file = dir.join(template_name);
            let template = read_json(&template_file)?;
            let summary = summarize_template(&template)
                .map_err(|e| Fatal::failed(format!("{}: {e}.", template_file.display())))?;
            stacks.push(StackPlan {
                name: props
                    .get("stackName")
                    .and_then(Value::as_str)
                    .unwrap_or(id)
                    .to_owned(),
                account,
                region,
                template_file,
                reserved_concurrency: summary.reserved_concurrency,
                reserving_functions: summary.reserving_functions,
                subscriptions: summary.subscriptions,
                alarms: summary.alarms,
                api_stages: summary.api_stages,
            });
        }
        stacks.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self {
            dir: dir.to_owned(),
            stacks,
            bootstrap: bootstrap
                .into_iter()
                .map(|(parameter, version)| BootstrapNeed { parameter, version })
                .collect(),
        })
    }
}

/// What a template declares that the preflight checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TemplateSummary {
    pub reserved_concurrency: u32,
    pub reserving_functions: u32,
    pub subscriptions: u32,
    pub alarms: u32,
    pub api_stages: u32,
}

/// Sums the Lambda reservations and counts the SNS subscriptions, alarms and API stages of a
/// CloudFormation template.
pub fn summarize_template(template: &Value) -> Result<TemplateSummary, String> {
    let mut summary = TemplateSummary::default();
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return Ok(summary);
    };
    for (id, resource) in resources {
        let kind = resource
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let props = resource.get("Properties");
        match kind {
            "AWS::Lambda::Function" => {
                if let Some(reserved) = props.and_then(|p| p.get("ReservedConcurrentExecutions")) {
                    let n = reserved
                        .as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| format!("{id} has a ReservedConcurrentExecutions that is not a number ({reserved})"))?;
                    summary.reserved_concurrency += n;
                    summary.reserving_functions += 1;
                }
            }
            "AWS::SNS::Subscription" => summary.subscriptions += 1,
            "AWS::CloudWatch::Alarm" => summary.alarms += 1,
            "AWS::ApiGateway::Stage" => summary.api_stages += 1,
            "AWS::SNS::Topic" => {
                let inline = props
                    .and_then(|p| p.get("Subscription"))
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                summary.subscriptions += u32::try_from(inline).unwrap_or(u32::MAX);
            }
            _ => {}
        }
    }
    Ok(summary)
}

/// `aws://123456789012/eu-west-1` → (Some(account), Some(region)); `unknown-…` parts are None.
pub fn parse_environment(environment: &str) -> (Option<String>, Option<String>) {
    let rest = environment.strip_prefix("aws://").unwrap_or_default();
    let mut parts = rest.splitn(2, '/');
    let known = |s: Option<&str>| {
        s.filter(|s| !s.is_empty() && !s.starts_with("unknown-"))
            .map(str::to_owned)
    };
    let account = known(parts.next());
    let region = known(parts.next());
    (account, region)
}

fn read_json(path: &Path) -> Result<Value, Fatal> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Fatal::failed(format!("Cannot read {}: {e}.", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| Fatal::failed(format!("{} is not JSON: {e}.", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn environment_agnostic_stacks_have_no_account_or_region() {
        assert_eq!(
            parse_environment("aws://unknown-account/unknown-region"),
            (None, None)
        );
        assert_eq!(
            parse_environment("aws://123456789012/eu-west-1"),
            (Some("123456789012".into()), Some("eu-west-1".into()))
        );
        assert_eq!(parse_environment(""), (None, None));
    }

    #[test]
    fn a_template_summary_sums_reservations_and_counts_subscriptions_alarms_and_stages() {
        let t = json!({"Resources": {
            "Al": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
            "St": {"Type": "AWS::ApiGateway::Stage", "Properties": {}},
            "A": {"Type": "AWS::Lambda::Function", "Properties": {"ReservedConcurrentExecutions": 20}},
            "B": {"Type": "AWS::Lambda::Function", "Properties": {"ReservedConcurrentExecutions": 30}},
            "C": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "S": {"Type": "AWS::SNS::Subscription", "Properties": {"Protocol": "email"}},
            "T": {"Type": "AWS::SNS::Topic", "Properties": {"Subscription": [{"Protocol": "email"}]}}
        }});
        assert_eq!(
            summarize_template(&t),
            Ok(TemplateSummary {
                reserved_concurrency: 50,
                reserving_functions: 2,
                subscriptions: 2,
                alarms: 1,
                api_stages: 1
            })
        );
    }

    #[test]
    fn a_reservation_that_is_not_a_number_is_refused() {
        let t = json!({"Resources": {"A": {"Type": "AWS::Lambda::Function", "Properties": {"ReservedConcurrentExecutions": {"Ref": "X"}}}}});
        assert!(
            summarize_template(&t)
                .is_err_and(|e| e.contains("A has a ReservedConcurrentExecutions"))
        );
    }
}
