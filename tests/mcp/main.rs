//! End-to-end tests of the MCP protocol over real gRPC on loopback: one
//! module per side (source rules, sink library, callout, `galleon watch`).

mod callout;
mod edges;
mod flow;
mod late_headers;
mod sink;
mod source;
mod watch_cli;
