//! An emulation of the Lambda Runtime API on 127.0.0.1, as a custom runtime (`provided.al2023`)
//! sees it, and a supervisor for a `bootstrap` process running under it.
//!
//! Endpoints (API version 2018-06-01): `GET /runtime/invocation/next`,
//! `POST /runtime/invocation/{id}/response`, `POST /runtime/invocation/{id}/error`,
//! `POST /runtime/init/error`. <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("could not start the Runtime API: {0}")]
    Io(#[from] std::io::Error),
    #[error("the function did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the runtime went away before answering")]
    Gone,
}

/// What the function posted back for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Response(Vec<u8>),
    Error(Vec<u8>),
}

struct Pending {
    id: String,
    event: Vec<u8>,
    deadline: Duration,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct Shared {
    inflight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    first_poll: Mutex<Option<Instant>>,
    init_error: Mutex<Option<Vec<u8>>>,
}

/// The Runtime API server. One function process polls it at a time.
pub struct RuntimeApi {
    addr: SocketAddr,
    queue: mpsc::UnboundedSender<Pending>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("addr", &self.addr)
            .finish()
    }
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r
}

async fn serve(
    req: Request<Incoming>,
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Ok(reply(StatusCode::NOT_FOUND, "{}"));
    };
    if method == Method::GET && rest == "/invocation/next" {
        if let Ok(mut first) = shared.first_poll.lock() {
            first.get_or_insert_with(Instant::now);
        }
        let next = queue.lock().await.recv().await;
        let Some(p) = next else {
            return Ok(reply(StatusCode::GONE, "{}"));
        };
        let deadline_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| (d + p.deadline).as_millis())
            .unwrap_or_default();
        if let Ok(mut inflight) = shared.inflight.lock() {
            inflight.insert(p.id.clone(), p.reply);
        }
        let mut r = Response::new(Full::new(Bytes::from(p.event)));
        let h = r.headers_mut();
        let pairs = [
            ("lambda-runtime-aws-request-id", p.id.clone()),
            ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:000000000000:function:emulated".to_owned(),
            ),
            (
                "lambda-runtime-trace-id",
                format!(
                    "Root=1-00000000-{};Sampled=0",
                    p.id.replace('-', "")[..24].to_owned()
                ),
            ),
            ("content-type", "application/json".to_owned()),
        ];
        for (k, v) in pairs {
            if let Ok(v) = v.parse() {
                h.insert(k, v);
            }
        }
        return Ok(r);
    }
    if method == Method::POST {
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        if rest == "/init/error" {
            if let Ok(mut e) = shared.init_error.lock() {
                *e = Some(body);
            }
            return Ok(reply(StatusCode::ACCEPTED, "{\"status\":\"OK\"}"));
        }
        if let Some(tail) = rest.strip_prefix("/invocation/") {
            let (id, kind) = tail.rsplit_once('/').unwrap_or((tail, ""));
            let outcome = match kind {
                "response" => Outcome::Response(body),
                "error" => Outcome::Error(body),
                _ => return Ok(reply(StatusCode::NOT_FOUND, "{}")),
            };
            let waiter = shared.inflight.lock().ok().and_then(|mut m| m.remove(id));
            return Ok(match waiter {
                Some(tx) => {
                    let _ = tx.send(outcome);
                    reply(StatusCode::ACCEPTED, "{\"status\":\"OK\"}")
                }
                None => reply(
                    StatusCode::BAD_REQUEST,
                    "{\"errorMessage\":\"unknown request id\"}",
                ),
            });
        }
    }
    Ok(reply(StatusCode::NOT_FOUND, "{}"))
}

impl RuntimeApi {
    /// Listens on a free loopback port.
    pub async fn start() -> Result<Self, EmulatorError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let shared = Arc::new(Shared::default());
        let server_shared = Arc::clone(&shared);
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let rx = Arc::clone(&rx);
                let shared = Arc::clone(&server_shared);
                tokio::spawn(async move {
                    let svc =
                        service_fn(move |req| serve(req, Arc::clone(&rx), Arc::clone(&shared)));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            queue: tx,
            shared,
            server,
        })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// When the function first asked for an event: the end of its init phase.
    pub fn first_poll(&self) -> Option<Instant> {
        self.shared.first_poll.lock().ok().and_then(|g| *g)
    }

