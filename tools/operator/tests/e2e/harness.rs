//! moto's server on a free loopback port (started per test, stopped on drop), the operator binary
//! run with static credentials against it, and SDK clients to arrange a stage in it.
//! Nothing here reaches AWS: every endpoint is 127.0.0.1.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// A free port on 127.0.0.1 (bound, then released for the server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

pub struct Moto {
    child: Child,
    pub endpoint: String,
    log: PathBuf,
}

impl Moto {
    /// Starts `.venv/bin/moto_server` (requirements-dev.txt; scripts/setup.sh installs it) with
    /// TOTP checking on, and waits until it answers.
    pub fn start() -> Self {
        let server = repo_root().join(".venv/bin/moto_server");
        assert!(
            server.exists(),
            "{} is missing: run scripts/setup.sh (it installs moto[server] from requirements-dev.txt)",
            server.display()
        );
        let port = free_port();
        let log = std::env::temp_dir().join(format!("operator-moto-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("moto log file");
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")
            .env_remove("AWS_ENDPOINT_URL")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start moto_server");
        let moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if http_get(port, "/moto-api/").is_some() {
                return moto;
            }
            thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "moto_server did not answer on port {port} within 60 s; its log: {}",
            std::fs::read_to_string(&moto.log).unwrap_or_default()
        );
    }

    /// SDK configuration for arranging fixtures in `region`.
    pub fn sdk(&self, region: &str) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                    "testing", "testing", None, None, "static",
                )),
            )
            .endpoint_url(&self.endpoint)
            .build()
    }

    /// The operator binary with static credentials, this server for every service, and the
    /// instance-metadata service pointed at a closed loopback port.
    pub fn operator(&self, region: &str) -> Command {
        let mut cmd = operator_bare();
        cmd.env("AWS_REGION", region)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ENDPOINT_URL", &self.endpoint);
        cmd
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The operator binary in the repository root with an empty environment: no credentials, no
/// region, no AWS config files, instance metadata at a closed loopback port.
pub fn operator_bare() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_operator"));
    let home = std::env::temp_dir().join("operator-test-home-without-aws");
    std::fs::create_dir_all(&home).expect("empty home");
    cmd.current_dir(repo_root())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://127.0.0.1:{}", closed_port()),
        );
    cmd
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    free_port()
}

pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// stderr without the progress line every AWS command starts with ("AWS account … in … as …").
    pub fn failure(&self) -> String {
        self.stderr
            .lines()
            .filter(|l| !l.starts_with("AWS account "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Asserts that stderr contains `needle` (showing all of stderr when it does not).
    #[track_caller]
    pub fn says(&self, needle: &str) {
        assert!(self.stderr.contains(needle), "{}", self.stderr);
    }

    /// Asserts the exit status, then that stderr contains `needle`.
    #[track_caller]
    pub fn expect(&self, status: i32, needle: &str) {
        assert_eq!(self.status, status, "{}", self.stderr);
        self.says(needle);
    }
}

pub fn run(mut cmd: Command) -> Run {
    let start = Instant::now();
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.stdin(Stdio::null()).output().expect("run the operator");
    Run {
        status: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// GET on loopback; Some(body) on any HTTP answer.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    body.starts_with("HTTP/").then_some(body)
}

/// A loopback HTTP server that answers every request with `status` and `body`, and keeps each
/// request's head (request line and headers). Runs until the test ends.
pub struct Recorder {
    pub url: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

pub fn recorder(status: &'static str, body: &'static str) -> Recorder {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n")
                && stream.read(&mut byte).map(|n| n == 1).unwrap_or(false)
            {
                head.push(byte[0]);
            }
            seen.lock()
                .expect("lock")
                .push(String::from_utf8_lossy(&head).into_owned());
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Recorder { url, requests }
}

/// A loopback port that accepts connections and never answers (a black hole).
pub fn silent_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}
