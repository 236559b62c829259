//! `galleon history`, `galleon diff` and `galleon rollback`: what a running
//! hub published, what changed between two versions, and putting an
//! earlier version back, through its admin server (`/debug/history…`,
//! `POST /debug/rollback`, `POST /debug/release`).
//!
//! Versions are named as the admin server takes them: a version or a
//! unique prefix of one, `@0` (the newest), `@-N` (N before it), or an
//! RFC 3339 time (the version published then).

use std::fmt::Write as _;

use clap::Args;
use galleon_hub::admin::api::{
    CollectionHistory, HistoryDiff, HistorySummary, PinStatus, ResourceDiff,
};
use galleon_mcp::cache::short;
use galleon_mcp::quote::escaped;
use serde_json::Value;

use super::admin_client::{AdminAddr, AdminClient};
use super::output::{self, Format};

/// The longest a cause or message is printed.
const LINE: usize = 300;
/// The longest a line of a diff is printed.
const DIFF_LINE: usize = 4_000;

/// The admin server every command here talks to.
#[derive(Debug, Args)]
pub(super) struct AdminArgs {
    #[command(flatten)]
    addr: AdminAddr,
    /// The snapshot group, when the collection is published in several.
    #[arg(long)]
    group: Option<String>,
}

impl AdminArgs {
    fn client(&self) -> anyhow::Result<AdminClient> {
        self.addr.client()
    }

    /// `path?` with `params` (and the group) as a query.
    fn query(&self, path: &str, params: &[(&str, &str)]) -> anyhow::Result<String> {
        let mut all: Vec<(&str, &str)> = params.to_vec();
        if let Some(group) = &self.group {
            all.push(("group", group));
        }
        Ok(format!("{path}?{}", serde_urlencoded::to_string(&all)?))
    }
}

