//! The SDK for galleon plugins. Empty until the plugin host lands: the WIT
//! contract and the Rust helpers arrive with it.
