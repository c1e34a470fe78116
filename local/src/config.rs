//! The local server's settings: command-line flags first, then their environment variables (both
//! read by `clap` from [`Cli`], which also writes `--help`), then the stage's entry in
//! `config/stages.json` (the file the CDK stack reads), then defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Parser;
use items_core::cors::Cors;
use items_core::limit::{MAX_REQUESTS, MAX_WINDOW_SECONDS, UserLimit};
use serde::Deserialize;

/// The stages file of this checkout, used when neither `--stages-file` nor
/// `LOCAL_STAGES_FILE` names another.
pub const DEFAULT_STAGES_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/stages.json");
/// The API reference page `make docs` builds (web/api-reference.ts), served at `/_local/docs`.
pub const DEFAULT_DOCS_PAGE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../target/docs/index.html");
pub const DEFAULT_PORT: u16 = 3000;
pub const DEFAULT_TABLE: &str = "items-local";
pub const DEFAULT_STAGE: &str = "dev";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot read the stages file {path}: {source}")]
    StagesFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the stages file {path} is not valid: {detail}")]
    StagesInvalid { path: String, detail: String },
}

fn usage(msg: impl Into<String>) -> ConfigError {
    ConfigError::Usage(msg.into())
}

/// Requests per second and burst size, as API Gateway throttles take them.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttle {
    pub rate_limit: f64,
    pub burst_limit: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum QuotaPeriod {
    Day,
    Week,
    Month,
}

impl std::str::FromStr for QuotaPeriod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "DAY" => Ok(Self::Day),
            "WEEK" => Ok(Self::Week),
            "MONTH" => Ok(Self::Month),
            _ => Err(format!(
                "the quota period must be DAY, WEEK or MONTH, not {s:?}"
            )),
        }
    }
}

/// A usage plan's per-key throttle and quota.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlan {
    pub rate_limit: f64,
    pub burst_limit: f64,
    pub quota_limit: u64,
    pub quota_period: QuotaPeriod,
}

impl UsagePlan {
    pub fn throttle(&self) -> Throttle {
        Throttle {
            rate_limit: self.rate_limit,
            burst_limit: self.burst_limit,
        }
    }
}

/// The client apps of a stage in the file's order (the first is the default one), each with its
/// usage plan. Read in document order, which `serde_json::Value` would not keep.
#[derive(Debug, Clone, PartialEq)]
pub struct Clients(pub Vec<(String, UsagePlan)>);

impl Clients {
    /// The names, first one first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(name, _)| name.as_str())
    }

    pub fn plan(&self, client: &str) -> Option<&UsagePlan> {
        self.0
            .iter()
            .find(|(name, _)| name == client)
            .map(|(_, plan)| plan)
    }
}

impl<'de> Deserialize<'de> for Clients {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Clients;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of client apps, each with its usage plan")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Clients, A::Error> {
                let mut clients = Vec::new();
                while let Some((name, plan)) = map.next_entry::<String, UsagePlan>()? {
                    clients.push((name, plan));
                }
                Ok(Clients(clients))
            }
        }
        d.deserialize_map(V)
    }
}

/// The throttling settings of one stage.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub throttle: Throttle,
    /// Keyed by "VERB /path", as in `api/openapi.json`.
    #[serde(default)]
    pub method_throttles: BTreeMap<String, Throttle>,
    /// One API key and usage plan per client app.
    pub clients: Clients,
}

impl Limits {
    /// The `stage` entry of a stages file's text.
    pub fn from_stages_json(text: &str, stage: &str) -> Result<Self, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        let found = serde::de::DeserializeSeed::deserialize(StagesFile { stage }, &mut de)
            .and_then(|found| de.end().map(|()| found))
            .map_err(|e| e.to_string())?;
        let limits = found.ok_or_else(|| format!("it has no stage {stage:?}"))?;
        limits.check().map(|()| limits)
    }

    fn check(&self) -> Result<(), String> {
        let ok = |t: &Throttle| {
            t.rate_limit.is_finite()
                && t.rate_limit >= 0.0
                && t.burst_limit.is_finite()
                && t.burst_limit >= 0.0
        };
        if !ok(&self.throttle) {
            return Err("rates and bursts must be non-negative numbers".to_owned());
        }
        if let Some((k, _)) = self.method_throttles.iter().find(|(_, t)| !ok(t)) {
            return Err(format!(
                "methodThrottles[{k:?}]: rates and bursts must be non-negative numbers"
            ));
        }
        if self.clients.0.is_empty() {
            return Err("clients must name at least one client app".to_owned());
        }
        if let Some((name, _)) = self.clients.0.iter().find(|(_, p)| !ok(&p.throttle())) {
            return Err(format!(
                "clients.{name}: rates and bursts must be non-negative numbers"
            ));
        }
        Ok(())
    }
}

