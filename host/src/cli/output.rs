//! How a command prints data: `-o text|json|yaml`, one flag for every
//! command whose output is data. JSON and YAML print the same document;
//! text is the command's own rendering of it.

use std::io::Write as _;

use anyhow::Context;
use clap::ValueEnum;
use serde::Serialize;

/// An output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(super) enum Format {
    /// For people.
    #[default]
    Text,
    /// One JSON document.
    Json,
    /// One YAML document.
    Yaml,
}

/// Prints `value` as `format` asks, `text` rendering it for people.
pub(super) fn print<T: Serialize>(
    format: Format,
    value: &T,
    text: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    let rendered = match format {
        Format::Text => text(value),
        Format::Json => serde_json::to_string_pretty(value)? + "\n",
        Format::Yaml => serde_saphyr::to_string(value).context("rendering YAML")?,
    };
    std::io::stdout()
        .write_all(rendered.as_bytes())
        .context("writing to stdout")
}