    /// Waits until the function has finished init and asked for its first event.
    pub async fn wait_for_first_poll(&self, timeout: Duration) -> Result<Instant, EmulatorError> {
        let start = Instant::now();
        loop {
            if let Some(t) = self.first_poll() {
                return Ok(t);
            }
            if start.elapsed() > timeout {
                return Err(EmulatorError::Timeout(timeout));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// What the function posted to `/init/error`, if anything.
    pub fn init_error(&self) -> Option<Vec<u8>> {
        self.shared.init_error.lock().ok().and_then(|g| g.clone())
    }

    /// Hands one event to the function and waits for its answer.
    pub async fn invoke(&self, event: &[u8], timeout: Duration) -> Result<Outcome, EmulatorError> {
        let (tx, rx) = oneshot::channel();
        let pending = Pending {
            id: uuid::Uuid::new_v4().to_string(),
            event: event.to_vec(),
            deadline: timeout,
            reply: tx,
        };
        self.queue.send(pending).map_err(|_| EmulatorError::Gone)?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err(EmulatorError::Gone),
            Err(_) => Err(EmulatorError::Timeout(timeout)),
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A Lambda architecture: where `make build ARCH=…` leaves its zips, and how this machine runs
/// its binaries (natively, or under qemu user-mode emulation when the machine is the other one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Arm64,
}

impl Arch {
    /// The name `make build ARCH=…` and `target/lambda/<arch>` use.
    pub fn name(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }

    /// This machine's architecture, when Lambda has it.
    pub fn host() -> Option<Self> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Self::X86_64),
            "aarch64" => Some(Self::Arm64),
            _ => None,
        }
    }

    /// `<repo>/target/lambda/<arch>`: where `make build ARCH=<arch>` leaves `<function>/bootstrap.zip`.
    pub fn lambda_dir(self, repo_root: &Path) -> std::path::PathBuf {
        repo_root.join("target/lambda").join(self.name())
    }

    /// Whether this machine runs the architecture's binaries under qemu.
    pub fn is_emulated(self) -> bool {
        Self::host() != Some(self)
    }

    /// The qemu user-mode emulator, the sysroot that Debian's `libc6-<debian arch>-cross` installs,
    /// and that Debian architecture name: what runs a dynamically linked Linux binary of this
    /// architecture on another machine.
    fn emulator(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::X86_64 => ("qemu-x86_64", "/usr/x86_64-linux-gnu", "amd64"),
            Self::Arm64 => ("qemu-aarch64", "/usr/aarch64-linux-gnu", "arm64"),
        }
    }
}

/// Unzips a function's `bootstrap.zip` into `dir` (created if needed), as the Lambda service
/// unpacks a deployment package, and returns the path of its `bootstrap`.
pub fn unpack_bootstrap(zip: &Path, dir: &Path) -> Result<std::path::PathBuf, EmulatorError> {
    std::fs::create_dir_all(dir)?;
    let status = std::process::Command::new("unzip")
        .args(["-q", "-o"])
        .arg(zip)
        .arg("-d")
        .arg(dir)
        .status()?;
    if !status.success() {
        return Err(EmulatorError::Io(std::io::Error::other(format!(
            "unzip {} failed",
            zip.display()
        ))));
    }
    Ok(dir.join("bootstrap"))
}

/// A `bootstrap` running as Lambda runs it: a clean environment holding only what the Lambda
/// service sets plus `extra`, pointed at `api`.
#[derive(Debug)]
pub struct FunctionProcess {
    child: Child,
    pub spawned_at: Instant,
    stdout: tokio::task::JoinHandle<String>,
    stderr: tokio::task::JoinHandle<String>,
}

