//! `galleon version`: what this binary is, for bug reports and for matching
//! plugins to it; with `--admin-addr`, what the running hub is too.

use std::process::ExitCode;

use clap::Args;
use galleon_hub::admin::api::BuildInfo;
use serde::Serialize;

use super::admin_client::AdminClient;
use super::output::{self, Format};

#[derive(Debug, Args)]
pub(super) struct VersionArgs {
    /// Also ask the hub whose admin server is here (host:port).
    #[arg(long, env = "GALLEON_ADMIN_ADDR")]
    admin_addr: Option<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

/// This binary, and the hub asked.
#[derive(Serialize)]
struct Versions {
    client: BuildInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    hub: Option<BuildInfo>,
}

pub(super) async fn run(args: VersionArgs) -> anyhow::Result<ExitCode> {
    let hub = match &args.admin_addr {
        Some(address) => {
            let admin = AdminClient::new("--admin-addr", address)?;
            Some(admin.get_json::<BuildInfo>("/debug/version").await?)
        }
        None => None,
    };
    let versions = Versions {
        client: BuildInfo::this_binary(),
        hub,
    };
    output::print(args.output, &versions, render)?;
    Ok(ExitCode::SUCCESS)
}

fn render(versions: &Versions) -> String {
    let info = |info: &BuildInfo| {
        format!(
            "galleon {}\nplugin contract {}\ngit commit {}\n",
            info.version, info.plugin_contract, info.commit
        )
    };
    let mut text = info(&versions.client);
    if let Some(hub) = &versions.hub {
        text.push_str("\nthe hub:\n");
        text.push_str(&info(hub));
        if let Some(uptime) = hub.uptime_seconds {
            text.push_str(&format!(
                "uptime {}\n",
                humantime::format_duration(std::time::Duration::from_secs(uptime))
            ));
        }
    }
    text
}
