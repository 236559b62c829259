//! `galleon status`: what `istioctl proxy-status` prints, for galleon. Reads
//! the admin server's `/debug/sinks`, `/debug/snapshots`, `/debug/pins` and
//! `/debug/diagnostics`; prints every sink's sync state per collection (or
//! xDS type), the rollbacks in force and the current problems with the input (`-o text|json|yaml`),
//! and says in its exit code whether all is well (1: the hub unreadable,
//! 2: a usage error): 0 every sink synced and
//! no error in the input (warnings are printed, not counted), 3 a sink
//! NACKed or is behind, 4 the input has errors (something was kept out).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;
use galleon_hub::admin::api::Severity;
use galleon_hub::admin::api::{
    AnalysisMessage, CollectionStatus, PinStatus, PublishedCollection, ScopedProblem, SinkStatus,
};
use galleon_mcp::quote::escaped;
use serde::Serialize;

use super::admin_client::AdminAddr;
use super::output::{self, Format};

/// Exit code: a sink NACKed, or has not ACKed the latest version.
const SINK_BEHIND: u8 = 3;
/// Exit code: the input has errors (something was kept out).
const INPUT_PROBLEMS: u8 = 4;

#[derive(Debug, Args)]
pub(super) struct StatusArgs {
    #[command(flatten)]
    admin: AdminAddr,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

/// What `galleon status` reports.
#[derive(Debug, Serialize)]
struct Status {
    /// One row per sink and collection (or xDS type).
    sinks: Vec<SinkRow>,
    /// The current problems with the input.
    problems: Vec<ScopedProblem>,
    /// The analyzers' current messages.
    analysis: Vec<AnalysisMessage>,
    /// Collections a rollback pins to an earlier version.
    pins: Vec<PinStatus>,
}

/// One sink's state for one collection.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SinkRow {
    node: String,
    stream: u64,
    peer: Option<String>,
    protocol: String,
    collection: String,
    acked_version: Option<String>,
    latest_version: Option<String>,
    state: State,
    /// Why the sink rejected its last push, when it did.
    nack: Option<String>,
}

/// Where a sink stands on a collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum State {
    /// It ACKed the latest version.
    Synced,
    /// A push is in flight.
    Sent,
    /// It ACKed an older version.
    Stale,
    /// It NACKed the latest push.
    Nacked,
    /// Nothing was sent yet.
    NotSent,
}

pub(super) async fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let admin = args.admin.client()?;
    let sinks: Vec<SinkStatus> = admin.get_json("/debug/sinks").await?;
    let published: Vec<PublishedCollection> = admin.get_json("/debug/snapshots").await?;
    let problems: Vec<ScopedProblem> = admin.get_json("/debug/diagnostics").await?;
    let analysis: Vec<AnalysisMessage> = admin.get_json("/debug/analysis").await?;
    let pins: Vec<PinStatus> = admin.get_json("/debug/pins").await?;
    let status = Status {
        sinks: rows(&sinks, &published),
        problems,
        analysis,
        pins,
    };
    output::print(args.output, &status, render)?;
    Ok(exit_code(&status))
}

/// 0 when all is well; else what is wrong, the input first.
fn exit_code(status: &Status) -> ExitCode {
    let errors = status
        .problems
        .iter()
        .any(|p| p.problem.severity == Severity::Error);
    if errors {
        return ExitCode::from(INPUT_PROBLEMS);
    }
    let behind = status
        .sinks
        .iter()
        .any(|row| matches!(row.state, State::Nacked | State::Stale));
    if behind {
        ExitCode::from(SINK_BEHIND)
    } else {
        ExitCode::SUCCESS
    }
}

/// The rows of every sink, by collection.
fn rows(sinks: &[SinkStatus], published: &[PublishedCollection]) -> Vec<SinkRow> {
    let latest: HashMap<(&str, &str), &str> = published
        .iter()
        .map(|p| {
            (
                (p.group.as_str(), p.collection.as_str()),
                p.version.as_str(),
            )
        })
        .collect();
    let mut rows = Vec::new();
    for sink in sinks {
        for (name, status) in &sink.collections {
            let served = status.collection.as_deref().unwrap_or(name);
            let latest = latest.get(&(status.group.as_str(), served)).copied();
            rows.push(SinkRow {
                node: sink.node_id.clone(),
                stream: sink.stream,
                peer: sink.peer.clone(),
                protocol: sink.protocol.to_string(),
                collection: name.clone(),
                acked_version: status.acked_version.clone(),
                latest_version: latest.map(str::to_owned),
                state: state(status, latest),
                nack: status.nack.as_ref().map(|n| n.message.clone()),
            });
        }
    }
    rows.sort_by(|a, b| (a.stream, &a.collection).cmp(&(b.stream, &b.collection)));
    rows
}

fn state(status: &CollectionStatus, latest: Option<&str>) -> State {
    if status.nack.is_some() {
        return State::Nacked;
    }
    if status.pending_version.is_some() {
        return State::Sent;
    }
    match (status.acked_version.as_deref(), latest) {
        (Some(acked), Some(latest)) if acked == latest => State::Synced,
        (Some(_), _) => State::Stale,
        (None, _) => State::NotSent,
    }
}

