//! Sources beyond files, against the real thing: an etcd started by the
//! tests (Debian's `etcd-server`), and another galleon upstream over MCP and
//! over MCP over xDS.

mod etcd;
mod upstream;
