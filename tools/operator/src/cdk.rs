//! The cdk command lines the deploy commands run, built by plain functions, and their runner.

use std::path::Path;
use std::process::Command;

use crate::Fatal;

/// How the CDK CLI is started: the project's pinned aws-cdk from node_modules, never a download.
pub const CDK: &[&str] = &["npx", "--no-install", "cdk"];

/// The `-c` pairs a stage's synth gets beyond stage and arch: the alarm subscriber, and
/// `build=false` when the zips must be taken as they are (CI's artifact) instead of built.
pub fn stage_context(alarm_email: Option<String>, no_build: bool) -> Vec<(String, String)> {
    let mut context: Vec<(String, String)> = alarm_email
        .into_iter()
        .map(|a| ("alarmEmail".to_owned(), a))
        .collect();
    if no_build {
        context.push(("build".to_owned(), "false".to_owned()));
    }
    context
}

/// `cdk synth` of one stage into `out_dir`; `context` adds `-c key=value` pairs.
pub fn synth_stage_args(
    stage: &str,
    arch: &str,
    out_dir: &Path,
    context: &[(String, String)],
) -> Vec<String> {
    let mut args = vec![
        "synth".to_owned(),
        "-c".to_owned(),
        format!("stage={stage}"),
        "-c".to_owned(),
        format!("arch={arch}"),
    ];
    for (k, v) in context {
        args.push("-c".to_owned());
        args.push(format!("{k}={v}"));
    }
    args.extend([
        "--quiet".to_owned(),
        "-o".to_owned(),
        out_dir.display().to_string(),
    ]);
    args
}

/// `cdk synth` of the account stack: it needs no Lambda zips, so the app never builds them.
pub fn synth_account_args(out_dir: &Path) -> Vec<String> {
    [
        "synth",
        "-c",
        "stack=account",
        "-c",
        "build=false",
        "--quiet",
        "-o",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([out_dir.display().to_string()])
    .collect()
}

/// `cdk deploy` of exactly the synthesized assembly that the preflight checked.
pub fn deploy_args(
    assembly_dir: &Path,
    stacks: &[String],
    outputs_file: &Path,
    require_approval: &str,
) -> Vec<String> {
    let mut args = vec![
        "deploy".to_owned(),
        "--app".to_owned(),
        assembly_dir.display().to_string(),
    ];
    args.extend(stacks.iter().cloned());
    args.extend([
        "--outputs-file".to_owned(),
        outputs_file.display().to_string(),
        "--require-approval".to_owned(),
        require_approval.to_owned(),
    ]);
    args
}

/// Runs cdk with `args` in the region the CLI resolved (so both agree), output to the terminal.
pub fn run(args: &[String], region: &str) -> Result<(), Fatal> {
    let (program, base) = CDK
        .split_first()
        .ok_or_else(|| Fatal::failed("No cdk command."))?;
    let status = Command::new(program)
        .args(base)
        .args(args)
        .env("AWS_REGION", region)
        .env("AWS_DEFAULT_REGION", region)
        .env("CDK_DISABLE_CLI_TELEMETRY", "1")
        .status()
        .map_err(|e| {
            Fatal::failed(format!(
                "Cannot start npx ({e}): install Node.js 20 and run make setup."
            ))
        })?;
    if status.success() {
        Ok(())
    } else {
        let verb = args.first().map_or("cdk", String::as_str);
        Err(Fatal::failed(format!(
            "cdk {verb} failed ({status}): its messages are above."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn synth_writes_the_stage_into_its_own_directory() {
        assert_eq!(
            synth_stage_args(
                "prod",
                "arm64",
                &PathBuf::from("cdk.out/deploy-prod"),
                &[("alarmEmail".into(), "ops@example.com".into())]
            ),
            [
                "synth",
                "-c",
                "stage=prod",
                "-c",
                "arch=arm64",
                "-c",
                "alarmEmail=ops@example.com",
                "--quiet",
                "-o",
                "cdk.out/deploy-prod"
            ]
        );
        assert_eq!(
            synth_account_args(&PathBuf::from("cdk.out/deploy-account")),
            [
                "synth",
                "-c",
                "stack=account",
                "-c",
                "build=false",
                "--quiet",
                "-o",
                "cdk.out/deploy-account"
            ]
        );
    }

    #[test]
    fn ci_synthesizes_with_the_zips_it_downloaded_and_never_builds() {
        assert_eq!(
            synth_stage_args(
                "staging",
                "arm64",
                &PathBuf::from("cdk.out/deploy-staging"),
                &stage_context(Some("ops@example.com".into()), true)
            ),
            [
                "synth",
                "-c",
                "stage=staging",
                "-c",
                "arch=arm64",
                "-c",
                "alarmEmail=ops@example.com",
                "-c",
                "build=false",
                "--quiet",
                "-o",
                "cdk.out/deploy-staging"
            ]
        );
        assert_eq!(stage_context(None, false), []);
    }

    #[test]
    fn deploy_takes_the_checked_assembly_and_writes_the_outputs_under_target() {
        assert_eq!(
            deploy_args(
                &PathBuf::from("cdk.out/deploy-prod"),
                &["SecureServerlessBackend-prod".to_owned()],
                &PathBuf::from("target/deploy/prod-outputs.json"),
                "never"
            ),
            [
                "deploy",
                "--app",
                "cdk.out/deploy-prod",
                "SecureServerlessBackend-prod",
                "--outputs-file",
                "target/deploy/prod-outputs.json",
                "--require-approval",
                "never"
            ]
        );
    }
}