/// Drains a pipe as the process writes, so a chatty process never blocks on a full pipe.
fn drain<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    pipe: Option<R>,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut bytes = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut bytes).await;
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

impl FunctionProcess {
    pub fn spawn(
        bootstrap: &Path,
        api: &RuntimeApi,
        function_name: &str,
        extra: &[(&str, &str)],
    ) -> Result<Self, EmulatorError> {
        let dir = bootstrap.parent().unwrap_or(Path::new("."));
        Self::spawn_program(bootstrap, &[], dir, api, function_name, extra)
    }

    /// [`FunctionProcess::spawn`] for a bootstrap built for `arch`: natively on a machine of that
    /// architecture, otherwise under qemu (`qemu-aarch64 -L /usr/aarch64-linux-gnu bootstrap`),
    /// invoked explicitly so that no binfmt_misc registration is needed.
    pub fn spawn_for(
        arch: Arch,
        bootstrap: &Path,
        api: &RuntimeApi,
        function_name: &str,
        extra: &[(&str, &str)],
    ) -> Result<Self, EmulatorError> {
        if !arch.is_emulated() {
            return Self::spawn(bootstrap, api, function_name, extra);
        }
        let (qemu, sysroot, debian) = arch.emulator();
        // The child's environment is cleared, so find qemu on this process's PATH.
        let program = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join(qemu))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                EmulatorError::Io(std::io::Error::other(format!(
                    "{qemu} is not installed: {} binaries run on this machine under qemu user-mode emulation (Debian packages qemu-user and libc6-{debian}-cross; make test installs them)",
                    arch.name()
                )))
            })?;
        if !Path::new(sysroot).join("lib").is_dir() {
            return Err(EmulatorError::Io(std::io::Error::other(format!(
                "{sysroot} is missing: the {} C library for qemu comes from Debian's libc6-{debian}-cross (make test installs it)",
                arch.name()
            ))));
        }
        let dir = bootstrap.parent().unwrap_or(Path::new("."));
        let binary = bootstrap.to_string_lossy();
        Self::spawn_program(
            &program,
            &["-L", sysroot, &binary],
            dir,
            api,
            function_name,
            extra,
        )
    }

    /// Runs any runtime the same way: e.g. `python -m awslambdaric module.handler` for the
    /// Python baseline. `dir` is the task root and working directory.
    pub fn spawn_program(
        program: &Path,
        args: &[&str],
        dir: &Path,
        api: &RuntimeApi,
        function_name: &str,
        extra: &[(&str, &str)],
    ) -> Result<Self, EmulatorError> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            // Static credentials, as Lambda provides them, and no metadata probing.
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("AWS_SESSION_TOKEN", "local")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("_HANDLER", "bootstrap")
            .env("TZ", ":UTC")
            .env("LANG", "en_US.UTF-8")
            .env("LAMBDA_TASK_ROOT", dir)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let spawned_at = Instant::now();
        let mut child = cmd.spawn()?;
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        Ok(Self {
            child,
            spawned_at,
            stdout,
            stderr,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// User plus system CPU time so far, in clock ticks (1/100 s on Linux).
    pub fn cpu_ticks(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()?)).ok()?;
        // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
        let after = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        Some(utime + stime)
    }

    /// Stops the process and returns everything it wrote (stdout, stderr) and its exit code.
    pub async fn stop(mut self) -> (String, String, Option<i32>) {
        let _ = self.child.start_kill();
        self.collect().await
    }

    /// Waits for the process to exit on its own (e.g. after a failed init).
    pub async fn wait_exit(self, timeout: Duration) -> Option<(String, String, Option<i32>)> {
        let mut this = self;
        match tokio::time::timeout(timeout, this.child.wait()).await {
            Ok(_) => Some(this.collect().await),
            Err(_) => None,
        }
    }

    async fn collect(mut self) -> (String, String, Option<i32>) {
        let status = self.child.wait().await.ok().and_then(|s| s.code());
        let out = self.stdout.await.unwrap_or_default();
        let err = self.stderr.await.unwrap_or_default();
        (out, err, status)
    }
}