#[derive(Debug, Args)]
pub(super) struct HistoryArgs {
    /// The collection (every collection's newest version when absent).
    collection: Option<String>,
    #[command(flatten)]
    admin: AdminArgs,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

pub(super) async fn history(args: HistoryArgs) -> anyhow::Result<()> {
    let client = args.admin.client()?;
    let Some(collection) = &args.collection else {
        let all: Vec<HistorySummary> = client.get_json("/debug/history").await?;
        return output::print(args.output, &all, |all| summary_text(all));
    };
    let path = args
        .admin
        .query("/debug/history/versions", &[("collection", collection)])?;
    let kept: CollectionHistory = client.get_json(&path).await?;
    output::print(args.output, &kept, history_text)
}

fn summary_text(all: &[HistorySummary]) -> String {
    let mut out = String::new();
    let (listed, empty): (Vec<_>, Vec<_>) = all
        .iter()
        .partition(|c| c.newest.resources > 0 || c.versions > 1);
    for collection in listed {
        let pinned = collection
            .pinned
            .as_deref()
            .map(|v| format!("  PINNED to {}", short(v)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}  {}  versions: {}, newest {} at {}, resources: {}{pinned}",
            collection.group,
            collection.collection,
            collection.versions,
            short(&collection.newest.version),
            collection.newest.published_at,
            collection.newest.resources
        );
    }
    if all.is_empty() {
        out.push_str("(nothing published yet)\n");
    } else if !empty.is_empty() {
        let _ = writeln!(
            out,
            "({} collections always empty not listed; -o json lists them)",
            empty.len()
        );
    }
    out
}

fn history_text(kept: &CollectionHistory) -> String {
    let mut out = format!("{} (group {})\n", kept.collection, kept.group);
    for (back, version) in kept.versions.iter().enumerate() {
        let _ = writeln!(
            out,
            "@-{back}  {}  {}  resources: {}  added {}, changed {}, removed {}",
            short(&version.version),
            version.published_at,
            version.resources,
            version.added,
            version.changed,
            version.removed
        );
        for cause in &version.causes {
            let _ = writeln!(out, "      caused by {}", escaped(cause, LINE));
        }
        if version.more_causes > 0 {
            let _ = writeln!(out, "      and {} more", version.more_causes);
        }
        for answer in &version.answers {
            let message = answer
                .message
                .as_deref()
                .map(|m| format!(": {}", escaped(m, LINE)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "      {} by {} (stream {}) at {}{message}",
                answer.answer.to_uppercase(),
                escaped(&answer.node_id, LINE),
                answer.stream,
                answer.at
            );
        }
    }
    for write in &kept.writes {
        let _ = writeln!(
            out,
            "write at {} by {}: {}",
            write.at, write.by, write.action
        );
    }
    out
}

#[derive(Debug, Args)]
pub(super) struct DiffArgs {
    /// The collection.
    collection: String,
    /// The older version (default `@-1`, the one before the newest).
    from: Option<String>,
    /// The newer version (default `@0`, the newest).
    to: Option<String>,
    #[command(flatten)]
    admin: AdminArgs,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

pub(super) async fn diff(args: DiffArgs) -> anyhow::Result<()> {
    let mut params = vec![("collection", args.collection.as_str())];
    params.extend(args.from.as_deref().map(|from| ("from", from)));
    params.extend(args.to.as_deref().map(|to| ("to", to)));
    let path = args.admin.query("/debug/history/diff", &params)?;
    let diff: HistoryDiff = args.admin.client()?.get_json(&path).await?;
    output::print(args.output, &diff, diff_text)
}

fn diff_text(diff: &HistoryDiff) -> String {
    let mut out = format!(
        "{}: {} -> {}, resources that differ: {}\n",
        diff.collection,
        short(&diff.from),
        short(&diff.to),
        diff.changes.len()
    );
    for change in &diff.changes {
        write_change(&mut out, None, change);
    }
    out
}

/// One resource's difference as `diff` and `plugin preview` print it: how
/// it changed, its collection (when given) and name, where it came from,
/// and its YAML diff.
pub(super) fn write_change(out: &mut String, collection: Option<&str>, change: &ResourceDiff) {
    let origin = change
        .origin
        .as_deref()
        .map(|o| format!(" ({})", escaped(o, LINE)))
        .unwrap_or_default();
    let collection = collection.map_or_else(String::new, |c| format!("{} ", escaped(c, LINE)));
    let _ = writeln!(
        out,
        "\n{} {collection}{}{origin}",
        change.change,
        escaped(&change.name, LINE)
    );
    // Bodies come from files and plugins: no escape sequence reaches the
    // terminal.
    for line in change.yaml.lines() {
        let _ = writeln!(out, "{}", escaped(line, DIFF_LINE));
    }
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["to", "release"]))]
pub(super) struct RollbackArgs {
    /// The collection.
    collection: String,
    /// The version to serve instead of the newest.
    #[arg(long)]
    to: Option<String>,
    /// Release the pin after this long (e.g. `10m`); until `--release`
    /// when absent.
    #[arg(long = "for", requires = "to")]
    duration: Option<String>,
    /// Serve the newest version again.
    #[arg(long)]
    release: bool,
    #[command(flatten)]
    admin: AdminArgs,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

pub(super) async fn rollback(args: RollbackArgs) -> anyhow::Result<()> {
    let client = args.admin.client()?;
    let collection = args.collection.as_str();
    if args.release {
        let path = args
            .admin
            .query("/debug/release", &[("collection", collection)])?;
        let released: Value = client.post_json(&path, Default::default()).await?;
        return output::print(args.output, &released, |_| {
            format!("{collection}: serving its newest version again\n")
        });
    }
    let mut params = vec![("collection", collection)];
    params.extend(args.to.as_deref().map(|to| ("to", to)));
    params.extend(args.duration.as_deref().map(|d| ("for", d)));
    let path = args.admin.query("/debug/rollback", &params)?;
    let pin: PinStatus = client.post_json(&path, Default::default()).await?;
    output::print(args.output, &pin, pin_text)
}

/// One pin, as `rollback` and `status` print it.
pub(super) fn pin_text(pin: &PinStatus) -> String {
    let until = pin
        .until
        .as_deref()
        .map_or_else(|| " until released".to_owned(), |u| format!(" until {u}"));
    let hides = pin.hides.as_deref().map_or_else(String::new, |h| {
        format!(
            ", hiding {} (resources that differ: {})",
            short(h),
            pin.hidden_changes
        )
    });
    format!(
        "{}: pinned to {}{hides}, since {} by {}{until}; `galleon rollback {} --release` resumes\n",
        pin.collection,
        short(&pin.version),
        pin.since,
        pin.by,
        pin.collection
    )
}
