//! The deploy preflight: facts gathered from the synthesized assembly and the live account, and
//! one pure function from those facts to the failures, each with its sentence.
//!
//! Checked before a deploy that would otherwise fail ten minutes in:
//! - the stacks are for the account of the credentials;
//! - the account is bootstrapped in each region with a version the assembly needs;
//! - API Gateway's account setting names a CloudWatch role (the account stack, or one the account
//!   already had), unless the operator said to skip it;
//! - Lambda keeps 100 unreserved concurrent executions after the stage's reservations:
//!   `unreserved + (this stage's reservations already deployed) − (this stage's new total) ≥ 100`,
//!   which is `limit − reserved elsewhere − this stage's total ≥ 100`;
//! - every stage but dev has at least one alarm subscriber in its template;
//! - no stack is in a state CloudFormation cannot update.

use std::fmt;

mod gather;
pub use gather::gather;

/// Lambda keeps at least this many concurrent executions unreserved in every account and region.
pub const MIN_UNRESERVED: i64 = 100;
/// The only stage that may deploy without an alarm subscriber (the CDK app refuses to synthesize staging and prod without one).
pub const STAGES_WITHOUT_SUBSCRIBER: &[&str] = &["dev"];

/// A fact read from the account, or the call that could not read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Live<T> {
    Known(T),
    Unreadable {
        call: String,
        permission: String,
        error: String,
    },
}

/// The account's Lambda concurrency in one region (GetAccountSettings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LambdaAccount {
    pub limit: i64,
    pub unreserved: i64,
}

/// A stack as deployed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    pub status: String,
    /// Sum of ReservedConcurrentExecutions in the deployed template.
    pub reserved: i64,
}

/// One stack of the assembly with what the account says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackFacts {
    pub name: String,
    pub region: String,
    /// The account the assembly pins the stack to, if any.
    pub pinned_account: Option<String>,
    /// The new template's reserved concurrency.
    pub reserved: i64,
    pub subscriptions: u32,
    /// The new template's CloudWatch alarms (a stack without alarms needs no subscriber).
    pub alarms: u32,
    /// None when the stack does not exist yet.
    pub deployed: Live<Option<Deployed>>,
}

/// One region the assembly deploys to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionFacts {
    pub region: String,
    pub bootstrap_parameter: String,
    pub bootstrap_required: u32,
    /// None when the parameter does not exist (not bootstrapped).
    pub bootstrap: Live<Option<u32>>,
    /// None when the operator skipped the check.
    pub cloudwatch_role: Option<Live<bool>>,
    /// None when not checked (the account stack reserves nothing).
    pub lambda: Option<Live<LambdaAccount>>,
}

/// Everything the preflight decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub stage: String,
    pub account: String,
    /// Whether each stack needs an alarm subscriber (every stage but dev).
    pub requires_subscriber: bool,
    pub stacks: Vec<StackFacts>,
    pub regions: Vec<RegionFacts>,
}

/// Which live checks `gather` makes besides the bootstrap version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    pub cloudwatch_role: bool,
    pub concurrency: bool,
    /// Whether each stack needs an alarm subscriber (see `requires_subscriber`).
    pub subscriber: bool,
}

impl Checks {
    /// The account stack: only the bootstrap version (it reserves nothing and has no alarms).
    pub const ACCOUNT_STACK: Self = Self {
        cloudwatch_role: false,
        concurrency: false,
        subscriber: false,
    };

    /// A stage: everything, the CloudWatch role unless the operator skips it.
    pub fn stage(stage: &str, skip_account_stack_check: bool) -> Self {
        Self {
            cloudwatch_role: !skip_account_stack_check,
            concurrency: true,
            subscriber: requires_subscriber(stage),
        }
    }
}

/// Whether a stage must have an alarm subscriber.
pub fn requires_subscriber(stage: &str) -> bool {
    !STAGES_WITHOUT_SUBSCRIBER.contains(&stage)
}

