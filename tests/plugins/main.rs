//! Plugin tests: the compiled example plugins against their golden fixtures,
//! hostile plugins contained, hot loading, validators and load errors — all
//! through the real host (and, end to end, the real `galleon serve`).

mod backoff;
mod builtins;
mod golden;
mod hostile;
mod hot_reload;
mod languages;
mod loading;
mod support;
mod validator;
mod workflow;
