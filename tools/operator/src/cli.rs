//! Arguments and the commands behind the make targets. Progress goes to stderr; stdout carries
//! only what a command is for (`token`'s credentials, `assembly`'s JSON).

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use clap::{Parser, Subcommand};

use crate::assembly::Assembly;
use crate::aws::{Aws, connect};
use crate::cognito::SignInError;
use crate::outputs::{self, Outputs, stage_stack_name};
use crate::preflight::{self, Checks};
use crate::smoke_user::{self, DEFAULT_USER, Outcome, Stage};
use crate::{Fatal, cdk, diff};

/// The operator's CLI: deploy a stage, keep its smoke user, get a token, smoke-test it.
#[derive(Debug, Parser)]
#[command(name = "operator", version, about)]
pub struct Cli {
    /// AWS region (default: AWS_REGION, then the profile's region).
    #[arg(long, global = true)]
    pub region: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Synthesize a stage, check the account, then cdk deploy exactly what was checked (make deploy).
    Deploy {
        #[command(flatten)]
        synth: SynthArgs,
        /// Do not require API Gateway's CloudWatch role (the account stack) to be set.
        #[arg(long)]
        skip_account_stack_check: bool,
        /// cdk deploy's --require-approval: broadening (asks in a terminal), any-change or never.
        #[arg(long, default_value = "broadening")]
        require_approval: String,
    },
    /// Diff a stage against its deployed stacks; fail when a stateful resource would be replaced
    /// or deleted without the label PR_LABELS must then hold (make diff).
    Diff {
        #[command(flatten)]
        synth: SynthArgs,
        /// Diff this synthesized assembly instead of synthesizing the stage.
        #[arg(long)]
        assembly: Option<PathBuf>,
    },
    /// Deploy the once-per-account stack (-c stack=account) in the region (make deploy-account).
    DeployAccount {
        #[arg(long, default_value = "broadening")]
        require_approval: String,
    },
    /// The deploy preflight alone, over an already synthesized assembly.
    Preflight {
        #[arg(long)]
        stage: String,
        #[arg(long)]
        assembly: PathBuf,
        #[arg(long)]
        skip_account_stack_check: bool,
    },
    /// What an assembly asks of the account, as JSON, without AWS.
    Assembly {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Create, reuse or repair the stage's smoke user (make smoke-user).
    SmokeUser {
        #[arg(long)]
        stage: String,
        #[arg(long, default_value = DEFAULT_USER)]
        user: String,
        /// Replace the user, its password and its TOTP secret even if they still work.
        #[arg(long)]
        rotate: bool,
    },
    /// Sign the smoke user in and print `export ID_TOKEN=… API_KEY=…` (make token).
    Token {
        #[command(flatten)]
        who: SignInArgs,
        /// Print {"idToken", "apiKey", "expiresIn"} instead.
        #[arg(long)]
        json: bool,
    },
    /// scripts/smoke.sh against the deployed stage with the smoke user's credentials (make smoke STAGE=…).
    Smoke {
        #[command(flatten)]
        who: SignInArgs,
        /// Passed on to scripts/smoke.sh (e.g. --only get-item).
        #[arg(last = true)]
        smoke_args: Vec<String>,
    },
}

/// What a stage is synthesized from (deploy and diff synthesize it the same way).
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    #[arg(long)]
    pub stage: String,
    #[arg(long, default_value = "arm64")]
    pub arch: String,
    /// Subscribe this address to the stage's alarms (-c alarmEmail=…).
    #[arg(long)]
    pub alarm_email: Option<String>,
    /// Never build the Lambda zips (-c build=false): take the ones there, e.g. CI's artifact.
    #[arg(long)]
    pub no_build: bool,
}

impl SynthArgs {
    /// `cdk synth` of the stage into `dir`, in the region the CLI resolved.
    fn synthesize(self, dir: &Path, region: &str) -> Result<(), Fatal> {
        eprintln!(
            "synthesizing {} ({}) into {}",
            self.stage,
            self.arch,
            dir.display()
        );
        let context = cdk::stage_context(self.alarm_email, self.no_build);
        cdk::run(
            &cdk::synth_stage_args(&self.stage, &self.arch, dir, &context),
            region,
        )
    }
}

/// Whose credentials `token` and `smoke` use.
#[derive(Debug, clap::Args)]
pub struct SignInArgs {
    #[arg(long)]
    pub stage: String,
    #[arg(long, default_value = DEFAULT_USER)]
    pub user: String,
    /// The client app whose API key to use (stages with several keys).
    #[arg(long)]
    pub client: Option<String>,
}

