//! `galleon watch`, the real binary, as a sink a test reads line by line.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::{PATIENCE, galleon_binary};

/// A running `galleon watch`, one JSON object per push.
pub struct WatchCli {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl WatchCli {
    /// Watches `collection` at `url` over MCP.
    pub fn start(url: &str, collection: &str) -> Self {
        Self::start_with(&["--addr", url, "--collection", collection])
    }

    /// `galleon watch ARGS`.
    pub fn start_with(args: &[&str]) -> Self {
        let mut child = Command::new(galleon_binary())
            .arg("watch")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("run galleon watch");
        let lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        Self {
            _child: child,
            lines,
        }
    }

    /// The next push it prints.
    pub async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(PATIENCE, self.lines.next_line())
            .await
            .expect("galleon watch printed a push in time")
            .expect("read its output")
            .expect("galleon watch is still running");
        serde_json::from_str(&line).expect("each line is JSON")
    }

    /// The resource names of the next push.
    pub async fn next_names(&mut self) -> Vec<String> {
        let push = self.next().await;
        push["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["name"].as_str().map(str::to_owned))
            .collect()
    }
}