/// A reason not to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Unreadable {
        region: String,
        call: String,
        permission: String,
        error: String,
    },
    NoStacks {
        stage: String,
    },
    WrongAccount {
        stack: String,
        pinned: String,
        account: String,
    },
    NotBootstrapped {
        account: String,
        region: String,
        parameter: String,
        required: u32,
    },
    BootstrapTooOld {
        account: String,
        region: String,
        have: u32,
        required: u32,
    },
    NoCloudWatchRole {
        region: String,
    },
    NotEnoughConcurrency {
        stage: String,
        region: String,
        limit: i64,
        unreserved: i64,
        deployed: i64,
        needed: i64,
    },
    NoAlarmSubscriber {
        stage: String,
        stack: String,
    },
    StackBusy {
        stack: String,
        status: String,
    },
    StackNeedsRepair {
        stack: String,
        status: String,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable {
                region,
                call,
                permission,
                error,
            } => write!(
                f,
                "Could not check {call} in {region} ({error}): the credentials need {permission}."
            ),
            Self::NoStacks { stage } => {
                write!(f, "The synthesized app has no stack for stage {stage}.")
            }
            Self::WrongAccount {
                stack,
                pinned,
                account,
            } => write!(
                f,
                "{stack} is for account {pinned} but the credentials are for account {account}: switch AWS_PROFILE or credentials."
            ),
            Self::NotBootstrapped {
                account,
                region,
                parameter,
                required,
            } => write!(
                f,
                "Account {account} is not bootstrapped for the CDK in {region} (no SSM parameter {parameter}; version {required} needed): run npx cdk bootstrap aws://{account}/{region}."
            ),
            Self::BootstrapTooOld {
                account,
                region,
                have,
                required,
            } => write!(
                f,
                "Account {account} is bootstrapped in {region} with version {have} but this app needs {required}: run npx cdk bootstrap aws://{account}/{region} again."
            ),
            Self::NoCloudWatchRole { region } => write!(
                f,
                "API Gateway in {region} has no CloudWatch role, so the stage's execution logs cannot be written: deploy the account stack first (make deploy-account REGION={region}), or, if the account manages that setting elsewhere, set SKIP_ACCOUNT_STACK=1."
            ),
            Self::NotEnoughConcurrency {
                stage,
                region,
                limit,
                unreserved,
                deployed,
                needed,
            } => {
                let elsewhere = limit - unreserved - deployed;
                let left = unreserved + deployed - needed;
                write!(
                    f,
                    "{stage} reserves {needed} concurrent executions in {region}, but the account's limit is {limit} and {elsewhere} are reserved by other functions, which would leave {left} unreserved where Lambda keeps at least {MIN_UNRESERVED}: request a higher Lambda \"Concurrent executions\" quota (Service Quotas) or lower reservedConcurrency for {stage} in config/stages.json."
                )
            }
            Self::NoAlarmSubscriber { stage, stack } => write!(
                f,
                "{stack} has no alarm subscriber, so its alarms reach nobody: set alarmEmail for {stage} in config/stages.json, or pass ALARM_EMAIL=you@example.com to make deploy."
            ),
            Self::StackBusy { stack, status } => write!(
                f,
                "{stack} is {status}: wait until CloudFormation has finished, then deploy again."
            ),
            Self::StackNeedsRepair { stack, status } => write!(
                f,
                "{stack} is {status}, which CloudFormation cannot update: see the stack's events, then continue the rollback or delete the stack."
            ),
        }
    }
}

