//! Plugin tests: the compiled example plugins against their golden fixtures,
//! hostile plugins contained, hot loading, validators and load errors — all
//! through the real host (and, end to end, the real `galleon serve`); the
//! same for plugins in C, JavaScript and Python; and the `galleon plugin`
//! workflow with the real binary.

mod backoff;
mod builtins;
mod canary;
mod golden;
mod hostile;
mod hot_reload;
mod languages;
mod loading;
mod preview;
mod sharing;
mod support;
mod validator;
mod workflow;