/// Parses the arguments, runs the command, prints a failure as its sentence; the exit status.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Cannot start the async runtime: {e}.");
            return crate::fatal::EXIT_FAILED;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(fatal) => {
            eprintln!("{fatal}");
            fatal.status
        }
    }
}

/// Runs one command; Ok(exit status) or the sentence that stopped it.
pub async fn run(cli: Cli) -> Result<i32, Fatal> {
    let region = cli.region.as_deref();
    match cli.command {
        Command::Deploy {
            synth,
            skip_account_stack_check,
            require_approval,
        } => {
            let stage = synth.stage.clone();
            validate_stage(&stage)?;
            let aws = connected(region).await?;
            let dir = PathBuf::from("cdk.out").join(format!("deploy-{stage}"));
            synth.synthesize(&dir, &aws.region)?;
            let assembly = Assembly::read(&dir)?;
            let checks = Checks::stage(&stage, skip_account_stack_check);
            run_preflight(&aws, &stage, &assembly, checks).await?;
            let outputs_file = PathBuf::from("target")
                .join("deploy")
                .join(format!("{stage}-outputs.json"));
            deploy(&aws, &assembly, &outputs_file, &require_approval)?;
            eprintln!(
                "\n{stage} is deployed; outputs in {}. Next:\n  make smoke-user STAGE={stage}\n  make smoke STAGE={stage}",
                outputs_file.display()
            );
            Ok(0)
        }
        Command::Diff { synth, assembly } => {
            let stage = synth.stage.clone();
            validate_stage(&stage)?;
            let aws = connected(region).await?;
            let dir = match assembly {
                Some(dir) => dir,
                None => {
                    let dir = PathBuf::from("cdk.out").join(format!("diff-{stage}"));
                    synth.synthesize(&dir, &aws.region)?;
                    dir
                }
            };
            let assembly = Assembly::read(&dir)?;
            let work = diff::work_dir(&stage);
            let input = diff::DiffInput {
                stacks: diff::fetch(&aws, &assembly, &work).await?,
                stage: stage.clone(),
                account: aws.account.clone(),
            };
            let input_file = work.join("input.json");
            let json = serde_json::to_string_pretty(&input)
                .map_err(|e| Fatal::failed(format!("Cannot write the diff input: {e}.")))?;
            std::fs::write(&input_file, json).map_err(|e| {
                Fatal::failed(format!("Cannot write {}: {e}.", input_file.display()))
            })?;
            let status = Process::new("node")
                .args(diff::stage_diff_args(
                    &input_file,
                    &diff::report_file(&stage),
                ))
                .status()
                .map_err(|e| {
                    Fatal::failed(format!(
                        "Cannot run node ({e}): install Node.js 20 and run make setup."
                    ))
                })?;
            Ok(status.code().unwrap_or(crate::fatal::EXIT_FAILED))
        }
        Command::DeployAccount { require_approval } => {
            let aws = connected(region).await?;
            let dir = PathBuf::from("cdk.out").join("deploy-account");
            cdk::run(&cdk::synth_account_args(&dir), &aws.region)?;
            let assembly = Assembly::read(&dir)?;
            let names: Vec<&str> = assembly.stacks.iter().map(|s| s.name.as_str()).collect();
            if names != [ACCOUNT_STACK] {
                return Err(Fatal::failed(format!(
                    "-c stack=account synthesized {} instead of {ACCOUNT_STACK} alone: this checkout's CDK app does not build the account stack.",
                    if names.is_empty() {
                        "nothing".to_owned()
                    } else {
                        names.join(", ")
                    }
                )));
            }
            run_preflight(&aws, "account", &assembly, Checks::ACCOUNT_STACK).await?;
            let outputs_file = PathBuf::from("target")
                .join("deploy")
                .join(format!("account-{}-outputs.json", aws.region));
            deploy(&aws, &assembly, &outputs_file, &require_approval)?;
            eprintln!(
                "\nThe account stack is deployed in {}. Next: make deploy STAGE=dev (or staging, prod).",
                aws.region
            );
            Ok(0)
        }
        Command::Preflight {
            stage,
            assembly,
            skip_account_stack_check,
        } => {
            validate_stage(&stage)?;
            let aws = connected(region).await?;
            let assembly = Assembly::read(&assembly)?;
            let checks = Checks::stage(&stage, skip_account_stack_check);
            run_preflight(&aws, &stage, &assembly, checks).await?;
            Ok(0)
        }
        Command::Assembly { dir } => {
            let assembly = Assembly::read(&dir)?;
            let json = serde_json::to_string_pretty(&assembly)
                .map_err(|e| Fatal::failed(format!("Cannot print the assembly: {e}.")))?;
            println!("{json}");
            Ok(0)
        }
        Command::SmokeUser {
            stage,
            user,
            rotate,
        } => {
            validate_stage(&stage)?;
            smoke_user::validate_name(&user)?;
            let aws = connected_to_stage(region, &stage).await?;
            let (stage_access, _) = stage_access(&aws, &stage).await?;
            let outcome = stage_access.ensure(&user, rotate).await?;
            let username = smoke_user::username_for(&user);
            match outcome {
                Outcome::Created => eprintln!(
                    "smoke user {user} ({username}) created in {stage}; password and TOTP secret stored in {}",
                    stage_access.secret_arn
                ),
                Outcome::Reused => {
                    eprintln!("smoke user {user} ({username}) in {stage} still signs in: unchanged")
                }
                Outcome::Repaired(why) => eprintln!(
                    "smoke user {user} ({username}) in {stage} re-created ({why}); new credentials stored in {}",
                    stage_access.secret_arn
                ),
            }
            let user_arg = if user == DEFAULT_USER {
                String::new()
            } else {
                format!(" USER={user}")
            };
            eprintln!(
                "Next: make smoke STAGE={stage}{user_arg}  (or: eval \"$(make -s token STAGE={stage}{user_arg})\")"
            );
            Ok(0)
        }
        Command::Token { who, json } => {
            let credentials = credentials(region, &who).await?;
            if json {
                let doc = serde_json::json!({ "idToken": credentials.id_token, "apiKey": credentials.api_key, "expiresIn": credentials.expires_in });
                println!("{doc}");
            } else {
                println!(
                    "export ID_TOKEN={} API_KEY={}",
                    shell_word(&credentials.id_token)?,
                    shell_word(&credentials.api_key)?
                );
            }
            Ok(0)
        }
        Command::Smoke { who, smoke_args } => {
            let credentials = credentials(region, &who).await?;
            let (stage, user) = (&who.stage, &who.user);
            eprintln!(
                "smoke-testing {stage} at {} as {}",
                credentials.api_url,
                smoke_user::username_for(user)
            );
            let status = Process::new(Path::new("scripts").join("smoke.sh"))
                .arg(&credentials.api_url)
                .args(&smoke_args)
                .env("ID_TOKEN", &credentials.id_token)
                .env("API_KEY", &credentials.api_key)
                .status()
                .map_err(|e| {
                    Fatal::failed(format!(
                        "Cannot run scripts/smoke.sh ({e}): run make from the repository's root."
                    ))
                })?;
            Ok(status.code().unwrap_or(crate::fatal::EXIT_FAILED))
        }
    }
}