/// The failures, in the order an operator fixes them (an empty list means: deploy).
pub fn check(facts: &Facts) -> Vec<Failure> {
    let mut failures = Vec::new();
    let unreadable =
        |region: &str, call: &str, permission: &str, error: &str| Failure::Unreadable {
            region: region.to_owned(),
            call: call.to_owned(),
            permission: permission.to_owned(),
            error: error.to_owned(),
        };

    if facts.stacks.is_empty() {
        failures.push(Failure::NoStacks {
            stage: facts.stage.clone(),
        });
    }
    for stack in &facts.stacks {
        if let Some(pinned) = &stack.pinned_account
            && pinned != &facts.account
        {
            failures.push(Failure::WrongAccount {
                stack: stack.name.clone(),
                pinned: pinned.clone(),
                account: facts.account.clone(),
            });
        }
    }

    for region in &facts.regions {
        match &region.bootstrap {
            Live::Known(None) => failures.push(Failure::NotBootstrapped {
                account: facts.account.clone(),
                region: region.region.clone(),
                parameter: region.bootstrap_parameter.clone(),
                required: region.bootstrap_required,
            }),
            Live::Known(Some(have)) if *have < region.bootstrap_required => {
                failures.push(Failure::BootstrapTooOld {
                    account: facts.account.clone(),
                    region: region.region.clone(),
                    have: *have,
                    required: region.bootstrap_required,
                })
            }
            Live::Known(Some(_)) => {}
            Live::Unreadable {
                call,
                permission,
                error,
            } => failures.push(unreadable(&region.region, call, permission, error)),
        }
        match &region.cloudwatch_role {
            None | Some(Live::Known(true)) => {}
            Some(Live::Known(false)) => failures.push(Failure::NoCloudWatchRole {
                region: region.region.clone(),
            }),
            Some(Live::Unreadable {
                call,
                permission,
                error,
            }) => failures.push(unreadable(&region.region, call, permission, error)),
        }

        let in_region: Vec<&StackFacts> = facts
            .stacks
            .iter()
            .filter(|s| s.region == region.region)
            .collect();
        let needed: i64 = in_region.iter().map(|s| s.reserved).sum();
        let mut deployed = 0;
        let mut deployed_known = true;
        for stack in &in_region {
            match &stack.deployed {
                Live::Known(Some(d)) => deployed += d.reserved,
                Live::Known(None) => {}
                Live::Unreadable {
                    call,
                    permission,
                    error,
                } => {
                    deployed_known = false;
                    failures.push(unreadable(&region.region, call, permission, error));
                }
            }
        }
        match &region.lambda {
            None => {}
            Some(Live::Known(lambda))
                if deployed_known && lambda.unreserved + deployed - needed < MIN_UNRESERVED =>
            {
                failures.push(Failure::NotEnoughConcurrency {
                    stage: facts.stage.clone(),
                    region: region.region.clone(),
                    limit: lambda.limit,
                    unreserved: lambda.unreserved,
                    deployed,
                    needed,
                });
            }
            Some(Live::Known(_)) => {}
            Some(Live::Unreadable {
                call,
                permission,
                error,
            }) => failures.push(unreadable(&region.region, call, permission, error)),
        }
    }

    for stack in &facts.stacks {
        if stack.alarms > 0 && stack.subscriptions == 0 && facts.requires_subscriber {
            failures.push(Failure::NoAlarmSubscriber {
                stage: facts.stage.clone(),
                stack: stack.name.clone(),
            });
        }
        if let Live::Known(Some(d)) = &stack.deployed {
            let status = d.status.as_str();
            if status.ends_with("_IN_PROGRESS") && status != "REVIEW_IN_PROGRESS" {
                failures.push(Failure::StackBusy {
                    stack: stack.name.clone(),
                    status: d.status.clone(),
                });
            } else if status.ends_with("_FAILED") {
                failures.push(Failure::StackNeedsRepair {
                    stack: stack.name.clone(),
                    status: d.status.clone(),
                });
            }
        }
    }
    failures
}