/// The widest a table cell gets: node ids and type URLs come from sinks.
const CELL: usize = 120;
/// The longest a problem's location or message is printed.
const LINE: usize = 1_000;

/// The sync table, then the problems. Everything a sink or the input
/// sent is escaped and bounded.
fn render(status: &Status) -> String {
    let mut table = vec![
        [
            "NODE",
            "STREAM",
            "PEER",
            "PROTOCOL",
            "COLLECTION",
            "ACKED",
            "LATEST",
            "STATUS",
        ]
        .map(str::to_owned),
    ];
    for row in &status.sinks {
        let state = match (row.state, &row.nack) {
            (State::Nacked, Some(message)) => format!("NACKED: {}", escaped(message, CELL)),
            (state, _) => state_name(state).to_owned(),
        };
        table.push([
            escaped(&row.node, CELL),
            row.stream.to_string(),
            row.peer
                .as_deref()
                .map_or_else(|| "-".into(), |p| escaped(p, CELL)),
            escaped(&row.protocol, CELL),
            escaped(&row.collection, CELL),
            short(row.acked_version.as_deref()),
            short(row.latest_version.as_deref()),
            state,
        ]);
    }
    let mut widths = [0; 8];
    for row in &table {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &table {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| padded(cell, width))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    if status.sinks.is_empty() {
        out.push_str("(no sinks connected)\n");
    }
    for pin in &status.pins {
        out.push_str("\nROLLED BACK: ");
        out.push_str(&super::history::pin_text(pin));
    }
    if status.problems.is_empty() {
        out.push_str("\nno problems with the input\n");
    } else {
        let count = status.problems.len();
        let noun = if count == 1 { "problem" } else { "problems" };
        let _ = writeln!(out, "\n{count} {noun} with the input:");
        for problem in &status.problems {
            let problem = &problem.problem;
            let severity = match problem.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let _ = writeln!(
                out,
                "  {severity}: {}: {}",
                escaped(&problem.location, LINE),
                escaped(&problem.message, LINE)
            );
        }
    }
    if !status.analysis.is_empty() {
        let count = |level: &str| status.analysis.iter().filter(|m| m.level == level).count();
        let _ = writeln!(
            out,
            "\n{} analysis messages ({} errors, {} warnings, {} info):",
            status.analysis.len(),
            count("Error"),
            count("Warning"),
            count("Info")
        );
        for message in &status.analysis {
            let _ = writeln!(
                out,
                "  {}",
                escaped(&galleon_hub::analysis::line(message), LINE)
            );
        }
    }
    out
}

fn state_name(state: State) -> &'static str {
    match state {
        State::Synced => "SYNCED",
        State::Sent => "SENT",
        State::Stale => "STALE",
        State::Nacked => "NACKED",
        State::NotSent => "NOT SENT",
    }
}

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
            connected_since: String::new(),
            collections: [(type_url, status)].into(),
        }
    }

    #[test]
    fn sink_strings_of_any_length_are_escaped_and_bounded() {
        let forged = format!("a\x1b[2J\nSYNCED {}", "x".repeat(70_000));
        let status = Status {
            analysis: Vec::new(),
            pins: Vec::new(),
            sinks: rows(&[sink(forged.clone(), forged)], &[]),
            problems: Vec::new(),
        };
        let table = render(&status);
        assert!(
            !table.contains('\x1b'),
            "no escape sequence reaches the terminal"
        );
        assert_eq!(table.lines().count(), 4, "one header, one row: {table}");
        assert!(table.lines().all(|line| line.chars().count() < 1_000));
    }

    #[test]
    fn the_exit_code_says_what_is_wrong() {
        let published = |version: &str| PublishedCollection {
            group: "default".into(),
            collection: "c".into(),
            version: version.into(),
            resources: 1,
            published_at: String::new(),
        };
        let status = |latest: &str, problems: Vec<ScopedProblem>| Status {
            analysis: Vec::new(),
            pins: Vec::new(),
            sinks: rows(&[sink("n".into(), "c".into())], &[published(latest)]),
            problems,
        };
        assert_eq!(exit_code(&status("v1", Vec::new())), ExitCode::SUCCESS);
        assert_eq!(
            exit_code(&status("v2", Vec::new())),
            ExitCode::from(SINK_BEHIND)
        );
        let problem = ScopedProblem {
            scope: "a.yaml".into(),
            problem: galleon_hub::admin::api::Problem::new("a.yaml", "bad"),
        };
        assert_eq!(
            exit_code(&status("v1", vec![problem.clone()])),
            ExitCode::from(INPUT_PROBLEMS)
        );
        let warning = ScopedProblem {
            problem: galleon_hub::admin::api::Problem::warning("a.yaml", "odd"),
            ..problem
        };
        assert_eq!(
            exit_code(&status("v1", vec![warning])),
            ExitCode::SUCCESS,
            "a warning is printed, not counted"
        );
    }
}
