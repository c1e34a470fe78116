//! The local server's settings: command-line flags first, then environment variables, then the
//! stage's entry in `config/stages.json` (the file the CDK stack reads), then defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// The stages file of this checkout, used when neither `--stages-file` nor
/// `LOCAL_STAGES_FILE` names another.
pub const DEFAULT_STAGES_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/stages.json");
pub const DEFAULT_PORT: u16 = 3000;
pub const DEFAULT_TABLE: &str = "items-local";
pub const DEFAULT_STAGE: &str = "dev";
pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";

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
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "DAY" => Ok(Self::Day),
            "WEEK" => Ok(Self::Week),
            "MONTH" => Ok(Self::Month),
            _ => Err(usage(format!(
                "the quota period must be DAY, WEEK or MONTH, not {s:?}"
            ))),
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

/// The throttling settings of one stage.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub throttle: Throttle,
    /// Keyed by "VERB /path", as in `api/openapi.json`.
    #[serde(default)]
    pub method_throttles: BTreeMap<String, Throttle>,
    pub usage_plan: UsagePlan,
}

impl Limits {
    /// The `stage` entry of a stages file's text.
    pub fn from_stages_json(text: &str, stage: &str) -> Result<Self, String> {
        let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let entry = doc
            .pointer(&format!("/stages/{stage}"))
            .ok_or_else(|| format!("it has no stage {stage:?}"))?;
        let limits: Limits =
            serde_json::from_value(entry.clone()).map_err(|e| format!("stage {stage:?}: {e}"))?;
        limits.check().map(|()| limits)
    }

    fn check(&self) -> Result<(), String> {
        let ok = |t: &Throttle| {
            t.rate_limit.is_finite()
                && t.rate_limit >= 0.0
                && t.burst_limit.is_finite()
                && t.burst_limit >= 0.0
        };
        if !ok(&self.throttle) || !ok(&self.usage_plan.throttle()) {
            return Err("rates and bursts must be non-negative numbers".to_owned());
        }
        if let Some((k, _)) = self.method_throttles.iter().find(|(_, t)| !ok(t)) {
            return Err(format!(
                "methodThrottles[{k:?}]: rates and bursts must be non-negative numbers"
            ));
        }
        Ok(())
    }
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
    /// A fixed signing secret (hex, at least 32 bytes), so that tokens survive a reload in
    /// `make dev` and tests can sign tokens of their own. Random when absent.
    pub jwt_secret: Option<Vec<u8>>,
    /// A fixed API key; random when absent.
    pub api_key: Option<String>,
}

pub const HELP: &str = "\
local-server: the items API on 127.0.0.1, as API Gateway serves it, over DynamoDB Local.

Options (each also read from the environment variable in brackets):
  --port N               port on 127.0.0.1, 0 for any free one [PORT] (default 3000)
  --table NAME           DynamoDB table, created if missing [TABLE_NAME] (default items-local)
  --dynamodb-endpoint U  DynamoDB Local, on loopback [AWS_ENDPOINT_URL_DYNAMODB] (required)
  --stages-file PATH     stage settings [LOCAL_STAGES_FILE] (default config/stages.json)
  --stage NAME           which entry of it [LOCAL_STAGE] (default dev)
  --throttle-rate R      stage rate, requests/s [LOCAL_THROTTLE_RATE]
  --throttle-burst B     stage burst [LOCAL_THROTTLE_BURST]
  --usage-rate R         usage plan rate per API key [LOCAL_USAGE_RATE]
  --usage-burst B        usage plan burst per API key [LOCAL_USAGE_BURST]
  --quota-limit N        usage plan quota per API key [LOCAL_QUOTA_LIMIT]
  --quota-period P       DAY, WEEK or MONTH [LOCAL_QUOTA_PERIOD]
  --no-method-throttles  ignore the stage's per-method throttles [LOCAL_NO_METHOD_THROTTLES=1]
Environment only:
  LOCAL_JWT_SECRET       hex signing secret (>= 32 bytes); random per start when unset
  LOCAL_API_KEY          the API key to issue; random per start when unset
";