/// One line of what the preflight found, for the operator's log.
pub fn summary(facts: &Facts) -> String {
    let mut parts = Vec::new();
    for r in &facts.regions {
        if let Live::Known(Some(v)) = r.bootstrap {
            parts.push(format!(
                "{}: bootstrap version {v} (needs {})",
                r.region, r.bootstrap_required
            ));
        }
        if let Some(Live::Known(true)) = r.cloudwatch_role {
            parts.push("API Gateway CloudWatch role set".to_owned());
        }
        if let Some(Live::Known(l)) = &r.lambda {
            let needed: i64 = facts
                .stacks
                .iter()
                .filter(|s| s.region == r.region)
                .map(|s| s.reserved)
                .sum();
            let deployed: i64 = facts
                .stacks
                .iter()
                .filter(|s| s.region == r.region)
                .filter_map(|s| match &s.deployed {
                    Live::Known(Some(d)) => Some(d.reserved),
                    _ => None,
                })
                .sum();
            parts.push(format!(
                "concurrency {} unreserved + {deployed} own − {needed} new = {} left (limit {})",
                l.unreserved,
                l.unreserved + deployed - needed,
                l.limit
            ));
        }
    }
    format!("preflight passed: {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(
        bootstrap: Live<Option<u32>>,
        role: Option<Live<bool>>,
        lambda: Live<LambdaAccount>,
    ) -> RegionFacts {
        let lambda = Some(lambda);
        RegionFacts {
            region: "eu-west-1".into(),
            bootstrap_parameter: "/cdk-bootstrap/hnb659fds/version".into(),
            bootstrap_required: 6,
            bootstrap,
            cloudwatch_role: role,
            lambda,
        }
    }

    fn stack(reserved: i64, subscriptions: u32, deployed: Live<Option<Deployed>>) -> StackFacts {
        StackFacts {
            name: "SecureServerlessBackend-prod".into(),
            region: "eu-west-1".into(),
            pinned_account: None,
            reserved,
            subscriptions,
            alarms: 1,
            deployed,
        }
    }

    fn facts(stage: &str, stacks: Vec<StackFacts>, regions: Vec<RegionFacts>) -> Facts {
        Facts {
            stage: stage.into(),
            account: "123456789012".into(),
            requires_subscriber: requires_subscriber(stage),
            stacks,
            regions,
        }
    }

    fn lambda(limit: i64, unreserved: i64) -> Live<LambdaAccount> {
        Live::Known(LambdaAccount { limit, unreserved })
    }

    fn denied(call: &str, permission: &str) -> Live<bool> {
        Live::Unreadable {
            call: call.into(),
            permission: permission.into(),
            error: "AccessDeniedException: no".into(),
        }
    }

    /// A region whose facts all read: bootstrap version, CloudWatch role set or not, Lambda limits.
    fn known_region(
        bootstrap: Option<u32>,
        role: bool,
        limit: i64,
        unreserved: i64,
    ) -> RegionFacts {
        region(
            Live::Known(bootstrap),
            Some(Live::Known(role)),
            lambda(limit, unreserved),
        )
    }

    /// A stage whose one stack is not deployed yet, in one region.
    fn new_stack(stage: &str, reserved: i64, subscriptions: u32, region: RegionFacts) -> Facts {
        facts(
            stage,
            vec![stack(reserved, subscriptions, Live::Known(None))],
            vec![region],
        )
    }

    fn good_region() -> RegionFacts {
        known_region(Some(21), true, 1000, 1000)
    }

    fn deployed(status: &str, reserved: i64) -> Live<Option<Deployed>> {
        Live::Known(Some(Deployed {
            status: status.into(),
            reserved,
        }))
    }

    /// Each case: facts → the exact sentences, in order.
    #[test]
    fn each_failure_has_its_sentence() {
        let cases: Vec<(&str, Facts, Vec<&str>)> = vec![
            (
                "a ready account and stage",
                new_stack("prod", 500, 1, good_region()),
                vec![],
            ),
            (
                "dev needs no subscriber",
                new_stack("dev", 0, 0, good_region()),
                vec![],
            ),
            (
                "not bootstrapped",
                new_stack("dev", 0, 0, known_region(None, true, 1000, 1000)),
                vec![
                    "Account 123456789012 is not bootstrapped for the CDK in eu-west-1 (no SSM parameter /cdk-bootstrap/hnb659fds/version; version 6 needed): run npx cdk bootstrap aws://123456789012/eu-west-1.",
                ],
            ),
            (
                "bootstrap too old",
                new_stack("dev", 0, 0, known_region(Some(5), true, 1000, 1000)),
                vec![
                    "Account 123456789012 is bootstrapped in eu-west-1 with version 5 but this app needs 6: run npx cdk bootstrap aws://123456789012/eu-west-1 again.",
                ],
            ),
            (
                "no API Gateway CloudWatch role",
                new_stack("dev", 0, 0, known_region(Some(6), false, 1000, 1000)),
                vec![
                    "API Gateway in eu-west-1 has no CloudWatch role, so the stage's execution logs cannot be written: deploy the account stack first (make deploy-account REGION=eu-west-1), or, if the account manages that setting elsewhere, set SKIP_ACCOUNT_STACK=1.",
                ],
            ),
            (
                "the CloudWatch role check skipped",
                facts(
                    "dev",
                    vec![stack(0, 0, Live::Known(None))],
                    vec![region(Live::Known(Some(6)), None, lambda(1000, 1000))],
                ),
                vec![],
            ),
            (
                "a new account's limit of 10",
                new_stack("prod", 500, 1, known_region(Some(6), true, 10, 10)),
                vec![
                    "prod reserves 500 concurrent executions in eu-west-1, but the account's limit is 10 and 0 are reserved by other functions, which would leave -490 unreserved where Lambda keeps at least 100: request a higher Lambda \"Concurrent executions\" quota (Service Quotas) or lower reservedConcurrency for prod in config/stages.json.",
                ],
            ),
            (
                "other functions reserve too much",
                new_stack("prod", 500, 1, known_region(Some(6), true, 1000, 550)),
                vec![
                    "prod reserves 500 concurrent executions in eu-west-1, but the account's limit is 1000 and 450 are reserved by other functions, which would leave 50 unreserved where Lambda keeps at least 100: request a higher Lambda \"Concurrent executions\" quota (Service Quotas) or lower reservedConcurrency for prod in config/stages.json.",
                ],
            ),
            (
                "exactly 100 left is enough",
                new_stack("prod", 500, 1, known_region(Some(6), true, 1000, 600)),
                vec![],
            ),
            (
                "a redeploy counts the stage's own reservations as its own",
                facts(
                    "prod",
                    vec![stack(500, 1, deployed("UPDATE_COMPLETE", 500))],
                    vec![known_region(Some(6), true, 1000, 500)],
                ),
                vec![],
            ),
            (
                "a redeploy that raises the reservations past the limit",
                facts(
                    "prod",
                    vec![stack(600, 1, deployed("UPDATE_COMPLETE", 500))],
                    vec![known_region(Some(6), true, 1000, 150)],
                ),
                vec![
                    "prod reserves 600 concurrent executions in eu-west-1, but the account's limit is 1000 and 350 are reserved by other functions, which would leave 50 unreserved where Lambda keeps at least 100: request a higher Lambda \"Concurrent executions\" quota (Service Quotas) or lower reservedConcurrency for prod in config/stages.json.",
                ],
            ),
            (
                "prod without an alarm subscriber",
                new_stack("prod", 0, 0, good_region()),
                vec![
                    "SecureServerlessBackend-prod has no alarm subscriber, so its alarms reach nobody: set alarmEmail for prod in config/stages.json, or pass ALARM_EMAIL=you@example.com to make deploy.",
                ],
            ),
            (
                "a stack without alarms (prod's backup-copy stack) needs no subscriber",
                facts(
                    "prod",
                    vec![
                        stack(0, 1, Live::Known(None)),
                        StackFacts {
                            name: "SecureServerlessBackend-prod-support-us-west-2".into(),
                            alarms: 0,
                            ..stack(0, 0, Live::Known(None))
                        },
                    ],
                    vec![good_region()],
                ),
                vec![],
            ),
            (
                "a stack still updating",
                facts(
                    "prod",
                    vec![stack(0, 1, deployed("UPDATE_IN_PROGRESS", 0))],
                    vec![good_region()],
                ),
                vec![
                    "SecureServerlessBackend-prod is UPDATE_IN_PROGRESS: wait until CloudFormation has finished, then deploy again.",
                ],
            ),
            (
                "a stack whose rollback failed",
                facts(
                    "prod",
                    vec![stack(0, 1, deployed("UPDATE_ROLLBACK_FAILED", 0))],
                    vec![good_region()],
                ),
                vec![
                    "SecureServerlessBackend-prod is UPDATE_ROLLBACK_FAILED, which CloudFormation cannot update: see the stack's events, then continue the rollback or delete the stack.",
                ],
            ),
            (
                "a stack in review (a change set) and one rolled back on create are deployable",
                facts(
                    "prod",
                    vec![
                        stack(0, 1, deployed("REVIEW_IN_PROGRESS", 0)),
                        StackFacts {
                            name: "Other".into(),
                            ..stack(0, 1, deployed("ROLLBACK_COMPLETE", 0))
                        },
                    ],
                    vec![good_region()],
                ),
                vec![],
            ),
            (
                "a stack pinned to another account",
                facts(
                    "dev",
                    vec![StackFacts {
                        pinned_account: Some("999999999999".into()),
                        ..stack(0, 0, Live::Known(None))
                    }],
                    vec![good_region()],
                ),
                vec![
                    "SecureServerlessBackend-prod is for account 999999999999 but the credentials are for account 123456789012: switch AWS_PROFILE or credentials.",
                ],
            ),
            (
                "an empty assembly",
                facts("dev", vec![], vec![]),
                vec!["The synthesized app has no stack for stage dev."],
            ),
            (
                "facts that could not be read are failures too, and skip the checks that need them",
                facts(
                    "prod",
                    vec![stack(
                        500,
                        1,
                        Live::Unreadable {
                            call: "the stack SecureServerlessBackend-prod (DescribeStacks)".into(),
                            permission: "cloudformation:DescribeStacks".into(),
                            error: "AccessDenied: no".into(),
                        },
                    )],
                    vec![region(
                        Live::Unreadable {
                            call: "the CDK bootstrap version (SSM GetParameter)".into(),
                            permission: "ssm:GetParameter".into(),
                            error: "AccessDeniedException: no".into(),
                        },
                        Some(denied(
                            "API Gateway's account settings (GetAccount)",
                            "apigateway:GET",
                        )),
                        Live::Unreadable {
                            call: "Lambda's account settings (GetAccountSettings)".into(),
                            permission: "lambda:GetAccountSettings".into(),
                            error: "AccessDeniedException: no".into(),
                        },
                    )],
                ),
                vec![
                    "Could not check the CDK bootstrap version (SSM GetParameter) in eu-west-1 (AccessDeniedException: no): the credentials need ssm:GetParameter.",
                    "Could not check API Gateway's account settings (GetAccount) in eu-west-1 (AccessDeniedException: no): the credentials need apigateway:GET.",
                    "Could not check the stack SecureServerlessBackend-prod (DescribeStacks) in eu-west-1 (AccessDenied: no): the credentials need cloudformation:DescribeStacks.",
                    "Could not check Lambda's account settings (GetAccountSettings) in eu-west-1 (AccessDeniedException: no): the credentials need lambda:GetAccountSettings.",
                ],
            ),
            (
                "several failures at once, in the order they are fixed",
                new_stack("staging", 100, 0, known_region(None, false, 50, 50)),
                vec![
                    "Account 123456789012 is not bootstrapped for the CDK in eu-west-1 (no SSM parameter /cdk-bootstrap/hnb659fds/version; version 6 needed): run npx cdk bootstrap aws://123456789012/eu-west-1.",
                    "API Gateway in eu-west-1 has no CloudWatch role, so the stage's execution logs cannot be written: deploy the account stack first (make deploy-account REGION=eu-west-1), or, if the account manages that setting elsewhere, set SKIP_ACCOUNT_STACK=1.",
                    "staging reserves 100 concurrent executions in eu-west-1, but the account's limit is 50 and 0 are reserved by other functions, which would leave -50 unreserved where Lambda keeps at least 100: request a higher Lambda \"Concurrent executions\" quota (Service Quotas) or lower reservedConcurrency for staging in config/stages.json.",
                    "SecureServerlessBackend-prod has no alarm subscriber, so its alarms reach nobody: set alarmEmail for staging in config/stages.json, or pass ALARM_EMAIL=you@example.com to make deploy.",
                ],
            ),
        ];
        for (name, facts, expected) in cases {
            let got: Vec<String> = check(&facts).iter().map(ToString::to_string).collect();
            assert_eq!(got, expected, "case: {name}");
        }
    }

    #[test]
    fn every_sentence_is_one_sentence() {
        let all = [
            Failure::NoCloudWatchRole { region: "r".into() },
            Failure::NoStacks { stage: "s".into() },
            Failure::NotEnoughConcurrency {
                stage: "s".into(),
                region: "r".into(),
                limit: 1,
                unreserved: 1,
                deployed: 0,
                needed: 1,
            },
            Failure::NoAlarmSubscriber {
                stage: "s".into(),
                stack: "x".into(),
            },
        ];
        for f in all {
            let s = f.to_string();
            assert!(s.ends_with('.') && !s.contains('\n'), "{s}");
            assert_eq!(s.matches(". ").count(), 0, "one sentence: {s}");
        }
    }
}
