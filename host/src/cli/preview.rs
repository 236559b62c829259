//! `galleon plugin preview BINDING FILE.wasm`: uploads a candidate build of
//! a transformer to a running hub (`POST /debug/plugins/preview`), which
//! runs it on the binding's live inputs beside the current build and
//! serves nothing from it; prints the output diff it would cause, what it
//! logged and its cost per event against the current build's.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use galleon_hub::admin::api::{BuildCost, PluginPreview};
use galleon_mcp::cache::short;
use galleon_mcp::quote::escaped;

use super::admin_client::AdminAddr;
use super::history::write_change;
use super::output::{self, Format};

/// The longest a name, message or logged line is printed.
const LINE: usize = 300;

#[derive(Debug, Args)]
pub(super) struct PreviewArgs {
    /// The transformer binding (its `name` under `plugins.bindings`, or a
    /// built-in's: ingress, authpolicy, serviceentry).
    binding: String,
    /// The candidate component.
    file: PathBuf,
    #[command(flatten)]
    admin: AdminAddr,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

/// Runs the preview (plugin commands run outside the async runtime: this
/// one starts its own).
pub(super) fn run(args: PreviewArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let preview: PluginPreview = args
        .admin
        .post_plugin("preview", &args.binding, bytes.into())?;
    output::print(args.output, &preview, preview_text)
}

fn preview_text(preview: &PluginPreview) -> String {
    let mut out = format!(
        "plugin {}: candidate {} beside current {}, replayed {} events\n",
        escaped(&preview.binding, LINE),
        short(&preview.candidate),
        short(&preview.current),
        preview.replayed
    );
    let _ = writeln!(
        out,
        "outputs that would change: {}, unchanged: {} (nothing served changed)",
        preview.changes.len(),
        preview.unchanged
    );
    out.push_str(&cost_text(preview));
    for change in &preview.changes {
        write_change(&mut out, Some(&change.collection), &change.diff);
    }
    if !preview.rejections.is_empty() {
        let _ = writeln!(out, "\nrejected {} inputs:", preview.rejections.len());
        for rejection in &preview.rejections {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                escaped(&rejection.collection, LINE),
                escaped(&rejection.name, LINE),
                escaped(&rejection.message, LINE)
            );
        }
    }
    if !preview.log.is_empty() {
        let _ = writeln!(out, "\nlogged:");
        for line in &preview.log {
            let _ = writeln!(out, "  {:<5} {}", line.level, escaped(&line.message, LINE));
        }
        if preview.log_dropped > 0 {
            let _ = writeln!(out, "  and {} more lines", preview.log_dropped);
        }
    }
    out
}

/// The candidate's cost per event, start and memory, against the current
/// build's.
fn cost_text(preview: &PluginPreview) -> String {
    let candidate = &preview.candidate_cost;
    let Some(current) = &preview.current_cost else {
        let why = preview.current_failure.as_deref().unwrap_or("not measured");
        return format!(
            "cost: {} (the current build's replay failed: {})\n",
            figures(candidate),
            escaped(why, LINE)
        );
    };
    let ratio = |a: u64, b: u64| {
        if b == 0 {
            String::new()
        } else {
            format!(" ({:.2}x)", a as f64 / b as f64)
        }
    };
    format!(
        "cost per event: {} against {}{}\n  candidate: {}\n  current:   {}\n",
        nanos(candidate.per_event_ns),
        nanos(current.per_event_ns),
        ratio(candidate.per_event_ns, current.per_event_ns),
        figures(candidate),
        figures(current)
    )
}

fn figures(cost: &BuildCost) -> String {
    format!(
        "{} per event, replay {}, start {}, peak memory {:.1} MiB",
        nanos(cost.per_event_ns),
        nanos(cost.replay_us.saturating_mul(1_000)),
        nanos(cost.start_us.saturating_mul(1_000)),
        cost.peak_memory as f64 / f64::from(1u32 << 20)
    )
}

/// A duration given in nanoseconds, in the unit that reads best.
fn nanos(ns: u64) -> String {
    format!("{:.1?}", std::time::Duration::from_nanos(ns))
}
