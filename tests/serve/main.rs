//! End-to-end tests of `galleon serve`, the real binary, with a real sink:
//! files on disk → pipeline → MCP.

mod admin;
mod admission;
mod analysis;
mod crds;
mod files;
mod history;
mod hostile;
mod limits;
mod mesh;
mod signals;
mod sources;
mod status_page;
mod tls;