/// Reads a stages file's `stages.<stage>` entry and skips everything else, in one pass over the
/// text (so that each stage's `clients` keeps its order).
struct StagesFile<'a> {
    stage: &'a str,
}

impl<'de> serde::de::DeserializeSeed<'de> for StagesFile<'_> {
    type Value = Option<Limits>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StagesFile<'_> {
    type Value = Option<Limits>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object with \"stages\"")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "stages" {
                found = map.next_value_seed(OneStage { stage: self.stage })?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The `stages` object: the named entry as [`Limits`], the others skipped.
struct OneStage<'a> {
    stage: &'a str,
}

impl<'de> serde::de::DeserializeSeed<'de> for OneStage<'_> {
    type Value = Option<Limits>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for OneStage<'_> {
    type Value = Option<Limits>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object of stages")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.stage {
                let limits = map
                    .next_value::<Limits>()
                    .map_err(|e| A::Error::custom(format!("stage {:?}: {e}", self.stage)))?;
                found = Some(limits);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The stage's per-user limit (`userLimit` in the stages file), as the functions enforce it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserLimitSetting {
    pub requests: u32,
    pub window_seconds: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StageUserLimit {
    user_limit: UserLimitSetting,
}

impl UserLimitSetting {
    /// The `stage` entry's `userLimit` of a stages file's text.
    pub fn from_stages_json(text: &str, stage: &str) -> Result<Self, String> {
        let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let entry = doc
            .pointer(&format!("/stages/{stage}"))
            .ok_or_else(|| format!("it has no stage {stage:?}"))?;
        serde_json::from_value::<StageUserLimit>(entry.clone())
            .map(|s| s.user_limit)
            .map_err(|e| format!("stage {stage:?}: {e}"))
    }

    /// The limit the core enforces; one sentence when a number is out of its bounds.
    pub fn limit(self) -> Result<UserLimit, String> {
        UserLimit::new(self.requests, self.window_seconds).ok_or_else(|| {
            format!(
                "the user limit must be 1 to {MAX_REQUESTS} requests per 1 to \
                 {MAX_WINDOW_SECONDS} seconds, not {} per {}",
                self.requests, self.window_seconds
            )
        })
    }
}

/// The `stage` entry's `corsAllowOrigins` of a stages file's text, comma-separated as the stack
/// hands them to the functions.
fn stage_cors_origins(text: &str, stage: &str) -> Result<String, String> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    doc.pointer(&format!("/stages/{stage}/corsAllowOrigins"))
        .and_then(serde_json::Value::as_array)
        .and_then(|list| list.iter().map(|o| o.as_str()).collect::<Option<Vec<_>>>())
        .filter(|list| !list.is_empty())
        .map(|list| list.join(","))
        .ok_or_else(|| {
            format!("stage {stage:?}: corsAllowOrigins must be a non-empty list of origins")
        })
}

/// The environment variable of `--dynamodb-endpoint`.
pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";
/// Environment only (never a flag, so that it never shows in a process list): a fixed signing
/// secret, from which the clients' API keys are derived too.
pub const JWT_SECRET_VAR: &str = "LOCAL_JWT_SECRET";

