//! The real `galleon` binary as a child process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::PATIENCE;

/// The `galleon` binary built by this `cargo test` run (the host package's
/// own integration tests make cargo build it before any test runs).
pub fn galleon_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let binary = profile_dir.join(format!("galleon{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} not built: run the tests with `cargo test --workspace`",
        binary.display()
    );
    binary
}

/// `galleon` built now in the profile of the running build (release under
/// `cargo bench`, so a benchmark's figures are of this source; debug in a
/// quick `cargo test --bench` run), then [`galleon_binary`].
pub fn built_galleon() -> PathBuf {
    let profile: &[&str] = if cfg!(debug_assertions) {
        &[]
    } else {
        &["--release"]
    };
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "-p", "galleon", "--bin", "galleon"])
        .args(profile)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building galleon failed");
    galleon_binary()
}

/// `--admin-addr 127.0.0.1:0` unless `args` name an admin address: tests
/// run side by side, so none takes the default port.
fn ephemeral_admin(args: &[&str]) -> Vec<&'static str> {
    if args.contains(&"--admin-addr") {
        Vec::new()
    } else {
        vec!["--admin-addr", "127.0.0.1:0"]
    }
}

/// A running `galleon serve`, its addresses read from its ready log line.
pub struct Galleon {
    child: Child,
    /// A copy of the binary it runs from, if any (removed with it).
    _copy: Option<tempfile::TempDir>,
    /// Where it serves MCP.
    pub addr: SocketAddr,
    /// Where it serves its admin endpoints.
    pub admin: SocketAddr,
    /// Where it serves its admission webhook, if it does.
    admission: Option<SocketAddr>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Galleon {
    /// Runs `galleon serve ARGS` and waits until it is serving.
    pub async fn serve(args: &[&str]) -> Self {
        Self::serve_in(&std::env::current_dir().expect("working directory"), args).await
    }

    /// Runs `galleon serve --files FILES` on a free MCP port.
    pub async fn serve_files(files: &Path) -> Self {
        let files = files.to_str().expect("a UTF-8 path");
        Self::serve(&["--files", files, "--mcp-addr", "127.0.0.1:0"]).await
    }

    /// Runs `galleon serve ARGS` in directory `dir`.
    pub async fn serve_in(dir: &Path, args: &[&str]) -> Self {
        Self::serve_logged(dir, args, "info").await
    }

    /// Runs `galleon serve ARGS` in `dir` with `RUST_LOG=rust_log`.
    pub async fn serve_logged(dir: &Path, args: &[&str], rust_log: &str) -> Self {
        let mut command = Command::new(galleon_binary());
        command.arg("serve").args(args).args(ephemeral_admin(args));
        Self::spawn(command, dir, rust_log, args).await
    }

    /// Runs `galleon serve ARGS` in `dir` with at most `files` open files
    /// (soft and hard limit, set by the shell).
    pub async fn serve_with_file_limit(dir: &Path, args: &[&str], files: u32) -> Self {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -n {files} && exec \"$0\" serve \"$@\""))
            .arg(galleon_binary())
            .args(args)
            .args(ephemeral_admin(args));
        Self::spawn(command, dir, "info", args).await
    }

    /// Runs `galleon serve ARGS` in `dir` as user and group `nobody` (65534),
    /// from a copy of the binary any user can run.
    pub async fn serve_as_nobody(dir: &Path, args: &[&str]) -> Self {
        let bin = tempfile::Builder::new()
            .prefix("galleon-bin")
            .tempdir()
            .expect("temp dir");
        let galleon = bin.path().join("galleon");
        std::fs::copy(galleon_binary(), &galleon).expect("copy the binary");
        for path in [bin.path(), galleon.as_path()] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&galleon)
            .arg("serve")
            .args(args)
            .args(ephemeral_admin(args));
        let mut served = Self::spawn(command, dir, "info", args).await;
        served._copy = Some(bin);
        served
    }

    async fn spawn(mut command: Command, dir: &Path, rust_log: &str, args: &[&str]) -> Self {
        let mut child = command
            .current_dir(dir)
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start galleon serve");
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let sink = log.clone();
        tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("galleon is serving MCP") {
                    let addr = |name| field(&line, name).and_then(|a| a.parse::<SocketAddr>().ok());
                    if let (Some(tx), Some(mcp), Some(admin)) =
                        (ready.take(), addr("address"), addr("admin"))
                    {
                        let _ = tx.send((mcp, admin, addr("admission")));
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let (addr, admin, admission) = match tokio::time::timeout(PATIENCE, ready_rx).await {
            Ok(Ok(addrs)) => addrs,
            _ => panic!(
                "galleon serve {args:?} did not become ready; log:\n{}",
                log.lock().unwrap().join("\n")
            ),
        };
        Self {
            child,
            _copy: None,
            addr,
            admin,
            admission,
            log,
        }
    }

    /// The address of its admission webhook, when configured.
    pub fn admission_addr(&self) -> SocketAddr {
        self.admission
            .expect("the hub serves an admission webhook (admission: in its config)")
    }

    /// `http://` URL of its MCP server.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `GET path` on its admin server: the status code and the body.
    pub async fn admin_get(&self, path: &str) -> (u16, String) {
        crate::http_get(self.admin, path).await
    }

    /// `POST path` (no body) on its admin server: the status code and the
    /// body.
    pub async fn admin_post(&self, path: &str) -> (u16, String) {
        crate::http_post(self.admin, path).await
    }

    /// Polls `GET path` on its admin server until the body holds every one
    /// of `needles`; returns that body (panics after [`PATIENCE`]).
    pub async fn wait_for_admin(&self, path: &str, needles: &[&str]) -> String {
        let found = tokio::time::timeout(PATIENCE, async {
            loop {
                let (status, body) = self.admin_get(path).await;
                if status == 200 && needles.iter().all(|n| body.contains(n)) {
                    return body;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await;
        match found {
            Ok(body) => body,
            Err(_) => panic!(
                "{path} never showed {needles:?}: {}",
                self.admin_get(path).await.1
            ),
        }
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Log lines containing every one of `needles`.
    pub fn log_lines(&self, needles: &[&str]) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .cloned()
            .collect()
    }

    /// Waits until a log line contains every one of `needles`.
    pub async fn wait_for_log(&self, needles: &[&str]) -> String {
        let found = tokio::time::timeout(PATIENCE, async {
            loop {
                let hit = self
                    .log
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|l| needles.iter().all(|n| l.contains(n)))
                    .cloned();
                if let Some(line) = hit {
                    return line;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no log line with {needles:?}; log:\n{}", self.log()))
    }

    /// Sends a signal (`HUP`, `TERM`, ...).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// The value of counter or gauge `name` on its `/metrics` (0 while it
    /// is not reported yet).
    pub async fn metric(&self, name: &str) -> u64 {
        let (_, metrics) = self.admin_get("/metrics").await;
        let prefix = format!("{name} ");
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// Stops it with SIGTERM and returns whether it exited cleanly (within
    /// the test's patience).
    pub async fn stop(self) -> bool {
        self.stop_logged().await.0
    }

    /// [`Galleon::stop`], and everything it logged until it exited.
    pub async fn stop_logged(mut self) -> (bool, String) {
        self.signal("TERM");
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("exits after SIGTERM");
        // The log reader may still hold the last lines.
        tokio::time::sleep(Duration::from_millis(100)).await;
        (status.expect("exit status").success(), self.log())
    }
}

/// Runs `galleon ARGS` to its end (at most the test's patience) and returns
/// its exit status and what it wrote to stderr.
pub async fn run_galleon(args: &[&str]) -> (std::process::ExitStatus, String) {
    let child = Command::new(galleon_binary())
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start galleon");
    let output = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("galleon {args:?} did not exit"))
        .expect("galleon output");
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `galleon ARGS` to its end (at most the test's patience): its exit
/// status, stdout and stderr.
pub async fn run_galleon_output(args: &[&str]) -> std::process::Output {
    let run = Command::new(galleon_binary())
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(PATIENCE, run)
        .await
        .unwrap_or_else(|_| panic!("galleon {args:?} did not exit"))
        .expect("run galleon")
}

/// Runs `galleon ARGS`: its exit status and what it printed (stdout, then
/// stderr).
pub async fn run_galleon_out(args: &[&str]) -> (std::process::ExitStatus, String) {
    let output = run_galleon_output(args).await;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status, text)
}

/// The value of `key=value` in a log line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("{key}="))? + key.len() + 1;
    line[start..].split_whitespace().next()
}

/// Writes `content` to `dir/name` atomically (write aside, then rename), as
/// editors and configuration management tools do.
pub fn write_atomically(dir: &Path, name: &str, content: impl AsRef<[u8]>) {
    let aside = dir.join(format!(".{name}.tmp"));
    std::fs::write(&aside, content.as_ref()).expect("write");
    std::fs::rename(&aside, dir.join(name)).expect("rename");
}
