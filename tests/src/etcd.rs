//! A real etcd (Debian's `etcd-server`) on loopback ports of its own, in a
//! temporary data directory that outlives kills and restarts, driven with
//! `etcdctl` (Debian's `etcd-client`) as a user would. `.ci/toolchains`
//! installs both.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// One etcd member.
pub struct Etcd {
    dir: TempDir,
    client_port: u16,
    peer_port: u16,
    /// The cluster token (its id derives from it).
    token: String,
    child: Option<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl Etcd {
    /// Starts a fresh member and waits until it answers.
    pub fn start() -> Self {
        let mut etcd = Self {
            dir: tempfile::tempdir().expect("temp dir"),
            client_port: free_port(),
            peer_port: free_port(),
            token: "galleon-test".into(),
            child: None,
        };
        etcd.restart();
        etcd
    }

    /// Its client URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// Kills it (SIGKILL: no goodbye to its clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same ports and data, and waits until it
    /// answers.
    pub fn restart(&mut self) {
        self.kill();
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let client = self.endpoint();
        let log = std::fs::File::create(self.dir.path().join("etcd.log")).unwrap();
        let child = Command::new("etcd")
            .args(["--name", "test", "--data-dir"])
            .arg(self.dir.path().join("data"))
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("test={peer}")])
            .args(["--initial-cluster-token", &self.token])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd runs (Debian package etcd-server; .ci/toolchains installs it)");
        self.child = Some(child);
        let started = Instant::now();
        while self.etcdctl(&["endpoint", "health"]).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "etcd did not become healthy: {}",
                std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Replaces it with a new, empty cluster on the same ports (another
    /// cluster id, history starting again at revision 1), as a rebuilt
    /// cluster or a restored snapshot would be, and waits until it answers.
    pub fn replace_with_new_cluster(&mut self) {
        self.kill();
        std::fs::remove_dir_all(self.dir.path().join("data")).expect("remove the data directory");
        self.token.push_str("-new");
        self.restart();
    }

    /// Runs `etcdctl ARGS` against it; its stdout, or why it failed.
    pub fn etcdctl<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Result<String, String> {
        self.etcdctl_with_input(args, None)
    }

    fn etcdctl_with_input<S: AsRef<std::ffi::OsStr>>(
        &self,
        args: &[S],
        input: Option<&str>,
    ) -> Result<String, String> {
        use std::io::Write;
        let mut child = Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .args(["--endpoints", &self.endpoint(), "--dial-timeout", "1s"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("etcdctl runs (Debian package etcd-client; .ci/toolchains installs it)");
        let mut stdin = child.stdin.take().unwrap();
        if let Some(input) = input {
            stdin.write_all(input.as_bytes()).unwrap();
        }
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// `etcdctl put KEY` with the value on stdin (multi-line YAML as is).
    pub fn try_put(&self, key: &str, value: &str) -> Result<(), String> {
        self.etcdctl_with_input(&["put", key], Some(value))
            .map(drop)
    }

    /// Puts under a key of any bytes (not UTF-8 ones too).
    pub fn put_bytes(&self, key: &[u8], value: &str) {
        use std::os::unix::ffi::OsStrExt;
        let args = [
            std::ffi::OsStr::new("put"),
            std::ffi::OsStr::from_bytes(key),
        ];
        self.etcdctl_with_input(&args, Some(value))
            .unwrap_or_else(|e| panic!("etcdctl put {}: {e}", key.escape_ascii()));
    }

    /// Deletes a key of any bytes.
    pub fn delete_bytes(&self, key: &[u8]) {
        use std::os::unix::ffi::OsStrExt;
        let args = [
            std::ffi::OsStr::new("del"),
            std::ffi::OsStr::from_bytes(key),
        ];
        self.etcdctl(&args)
            .unwrap_or_else(|e| panic!("etcdctl del {}: {e}", key.escape_ascii()));
    }

    /// Every key under `prefix` and its value, as etcd holds them now.
    pub fn get_prefix(&self, prefix: &str) -> Vec<(Vec<u8>, String)> {
        use base64::Engine;
        let out = self
            .etcdctl(&["get", "--prefix", prefix, "-w", "json"])
            .expect("etcdctl get");
        let out: serde_json::Value = serde_json::from_str(&out).expect("etcdctl JSON");
        let decode = |v: &serde_json::Value| {
            base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or_default())
                .expect("base64 from etcdctl")
        };
        out["kvs"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|kv| {
                (
                    decode(&kv["key"]),
                    String::from_utf8_lossy(&decode(&kv["value"])).into_owned(),
                )
            })
            .collect()
    }

    /// Puts, and panics if etcd refuses.
    pub fn put(&self, key: &str, value: &str) {
        self.try_put(key, value)
            .unwrap_or_else(|e| panic!("etcdctl put {key}: {e}"));
    }

    /// `etcdctl del KEY`.
    pub fn delete(&self, key: &str) {
        self.etcdctl(&["del", key])
            .unwrap_or_else(|e| panic!("etcdctl del {key}: {e}"));
    }

    /// The store's current revision.
    pub fn revision(&self) -> i64 {
        let status = self
            .etcdctl(&["endpoint", "status", "-w", "json"])
            .expect("etcdctl endpoint status");
        let status: serde_json::Value = serde_json::from_str(&status).expect("status JSON");
        status[0]["Status"]["header"]["revision"]
            .as_i64()
            .unwrap_or_else(|| panic!("no revision in {status}"))
    }

    /// Compacts history up to the current revision.
    pub fn compact(&self) {
        let revision = self.revision().to_string();
        self.etcdctl(&["compact", &revision])
            .unwrap_or_else(|e| panic!("etcdctl compact: {e}"));
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.kill();
    }
}
