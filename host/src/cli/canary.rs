//! `galleon plugin promote BINDING` and `galleon plugin abort BINDING`: end
//! a running hub's canary (`POST /debug/plugins/promote`, `…/abort`), the
//! candidate made every sink's build or dropped.

use clap::Args;
use galleon_hub::admin::api::CanaryStatus;
use galleon_mcp::cache::short;
use galleon_mcp::quote::escaped;

use super::admin_client::AdminAddr;
use super::output::{self, Format};

/// The longest a binding's name is printed.
const LINE: usize = 300;

#[derive(Debug, Args)]
pub(super) struct CanaryArgs {
    /// The transformer binding whose canary it ends.
    binding: String,
    #[command(flatten)]
    admin: AdminAddr,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

/// Promotes (`promote`) or aborts the canary (plugin commands run outside
/// the async runtime: this one starts its own).
pub(super) fn run(args: CanaryArgs, promote: bool) -> anyhow::Result<()> {
    let action = if promote { "promote" } else { "abort" };
    let ended: CanaryStatus = args
        .admin
        .post_plugin(action, &args.binding, Default::default())?;
    output::print(args.output, &ended, |ended| {
        let serving = if ended.state == "promoted" {
            format!("every sink is served {}", short(&ended.candidate))
        } else {
            format!("its sinks are served {} again", short(&ended.current))
        };
        format!(
            "canary of {} {}: {serving}\n",
            escaped(&ended.binding, LINE),
            ended.state
        )
    })
}
