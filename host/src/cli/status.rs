//! `galleon status`: what `istioctl proxy-status` prints, for galleon. Reads
//! the admin server's `/debug/sinks`, `/debug/snapshots` and
//! `/debug/diagnostics` and prints every sink's sync state per collection
//! (or xDS type), then the current problems with the input.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Args;
use galleon_hub::admin::api::{CollectionStatus, PublishedCollection, ScopedProblem, SinkStatus};
use galleon_mcp::quote::escaped;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

#[derive(Debug, Args)]
pub(super) struct StatusArgs {
    /// Address of the hub's admin server.
    #[arg(long, default_value = "127.0.0.1:9902")]
    admin_addr: SocketAddr,
}

pub(super) async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let get = |path: &'static str| {
        let client = client.clone();
        let uri = format!("http://{}{path}", args.admin_addr);
        async move {
            let response = client
                .get(uri.parse()?)
                .await
                .with_context(|| format!("cannot reach the admin server at {uri}"))?;
            if !response.status().is_success() {
                bail!("{uri}: {}", response.status());
            }
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok(body)
        }
    };
    let sinks: Vec<SinkStatus> = serde_json::from_slice(&get("/debug/sinks").await?)?;
    let published: Vec<PublishedCollection> =
        serde_json::from_slice(&get("/debug/snapshots").await?)?;
    let problems: Vec<ScopedProblem> = serde_json::from_slice(&get("/debug/diagnostics").await?)?;
    let text = render(&sinks, &published, &problems);
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(())
}

/// The sync table, then the problems.
fn render(
    sinks: &[SinkStatus],
    published: &[PublishedCollection],
    problems: &[ScopedProblem],
) -> String {
    let latest: HashMap<(&str, &str), &str> = published
        .iter()
        .map(|p| {
            (
                (p.group.as_str(), p.collection.as_str()),
                p.version.as_str(),
            )
        })
        .collect();
    let mut rows = vec![[
        "NODE".to_owned(),
        "STREAM".into(),
        "PEER".into(),
        "PROTOCOL".into(),
        "COLLECTION".into(),
        "ACKED".into(),
        "LATEST".into(),
        "STATUS".into(),
    ]];
    for sink in sinks {
        let mut collections: Vec<_> = sink.collections.iter().collect();
        collections.sort_by_key(|(name, _)| name.as_str());
        for (name, status) in collections {
            let served = status.collection.as_deref().unwrap_or(name);
            let latest = latest.get(&(status.group.as_str(), served)).copied();
            rows.push([
                escaped(&sink.node_id, CELL),
                sink.stream.to_string(),
                sink.peer
                    .as_deref()
                    .map_or_else(|| "-".into(), |p| escaped(p, CELL)),
                escaped(&sink.protocol, CELL),
                escaped(name, CELL),
                short(status.acked_version.as_deref()),
                short(latest),
                state(status, latest),
            ]);
        }
    }
    let mut widths = [0; 8];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| padded(cell, width))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    if sinks.is_empty() {
        out.push_str("(no sinks connected)\n");
    }
    if problems.is_empty() {
        out.push_str("\nno problems with the input\n");
    } else {
        let _ = writeln!(out, "\n{} problems with the input:", problems.len());
        for problem in problems {
            let problem = &problem.problem;
            let _ = writeln!(
                out,
                "  {}: {}",
                escaped(&problem.location, LINE),
                escaped(&problem.message, LINE)
            );
        }
    }
    out
}

/// The widest a table cell gets: node ids and type URLs come from sinks.
const CELL: usize = 120;
/// The longest a problem's location or message is printed.
const LINE: usize = 1_000;

/// `cell` padded with spaces to `width` characters (`format!`'s width
/// cannot take any length).
fn padded(cell: &str, width: usize) -> String {
    let mut padded = cell.to_owned();
    padded.extend(std::iter::repeat_n(
        ' ',
        width.saturating_sub(cell.chars().count()),
    ));
    padded
}

fn short(version: Option<&str>) -> String {
    version.map_or_else(|| "-".into(), |v| v.chars().take(8).collect())
}

fn state(status: &CollectionStatus, latest: Option<&str>) -> String {
    if let Some(nack) = &status.nack {
        let message = escaped(&nack.message, CELL);
        return format!("NACKED {}: {message}", short(Some(&nack.version)));
    }
    if status.pending_version.is_some() {
        return "SENT".into();
    }
    match (status.acked_version.as_deref(), latest) {
        (Some(acked), Some(latest)) if acked == latest => "SYNCED".into(),
        (Some(_), _) => "STALE".into(),
        (None, _) => "NOT SENT".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(node_id: String, type_url: String) -> SinkStatus {
        let status = CollectionStatus {
            group: "default".into(),
            acked_version: Some("v1".into()),
            ..CollectionStatus::default()
        };
        SinkStatus {
            stream: 1,
            node_id,
            peer: None,
            protocol: "mcp".into(),
            connected_since: 0,
            collections: [(type_url, status)].into(),
        }
    }

    #[test]
    fn sink_strings_of_any_length_are_escaped_and_bounded() {
        let forged = format!("a\x1b[2J\nSYNCED {}", "x".repeat(70_000));
        let table = render(&[sink(forged.clone(), forged)], &[], &[]);
        assert!(
            !table.contains('\x1b'),
            "no escape sequence reaches the terminal"
        );
        assert_eq!(table.lines().count(), 4, "one header, one row: {table}");
        assert!(table.lines().all(|line| line.chars().count() < 1_000));
    }
}