/// The command line. Each flag falls back to the environment variable `--help` shows beside it.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "local-server",
    about = "The items API on 127.0.0.1, as API Gateway serves it, over DynamoDB Local.",
    after_help = "Environment only:\n  LOCAL_JWT_SECRET  hex signing secret (>= 32 bytes), from which each client app's API key is\n                    derived too; random per start when unset"
)]
pub struct Cli {
    /// Port on 127.0.0.1, 0 for any free one
    #[arg(long, env = "PORT", value_name = "N", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// DynamoDB table, created if missing
    #[arg(long, env = "TABLE_NAME", value_name = "NAME", default_value = DEFAULT_TABLE, value_parser = table_name)]
    pub table: String,
    /// DynamoDB Local, on loopback (`scripts/dynamodb-local.sh start` prints it)
    #[arg(long, env = ENDPOINT_VAR, value_name = "URL", value_parser = loopback_url)]
    pub dynamodb_endpoint: String,
    /// Stage settings [default: config/stages.json]
    #[arg(long, env = "LOCAL_STAGES_FILE", value_name = "PATH")]
    pub stages_file: Option<PathBuf>,
    /// Which entry of the stages file
    #[arg(long, env = "LOCAL_STAGE", value_name = "NAME", default_value = DEFAULT_STAGE)]
    pub stage: String,
    /// Stage rate, requests/s
    #[arg(long, env = "LOCAL_THROTTLE_RATE", value_name = "R")]
    pub throttle_rate: Option<f64>,
    /// Stage burst
    #[arg(long, env = "LOCAL_THROTTLE_BURST", value_name = "B")]
    pub throttle_burst: Option<f64>,
    /// Usage plan rate per API key, for every client app
    #[arg(long, env = "LOCAL_USAGE_RATE", value_name = "R")]
    pub usage_rate: Option<f64>,
    /// Usage plan burst per API key, for every client app
    #[arg(long, env = "LOCAL_USAGE_BURST", value_name = "B")]
    pub usage_burst: Option<f64>,
    /// Usage plan quota per API key, for every client app
    #[arg(long, env = "LOCAL_QUOTA_LIMIT", value_name = "N")]
    pub quota_limit: Option<u64>,
    /// DAY, WEEK or MONTH
    #[arg(long, env = "LOCAL_QUOTA_PERIOD", value_name = "P")]
    pub quota_period: Option<QuotaPeriod>,
    /// Browser origins allowed by CORS, comma-separated [default: the stage's corsAllowOrigins]
    #[arg(long, env = "LOCAL_CORS_ALLOW_ORIGINS", value_name = "ORIGINS")]
    pub cors_allow_origins: Option<String>,
    /// The API reference page served at /_local/docs [default: target/docs/index.html, built by make docs]
    #[arg(long, env = "LOCAL_DOCS_PAGE", value_name = "PATH")]
    pub docs_page: Option<PathBuf>,
    /// Per-user limit: requests per window
    #[arg(long, env = "LOCAL_USER_LIMIT_REQUESTS", value_name = "N")]
    pub user_limit_requests: Option<u32>,
    /// Per-user limit: window length, seconds
    #[arg(long, env = "LOCAL_USER_LIMIT_WINDOW", value_name = "S")]
    pub user_limit_window: Option<u32>,
    /// Ignore the stage's per-method throttles (the variable: 1 or true)
    #[arg(long, env = "LOCAL_NO_METHOD_THROTTLES", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_method_throttles: bool,
}

/// DynamoDB's rule for a table name.
fn table_name(name: &str) -> Result<String, String> {
    let ok = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "the table name must be 3 to 255 letters, digits and _ - . (DynamoDB's rule), not {name:?}"
        ))
    }
}

fn loopback_url(url: &str) -> Result<String, String> {
    if is_loopback_url(url) {
        Ok(url.to_owned())
    } else {
        Err(format!(
            "the DynamoDB endpoint must be http:// on loopback (127.0.0.1, localhost, [::1]), \
             not {url}: local mode never talks to another host"
        ))
    }
}

/// True for an `http://` URL on the loopback interface: nothing leaves this machine.
pub fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub port: u16,
    pub table: String,
    pub dynamodb_endpoint: String,
    pub stages_file: PathBuf,
    pub stage: String,
    pub limits: Limits,
    /// The per-user limit the functions enforce (the stage's `userLimit`).
    pub user_limit: UserLimit,
    /// A fixed signing secret (hex, at least 32 bytes), so that tokens and API keys survive a
    /// reload in `make dev` and tests can sign tokens of their own. Random when absent.
    pub jwt_secret: Option<Vec<u8>>,
    /// The page `/_local/docs` serves.
    pub docs_page: PathBuf,
    /// The browser origins CORS allows: the functions', the preflight's and the gateway's.
    pub cors: Cors,
}