/// The account stack's name (`cdk/lib/account-stack.ts`).
pub const ACCOUNT_STACK: &str = "SecureServerlessBackend-account";

/// A stage name as config/stages.json keys them (the stack name is built from it).
pub fn validate_stage(stage: &str) -> Result<(), Fatal> {
    if crate::is_plain_name(stage) {
        Ok(())
    } else {
        Err(Fatal::failed(format!(
            "STAGE={stage:?} is not a stage name (dev, staging, prod or another key of config/stages.json)."
        )))
    }
}

async fn connected(region: Option<&str>) -> Result<Aws, Fatal> {
    let aws = connect(region).await?;
    eprintln!(
        "AWS account {} in {} as {}",
        aws.account, aws.region, aws.caller_arn
    );
    Ok(aws)
}

/// Gathers the facts, prints what passed, and stops with every failure's sentence.
async fn run_preflight(
    aws: &Aws,
    stage: &str,
    assembly: &Assembly,
    checks: Checks,
) -> Result<(), Fatal> {
    let facts = preflight::gather(aws, stage, assembly, checks).await;
    let failures = preflight::check(&facts);
    if failures.is_empty() {
        eprintln!("{}", preflight::summary(&facts));
        return Ok(());
    }
    let sentences: Vec<String> = failures.iter().map(ToString::to_string).collect();
    Err(Fatal::failed(sentences.join("\n")))
}