/// What `main` should do.
#[derive(Debug)]
pub enum Command {
    Help,
    Serve(Box<Settings>),
}

fn parse_num<T: std::str::FromStr>(name: &str, raw: &str) -> Result<T, ConfigError> {
    raw.trim()
        .parse()
        .map_err(|_| usage(format!("{name} must be a number, not {raw:?}")))
}

fn parse_hex(raw: &str) -> Option<Vec<u8>> {
    let raw = raw.trim();
    if !raw.len().is_multiple_of(2) {
        return None;
    }
    (0..raw.len())
        .step_by(2)
        .map(|i| {
            raw.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
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

impl Settings {
    /// Reads flags (without the program name) and, for what they leave out, `env`.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Command, ConfigError> {
        let mut flags: BTreeMap<&'static str, String> = BTreeMap::new();
        let mut no_method_throttles = false;
        let known: [(&str, &'static str); 11] = [
            ("--port", "PORT"),
            ("--table", "TABLE_NAME"),
            ("--dynamodb-endpoint", ENDPOINT_VAR),
            ("--stages-file", "LOCAL_STAGES_FILE"),
            ("--stage", "LOCAL_STAGE"),
            ("--throttle-rate", "LOCAL_THROTTLE_RATE"),
            ("--throttle-burst", "LOCAL_THROTTLE_BURST"),
            ("--usage-rate", "LOCAL_USAGE_RATE"),
            ("--usage-burst", "LOCAL_USAGE_BURST"),
            ("--quota-limit", "LOCAL_QUOTA_LIMIT"),
            ("--quota-period", "LOCAL_QUOTA_PERIOD"),
        ];
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "-h" || arg == "--help" {
                return Ok(Command::Help);
            }
            if arg == "--no-method-throttles" {
                no_method_throttles = true;
                continue;
            }
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
                None => (arg.clone(), None),
            };
            let Some((_, var)) = known.iter().find(|(f, _)| *f == flag) else {
                return Err(usage(format!("unknown option {arg:?} (try --help)")));
            };
            let value = match inline {
                Some(v) => v,
                None => args
                    .next()
                    .ok_or_else(|| usage(format!("{flag} needs a value")))?,
            };
            flags.insert(var, value);
        }
        let get = |var: &str| {
            flags
                .get(var)
                .cloned()
                .or_else(|| env(var))
                .filter(|v| !v.trim().is_empty())
        };

        let port = match get("PORT") {
            Some(p) => parse_num("the port", &p)?,
            None => DEFAULT_PORT,
        };
        let table = get("TABLE_NAME").unwrap_or_else(|| DEFAULT_TABLE.to_owned());
        let table_ok = (3..=255).contains(&table.len())
            && table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !table_ok {
            return Err(usage(format!(
                "the table name must be 3 to 255 letters, digits and _ - . (DynamoDB's rule), not {table:?}"
            )));
        }
        let dynamodb_endpoint = get(ENDPOINT_VAR).ok_or_else(|| {
            usage(format!(
                "DynamoDB Local's endpoint is needed: --dynamodb-endpoint or {ENDPOINT_VAR} \
                 (scripts/dynamodb-local.sh start prints it)"
            ))
        })?;
        if !is_loopback_url(&dynamodb_endpoint) {
            return Err(usage(format!(
                "the DynamoDB endpoint must be http:// on loopback (127.0.0.1, localhost, [::1]), \
                 not {dynamodb_endpoint}: local mode never talks to another host"
            )));
        }
        let stages_file = PathBuf::from(
            get("LOCAL_STAGES_FILE").unwrap_or_else(|| DEFAULT_STAGES_FILE.to_owned()),
        );
        let stage = get("LOCAL_STAGE").unwrap_or_else(|| DEFAULT_STAGE.to_owned());
        let path = stages_file.display().to_string();
        let text =
            std::fs::read_to_string(&stages_file).map_err(|source| ConfigError::StagesFile {
                path: path.clone(),
                source,
            })?;
        let mut limits = Limits::from_stages_json(&text, &stage)
            .map_err(|detail| ConfigError::StagesInvalid { path, detail })?;

        if let Some(v) = get("LOCAL_THROTTLE_RATE") {
            limits.throttle.rate_limit = parse_num("the stage rate", &v)?;
        }
        if let Some(v) = get("LOCAL_THROTTLE_BURST") {
            limits.throttle.burst_limit = parse_num("the stage burst", &v)?;
        }
        if let Some(v) = get("LOCAL_USAGE_RATE") {
            limits.usage_plan.rate_limit = parse_num("the usage plan rate", &v)?;
        }
        if let Some(v) = get("LOCAL_USAGE_BURST") {
            limits.usage_plan.burst_limit = parse_num("the usage plan burst", &v)?;
        }
        if let Some(v) = get("LOCAL_QUOTA_LIMIT") {
            limits.usage_plan.quota_limit = parse_num("the quota limit", &v)?;
        }
        if let Some(v) = get("LOCAL_QUOTA_PERIOD") {
            limits.usage_plan.quota_period = v.parse()?;
        }
        if no_method_throttles || env("LOCAL_NO_METHOD_THROTTLES").is_some_and(|v| v == "1") {
            limits.method_throttles.clear();
        }
        limits.check().map_err(usage)?;

        let jwt_secret = match env("LOCAL_JWT_SECRET").filter(|v| !v.is_empty()) {
            None => None,
            Some(hex) => Some(
                parse_hex(&hex)
                    .filter(|k| k.len() >= 32)
                    .ok_or_else(|| usage("LOCAL_JWT_SECRET must be at least 64 hex digits"))?,
            ),
        };
        let api_key = match env("LOCAL_API_KEY").filter(|v| !v.is_empty()) {
            None => None,
            Some(k)
                if (20..=128).contains(&k.len())
                    && k.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                Some(k)
            }
            Some(_) => {
                return Err(usage(
                    "LOCAL_API_KEY must be 20 to 128 letters and digits, as API Gateway keys are",
                ));
            }
        };

        Ok(Command::Serve(Box::new(Settings {
            port,
            table,
            dynamodb_endpoint,
            stages_file,
            stage,
            limits,
            jwt_secret,
            api_key,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAGES: &str = r#"{"stages":{"dev":{
        "throttle":{"rateLimit":50,"burstLimit":100},
        "methodThrottles":{"POST /v1/items":{"rateLimit":20,"burstLimit":40}},
        "usagePlan":{"rateLimit":10,"burstLimit":20,"quotaLimit":10000,"quotaPeriod":"DAY"}}}}"#;

    #[test]
    fn the_dev_stage_limits_are_read_from_the_stages_file() {
        let l = Limits::from_stages_json(STAGES, "dev").expect("limits");
        assert_eq!(l.throttle.rate_limit, 50.0);
        assert_eq!(l.usage_plan.quota_limit, 10000);
        assert_eq!(l.usage_plan.quota_period, QuotaPeriod::Day);
        assert_eq!(l.method_throttles["POST /v1/items"].burst_limit, 40.0);
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
    }

    #[test]
    fn flags_override_the_environment_and_the_file() {
        let env = |k: &str| match k {
            ENDPOINT_VAR => Some("http://127.0.0.1:8000".to_owned()),
            "LOCAL_THROTTLE_BURST" => Some("7".to_owned()),
            "PORT" => Some("4000".to_owned()),
            _ => None,
        };
        let args = ["--port", "0", "--quota-limit=3"].map(str::to_owned);
        let Command::Serve(s) = Settings::parse(args, env).expect("settings") else {
            panic!("not serve");
        };
        assert_eq!(s.port, 0);
        assert_eq!(s.limits.throttle.burst_limit, 7.0);
        assert_eq!(s.limits.usage_plan.quota_limit, 3);
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
    fn unknown_options_and_bad_numbers_are_usage_errors() {
        let env = |k: &str| (k == ENDPOINT_VAR).then(|| "http://127.0.0.1:1".to_owned());
        for args in [vec!["--bogus"], vec!["--port", "x"], vec!["--port"]] {
            let r = Settings::parse(args.iter().map(|s| (*s).to_owned()), env);
            assert!(matches!(r, Err(ConfigError::Usage(_))), "{args:?}");
        }
    }
}