impl Settings {
    /// The settings `cli` asks for, the stage's limits from its stages file with the
    /// command line's overrides (a usage plan flag applies to every client app), and the
    /// environment-only secret from `env`.
    pub fn from_cli(cli: Cli, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let stages_file = cli
            .stages_file
            .unwrap_or_else(|| PathBuf::from(DEFAULT_STAGES_FILE));
        let path = stages_file.display().to_string();
        let text =
            std::fs::read_to_string(&stages_file).map_err(|source| ConfigError::StagesFile {
                path: path.clone(),
                source,
            })?;
        let mut limits = Limits::from_stages_json(&text, &cli.stage).map_err(|detail| {
            ConfigError::StagesInvalid {
                path: path.clone(),
                detail,
            }
        })?;
        let mut user_limit = UserLimitSetting::from_stages_json(&text, &cli.stage)
            .map_err(|detail| ConfigError::StagesInvalid { path, detail })?;
        if let Some(v) = cli.user_limit_requests {
            user_limit.requests = v;
        }
        if let Some(v) = cli.user_limit_window {
            user_limit.window_seconds = v;
        }
        let user_limit = user_limit.limit().map_err(usage)?;
        let origins = match cli.cors_allow_origins {
            Some(list) => list,
            None => stage_cors_origins(&text, &cli.stage).map_err(|detail| {
                ConfigError::StagesInvalid {
                    path: stages_file.display().to_string(),
                    detail,
                }
            })?,
        };
        let cors = Cors::parse(Some(&origins)).map_err(|e| usage(e.to_string()))?;
        if let Some(v) = cli.throttle_rate {
            limits.throttle.rate_limit = v;
        }
        if let Some(v) = cli.throttle_burst {
            limits.throttle.burst_limit = v;
        }
        for (_, plan) in &mut limits.clients.0 {
            if let Some(v) = cli.usage_rate {
                plan.rate_limit = v;
            }
            if let Some(v) = cli.usage_burst {
                plan.burst_limit = v;
            }
            if let Some(v) = cli.quota_limit {
                plan.quota_limit = v;
            }
            if let Some(v) = cli.quota_period {
                plan.quota_period = v;
            }
        }
        if cli.no_method_throttles {
            limits.method_throttles.clear();
        }
        limits.check().map_err(usage)?;

        let jwt_secret = match env(JWT_SECRET_VAR).filter(|v| !v.is_empty()) {
            None => None,
            Some(secret) => Some(
                hex::decode(secret.trim())
                    .ok()
                    .filter(|k| k.len() >= 32)
                    .ok_or_else(|| usage("LOCAL_JWT_SECRET must be at least 64 hex digits"))?,
            ),
        };
        Ok(Settings {
            port: cli.port,
            table: cli.table,
            dynamodb_endpoint: cli.dynamodb_endpoint,
            stages_file,
            stage: cli.stage,
            limits,
            user_limit,
            jwt_secret,
            docs_page: cli
                .docs_page
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DOCS_PAGE)),
            cors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAGES: &str = r#"{"stages":{"dev":{
        "throttle":{"rateLimit":50,"burstLimit":100},
        "methodThrottles":{"POST /v1/items":{"rateLimit":20,"burstLimit":40}},
        "clients":{
            "web":{"rateLimit":10,"burstLimit":20,"quotaLimit":10000,"quotaPeriod":"DAY"},
            "mobile":{"rateLimit":5,"burstLimit":5,"quotaLimit":300,"quotaPeriod":"MONTH"}},
        "userLimit":{"requests":150,"windowSeconds":60}},
        "prod":{"clients":"not read"}}}"#;

    #[test]
    fn the_dev_stage_limits_are_read_from_the_stages_file() {
        let l = Limits::from_stages_json(STAGES, "dev").expect("limits");
        assert_eq!(l.throttle.rate_limit, 50.0);
        assert_eq!(l.clients.plan("web").map(|p| p.quota_limit), Some(10000));
        assert_eq!(
            l.clients.plan("mobile").map(|p| p.quota_period),
            Some(QuotaPeriod::Month)
        );
        assert_eq!(l.method_throttles["POST /v1/items"].burst_limit, 40.0);
    }

    #[test]
    fn the_clients_keep_the_files_order() {
        let l = Limits::from_stages_json(STAGES, "dev").expect("limits");
        assert_eq!(
            l.clients.names().collect::<Vec<_>>(),
            ["web", "mobile"],
            "web first, as written, though mobile sorts first"
        );
    }

    #[test]
    fn a_stage_without_clients_is_refused() {
        for (case, clients, needle) in [
            ("missing", "", "missing field `clients`"),
            ("empty", r#","clients":{}"#, "at least one client app"),
            (
                "the old usagePlan",
                r#","usagePlan":{}"#,
                "missing field `clients`",
            ),
        ] {
            let text = format!(
                r#"{{"stages":{{"dev":{{"throttle":{{"rateLimit":1,"burstLimit":1}}{clients}}}}}}}"#
            );
            let e = Limits::from_stages_json(&text, "dev").expect_err(case);
            assert!(e.contains(needle), "{case}: {e}");
        }
    }

    #[test]
    fn a_missing_stage_is_reported_by_name() {
        let e = Limits::from_stages_json(STAGES, "qa").expect_err("no qa");
        assert!(e.contains("\"qa\""), "{e}");
    }

    #[test]
    fn the_checkout_stages_file_has_a_dev_entry() {
        let text = std::fs::read_to_string(DEFAULT_STAGES_FILE).expect("config/stages.json");
        Limits::from_stages_json(&text, "dev").expect("dev limits");
        UserLimitSetting::from_stages_json(&text, "dev")
            .expect("dev user limit")
            .limit()
            .expect("within bounds");
    }

    #[test]
    fn the_user_limit_comes_from_the_stage_unless_overridden() {
        let l = UserLimitSetting::from_stages_json(STAGES, "dev").expect("user limit");
        assert_eq!(
            l,
            UserLimitSetting {
                requests: 150,
                window_seconds: 60
            }
        );
        let cli = parse(&["--user-limit-requests", "2", "--user-limit-window=5"]).expect("cli");
        let s = Settings::from_cli(cli, |_| None).expect("settings");
        assert_eq!(s.user_limit, UserLimit::new(2, 5).expect("limit"));
        let cli = parse(&["--user-limit-requests", "0"]).expect("cli");
        let e = Settings::from_cli(cli, |_| None).expect_err("zero requests");
        assert!(e.to_string().contains("not 0 per"), "{e}");
    }

    /// What the command line `args` makes, with the endpoint on the command line so that the
    /// test's own environment cannot supply or spoil it.
    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        parse_with("http://127.0.0.1:8000", args)
    }

    fn parse_with(endpoint: &str, args: &[&str]) -> Result<Cli, clap::Error> {
        let args = ["local-server", "--dynamodb-endpoint", endpoint]
            .into_iter()
            .chain(args.iter().copied());
        Cli::try_parse_from(args)
    }

    #[test]
    fn flags_override_the_stages_file() {
        let cli = parse(&["--port", "0", "--quota-limit=3", "--throttle-burst", "7"]).expect("cli");
        let s = Settings::from_cli(cli, |_| None).expect("settings");
        assert_eq!(s.port, 0);
        assert_eq!(s.limits.throttle.burst_limit, 7.0);
        for (name, plan) in &s.limits.clients.0 {
            assert_eq!(
                plan.quota_limit, 3,
                "{name}: a usage plan flag applies to every client"
            );
        }
    }

    #[test]
    fn the_secret_comes_from_the_environment_only() {
        let cli = parse(&[]).expect("cli");
        let env = |k: &str| (k == JWT_SECRET_VAR).then(|| "ab".repeat(32));
        let s = Settings::from_cli(cli.clone(), env).expect("settings");
        assert_eq!(s.jwt_secret, Some(vec![0xab; 32]));
        for value in ["abc", "ab"] {
            let e = Settings::from_cli(cli.clone(), |k| {
                (k == JWT_SECRET_VAR).then(|| value.to_owned())
            })
            .expect_err(value);
            assert!(e.to_string().contains(JWT_SECRET_VAR), "{e}");
        }
    }

    #[test]
    fn only_loopback_endpoints_are_accepted() {
        for (url, ok) in [
            ("http://127.0.0.1:8000", true),
            ("http://localhost:8000/", true),
            ("http://[::1]:8000", true),
            ("http://127.0.0.2:8000", true),
            ("http://10.0.0.1:8000", false),
            ("https://dynamodb.us-east-1.amazonaws.com", false),
            ("http://localhost.example.com:8000", false),
        ] {
            assert_eq!(is_loopback_url(url), ok, "{url}");
        }
    }

    #[test]
    fn unknown_options_and_bad_values_are_usage_errors() {
        for args in [
            &["--bogus"][..],
            &["--port", "x"],
            &["--port"],
            &["--table", "no spaces"],
            &["--quota-period", "YEAR"],
        ] {
            let e = parse(args).expect_err("a usage error");
            assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
        }
        let e = parse_with("http://10.0.0.1:8000", &[]).expect_err("not loopback");
        assert!(
            e.to_string()
                .contains("local mode never talks to another host"),
            "{e}"
        );
    }

    /// docs/LOCAL.md's table of options is the one copy in the docs: it names every flag and
    /// every variable the command line reads, and the environment-only one.
    #[test]
    fn the_docs_table_names_every_flag_and_variable() {
        use clap::CommandFactory;
        let docs = include_str!("../../docs/LOCAL.md");
        let cli = Cli::command();
        let mut names: Vec<String> = vec![JWT_SECRET_VAR.to_owned()];
        for arg in cli.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if long == "help" {
                continue;
            }
            names.push(format!("`--{long}"));
            let env = arg.get_env().expect("every flag has a variable");
            names.push(format!("`{}`", env.to_string_lossy()));
        }
        for name in names {
            assert!(
                docs.contains(&name),
                "docs/LOCAL.md does not mention {name}"
            );
        }
    }
}