fn deploy(
    aws: &Aws,
    assembly: &Assembly,
    outputs_file: &Path,
    require_approval: &str,
) -> Result<(), Fatal> {
    if let Some(parent) = outputs_file.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Fatal::failed(format!("Cannot create {}: {e}.", parent.display())))?;
    }
    let stacks: Vec<String> = assembly.stacks.iter().map(|s| s.name.clone()).collect();
    cdk::run(
        &cdk::deploy_args(&assembly.dir, &stacks, outputs_file, require_approval),
        &aws.region,
    )
}

/// Connected, in the stage's primary region when config/stages.json pins the stage to regions
/// (its outputs, user pool, secret and API key are there), else in the CLI's region.
async fn connected_to_stage(region: Option<&str>, stage: &str) -> Result<Aws, Fatal> {
    let aws = connected(region).await?;
    let pinned = std::fs::read_to_string(Path::new("config").join("stages.json"))
        .ok()
        .and_then(|doc| outputs::pinned_primary_region(&doc, stage));
    match pinned {
        Some(primary) if primary != aws.region => {
            eprintln!(
                "{stage}'s primary stack is in {primary} (config/stages.json \"regions\"): using {primary}"
            );
            Ok(aws.in_region(&primary))
        }
        _ => Ok(aws),
    }
}

/// The stage's pool, operator client and secret from its outputs.
async fn stage_access(aws: &Aws, stage: &str) -> Result<(Stage, Outputs), Fatal> {
    let outputs = outputs::read(aws, &stage_stack_name(stage)).await?;
    let access = Stage::new(
        aws,
        outputs.get("UserPoolId")?,
        outputs.get("OperatorClientId")?,
        outputs.get("SmokeUserSecretArn")?,
    );
    Ok((access, outputs))
}

/// What `token` prints and `smoke` passes on. Never logged, never written to a file.
struct Credentials {
    api_url: String,
    id_token: String,
    api_key: String,
    expires_in: i32,
}

async fn credentials(region: Option<&str>, who: &SignInArgs) -> Result<Credentials, Fatal> {
    let (stage, user, client) = (who.stage.as_str(), who.user.as_str(), who.client.as_deref());
    validate_stage(stage)?;
    smoke_user::validate_name(user)?;
    let aws = connected_to_stage(region, stage).await?;
    let aws = &aws;
    let (access, outputs) = stage_access(aws, stage).await?;
    let stored = access.stored_user(user, stage).await?;
    let user_arg = if user == DEFAULT_USER {
        String::new()
    } else {
        format!(" USER={user}")
    };
    let tokens = access.pool.sign_in_with_totp(&stored.username, &stored.password, &stored.totp_secret).await.map_err(|e| match e {
        SignInError::Refused(why) => Fatal::failed(format!(
            "The smoke user {} could not sign in ({why}): run make smoke-user STAGE={stage}{user_arg} to repair it.",
            stored.username
        )),
        SignInError::Unfinished(challenge) => Fatal::failed(format!(
            "Cognito asked the smoke user {} for {challenge}: run make smoke-user STAGE={stage}{user_arg} to repair it.",
            stored.username
        )),
        SignInError::Fatal(f) => f,
    })?;
    let key_id = outputs.api_key_id(client)?;
    let api_key = outputs::api_key_value(aws, &key_id).await?;
    Ok(Credentials {
        api_url: outputs.get("ApiUrl")?.to_owned(),
        id_token: tokens.id_token,
        api_key,
        expires_in: tokens.expires_in,
    })
}

/// A value safe to print unquoted in `export NAME=value` (JWTs and API keys are).
fn shell_word(value: &str) -> Result<&str, Fatal> {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '/' | '='))
    {
        Ok(value)
    } else {
        Err(Fatal::failed(
            "A credential holds characters a shell would interpret: use --json (JSON=1) instead.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_argument_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn stage_names() {
        for good in ["dev", "staging", "prod", "prod-global", "qa2"] {
            assert!(validate_stage(good).is_ok(), "{good}");
        }
        for bad in ["", "Prod", "prod global", "../x", "-c"] {
            assert!(validate_stage(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shell_words_pass_tokens_and_keys_and_refuse_the_rest() {
        assert!(shell_word("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_").is_ok());
        assert!(shell_word("AbCdEf0123456789AbCdEf0123456789AbCdEf01").is_ok());
        for bad in ["", "a b", "a;b", "$(x)", "a'b"] {
            assert!(shell_word(bad).is_err(), "{bad}");
        }
    }
}
