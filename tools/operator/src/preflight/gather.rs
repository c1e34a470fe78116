//! The live half of the preflight: the facts read from the account (bootstrap versions, API
//! Gateway's account setting, Lambda's account settings, the deployed stacks), each either known
//! or unreadable with the call and the permission it needs.

use std::collections::BTreeSet;

use aws_sdk_cloudformation::types::TemplateStage;
use serde_json::Value;

use super::{Checks, Deployed, Facts, LambdaAccount, Live, RegionFacts, StackFacts};
use crate::assembly::{Assembly, summarize_template};
use crate::aws::{Aws, error_code, sdk_message};

/// Reads the live facts for an assembly: per region the bootstrap version, the API Gateway
/// account setting and Lambda's account settings; per stack its status and deployed template.
pub async fn gather(aws: &Aws, stage: &str, assembly: &Assembly, checks: Checks) -> Facts {
    let regions: BTreeSet<String> = assembly
        .stacks
        .iter()
        .map(|s| s.region.clone().unwrap_or_else(|| aws.region.clone()))
        .collect();
    let mut region_facts = Vec::new();
    for region in &regions {
        let config = aws.config_in(region);
        // One bootstrap parameter per assembly in practice; the highest requirement wins.
        let (parameter, required) = assembly
            .bootstrap
            .iter()
            .max_by_key(|b| b.version)
            .map(|b| (b.parameter.clone(), b.version))
            .unwrap_or_else(|| (crate::assembly::DEFAULT_BOOTSTRAP_PARAMETER.to_owned(), 0));
        region_facts.push(RegionFacts {
            region: region.clone(),
            bootstrap: bootstrap_version(&config, &aws.account, region, &parameter).await,
            bootstrap_parameter: parameter,
            bootstrap_required: required,
            // Only where an API Gateway stage will write execution logs (a stage's backup-copy
            // stack in another region has none).
            cloudwatch_role: if checks.cloudwatch_role
                && assembly.stacks.iter().any(|s| {
                    s.api_stages > 0 && s.region.as_deref().unwrap_or(&aws.region) == region
                }) {
                Some(cloudwatch_role(&config).await)
            } else {
                None
            },
            lambda: if checks.concurrency {
                Some(lambda_account(&config).await)
            } else {
                None
            },
        });
    }

    let mut stacks = Vec::new();
    for plan in &assembly.stacks {
        let region = plan.region.clone().unwrap_or_else(|| aws.region.clone());
        let config = aws.config_in(&region);
        stacks.push(StackFacts {
            name: plan.name.clone(),
            deployed: deployed_stack(&config, &aws.account, &region, &plan.name).await,
            region,
            pinned_account: plan.account.clone(),
            reserved: i64::from(plan.reserved_concurrency),
            subscriptions: plan.subscriptions,
            alarms: plan.alarms,
        });
    }
    Facts {
        stage: stage.to_owned(),
        account: aws.account.clone(),
        requires_subscriber: checks.subscriber,
        stacks,
        regions: region_facts,
    }
}

fn unreadable<T>(call: &str, permission: String, error: String) -> Live<T> {
    Live::Unreadable {
        call: call.to_owned(),
        permission,
        error,
    }
}

async fn bootstrap_version(
    config: &aws_config::SdkConfig,
    account: &str,
    region: &str,
    parameter: &str,
) -> Live<Option<u32>> {
    let ssm = aws_sdk_ssm::Client::new(config);
    match ssm.get_parameter().name(parameter).send().await {
        Ok(out) => {
            let value = out.parameter().and_then(|p| p.value()).unwrap_or_default();
            match value.trim().parse::<u32>() {
                Ok(v) => Live::Known(Some(v)),
                Err(_) => unreadable(
                    "the CDK bootstrap version",
                    format!(
                        "ssm:GetParameter on arn:aws:ssm:{region}:{account}:parameter{parameter}"
                    ),
                    format!("{parameter} holds {value:?}, not a version"),
                ),
            }
        }
        Err(e) if error_code(&e) == Some("ParameterNotFound") => Live::Known(None),
        Err(e) => unreadable(
            "the CDK bootstrap version (SSM GetParameter)",
            format!("ssm:GetParameter on arn:aws:ssm:{region}:{account}:parameter{parameter}"),
            sdk_message(&e),
        ),
    }
}

async fn cloudwatch_role(config: &aws_config::SdkConfig) -> Live<bool> {
    let apigateway = aws_sdk_apigateway::Client::new(config);
    match apigateway.get_account().send().await {
        Ok(out) => Live::Known(out.cloudwatch_role_arn().is_some_and(|arn| !arn.is_empty())),
        Err(e) => unreadable(
            "API Gateway's account settings (GetAccount)",
            "apigateway:GET on arn:aws:apigateway:<region>::/account".to_owned(),
            sdk_message(&e),
        ),
    }
}

async fn lambda_account(config: &aws_config::SdkConfig) -> Live<LambdaAccount> {
    let lambda = aws_sdk_lambda::Client::new(config);
    match lambda.get_account_settings().send().await {
        Ok(out) => {
            let limit = out
                .account_limit()
                .map(|l| i64::from(l.concurrent_executions()))
                .unwrap_or_default();
            let unreserved = out
                .account_limit()
                .and_then(|l| l.unreserved_concurrent_executions())
                .map(i64::from)
                .unwrap_or(limit);
            Live::Known(LambdaAccount { limit, unreserved })
        }
        Err(e) => unreadable(
            "Lambda's account settings (GetAccountSettings)",
            "lambda:GetAccountSettings".to_owned(),
            sdk_message(&e),
        ),
    }
}

async fn deployed_stack(
    config: &aws_config::SdkConfig,
    account: &str,
    region: &str,
    name: &str,
) -> Live<Option<Deployed>> {
    let cfn = aws_sdk_cloudformation::Client::new(config);
    let permission = |action: &str| {
        format!(
            "cloudformation:{action} on arn:aws:cloudformation:{region}:{account}:stack/{name}/*"
        )
    };
    let status = match cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => match out.stacks().first().and_then(|s| s.stack_status()) {
            Some(status) => status.as_str().to_owned(),
            None => return Live::Known(None),
        },
        // CloudFormation answers a missing stack with a ValidationError.
        Err(e)
            if error_code(&e) == Some("ValidationError")
                && sdk_message(&e).contains("does not exist") =>
        {
            return Live::Known(None);
        }
        Err(e) => {
            return unreadable(
                &format!("the stack {name} (DescribeStacks)"),
                permission("DescribeStacks"),
                sdk_message(&e),
            );
        }
    };
    if status == "REVIEW_IN_PROGRESS" || status == "DELETE_COMPLETE" {
        return Live::Known(Some(Deployed {
            status,
            reserved: 0,
        }));
    }
    let body = match cfn
        .get_template()
        .stack_name(name)
        .template_stage(TemplateStage::Original)
        .send()
        .await
    {
        Ok(out) => out.template_body().unwrap_or_default().to_owned(),
        Err(e) => {
            return unreadable(
                &format!("the deployed template of {name} (GetTemplate)"),
                permission("GetTemplate"),
                sdk_message(&e),
            );
        }
    };
    let reserved = serde_json::from_str::<Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|t| summarize_template(&t));
    match reserved {
        Ok(summary) => Live::Known(Some(Deployed {
            status,
            reserved: i64::from(summary.reserved_concurrency),
        })),
        Err(error) => unreadable(
            &format!("the deployed template of {name}"),
            permission("GetTemplate"),
            error,
        ),
    }
}
