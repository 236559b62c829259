//! What an upstream hub currently holds, kept per upstream collection (or
//! xDS type) and turned into pipeline events: a full-state push becomes the
//! difference from what was held, a delta its own adds and removes, and the
//! first push of each becomes its local collection's `FullSync`. A resource
//! that cannot be taken in is reported and its last good version kept.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use galleon_pipeline::diagnostics::{Diagnostics, Problem, Scope};
use galleon_pipeline::event::{Collection, Entry, Event};
use galleon_proto::mcp::Resource;
use galleon_schemas::DescriptorPool;

use super::resource::entry;

/// The upstream's state as events for this hub's pipeline.
pub(crate) struct Mirror {
    source: String,
    /// Upstream collection (or type URL) → the local collection it feeds.
    routes: BTreeMap<String, Collection>,
    /// Upstream collections whose first push has not arrived.
    pending: BTreeSet<String>,
    /// What each upstream collection holds, by resource name.
    held: HashMap<String, BTreeMap<String, Arc<Entry>>>,
    pool: DescriptorPool,
    diagnostics: Diagnostics,
    /// The largest body taken in.
    max_resource_size: usize,
}

impl Mirror {
    /// An empty mirror of the `routes` (upstream → local collection).
    pub(crate) fn new(
        source: String,
        routes: BTreeMap<String, Collection>,
        pool: DescriptorPool,
        diagnostics: Diagnostics,
        max_resource_size: usize,
    ) -> Self {
        Self {
            source,
            pending: routes.keys().cloned().collect(),
            routes,
            held: HashMap::new(),
            pool,
            diagnostics,
            max_resource_size,
        }
    }

    /// Applies a push: the whole state (`incremental == false`) or a delta.
    /// Returns the events it makes; a push for a collection it does not
    /// route is ignored.
    pub(crate) fn apply(
        &mut self,
        upstream: &str,
        resources: &[Resource],
        removed: &[String],
        incremental: bool,
    ) -> Vec<Event> {
        let Some(local) = self.routes.get(upstream).cloned() else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        let mut incoming = BTreeMap::new();
        for resource in resources {
            match entry(resource, &self.pool, self.max_resource_size) {
                Ok(entry) => {
                    incoming.insert(entry.name.clone(), entry);
                }
                Err(error) => {
                    problems.push(Problem::new(format!("{} {upstream}", self.source), error))
                }
            }
        }
        let held = self.held.entry(upstream.to_owned()).or_default();
        let mut events = Vec::new();
        let gone: Vec<String> = if incremental {
            removed.to_vec()
        } else {
            // Full state: whatever is held and not sent again is gone, except
            // resources that failed to decode (their last good version stays).
            let unreadable: BTreeSet<&str> = resources
                .iter()
                .filter_map(|r| r.metadata.as_ref().map(|m| m.name.as_str()))
                .filter(|name| !incoming.contains_key(*name))
                .collect();
            held.keys()
                .filter(|name| !incoming.contains_key(*name) && !unreadable.contains(name.as_str()))
                .cloned()
                .collect()
        };
        for name in gone {
            if held.remove(&name).is_some() {
                events.push(Event::Deleted(local.clone(), name));
            }
        }
        for (name, entry) in incoming {
            let entry = Arc::new(entry);
            match held.get(&name) {
                Some(current) if *current == entry => {}
                Some(_) => {
                    held.insert(name, entry.clone());
                    events.push(Event::Updated(local.clone(), entry));
                }
                None => {
                    held.insert(name, entry.clone());
                    events.push(Event::Added(local.clone(), entry));
                }
            }
        }
        self.diagnostics.set(
            &Scope::Source(format!("{} {upstream}", self.source)),
            problems,
        );
        if self.pending.remove(upstream) {
            events.push(Event::FullSync(local));
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use galleon_proto::json::struct_from_json;
    use galleon_proto::mcp::Metadata;
    use prost::Message;

    fn resource(name: &str, host: &str) -> Resource {
        let body = struct_from_json(
            serde_json::json!({ "hosts": [host] })
                .as_object()
                .unwrap()
                .clone(),
        );
        Resource {
            metadata: Some(Metadata {
                name: name.into(),
                ..Metadata::default()
            }),
            body: Some(prost_types::Any {
                type_url: galleon_proto::STRUCT_TYPE_URL.into(),
                value: body.encode_to_vec(),
            }),
        }
    }

    fn mirror() -> Mirror {
        let routes = [("up".to_owned(), Collection::from("local"))].into();
        Mirror::new(
            "test".into(),
            routes,
            DescriptorPool::new(),
            Diagnostics::default(),
            1 << 20,
        )
    }

    fn kinds(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Event::Added(_, e) => format!("+{}", e.name),
                Event::Updated(_, e) => format!("~{}", e.name),
                Event::Deleted(_, n) => format!("-{n}"),
                Event::FullSync(c) => format!("sync {c}"),
                Event::Reset => "reset".into(),
            })
            .collect()
    }

    #[test]
    fn a_full_state_push_becomes_only_its_difference() {
        let mut mirror = mirror();
        let first = mirror.apply("up", &[resource("a", "x"), resource("b", "x")], &[], false);
        assert_eq!(kinds(&first), ["+a", "+b", "sync local"]);
        let second = mirror.apply("up", &[resource("a", "x"), resource("c", "x")], &[], false);
        assert_eq!(kinds(&second), ["-b", "+c"]);
        let third = mirror.apply("up", &[resource("a", "y")], &["c".into()], true);
        assert_eq!(kinds(&third), ["-c", "~a"]);
    }

    #[test]
    fn an_unreadable_resource_keeps_its_last_good_version() {
        let diagnostics = Diagnostics::default();
        let routes = [("up".to_owned(), Collection::from("local"))].into();
        let mut mirror = Mirror::new(
            "test".into(),
            routes,
            DescriptorPool::new(),
            diagnostics.clone(),
            1 << 20,
        );
        mirror.apply("up", &[resource("a", "x")], &[], false);
        let mut broken = resource("a", "y");
        broken.body.as_mut().unwrap().type_url = "type.googleapis.com/unknown.Message".into();
        assert!(mirror.apply("up", &[broken], &[], false).is_empty());
        let problems = diagnostics.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].message.contains("unknown.Message"),
            "{problems:?}"
        );
        let fixed = mirror.apply("up", &[resource("a", "z")], &[], false);
        assert_eq!(kinds(&fixed), ["~a"]);
        assert!(diagnostics.problems().is_empty());
    }

    #[test]
    fn names_and_sizes_are_held_to_the_rules_files_are() {
        let diagnostics = Diagnostics::default();
        let routes = [("up".to_owned(), Collection::from("local"))].into();
        let mut mirror = Mirror::new(
            "test".into(),
            routes,
            DescriptorPool::new(),
            diagnostics.clone(),
            64,
        );
        let long = "a".repeat(100_000);
        let bad = [
            "../../etc/passwd",
            "a/b/c",
            "Upper",
            "new\nline",
            long.as_str(),
            "/noname-ns",
        ];
        let mut resources: Vec<Resource> = bad.iter().map(|name| resource(name, "x")).collect();
        resources.push(resource("ns/big", &"x".repeat(100)));
        resources.push(resource("ns/ok", "x"));
        let events = mirror.apply("up", &resources, &[], false);
        assert_eq!(kinds(&events), ["+ns/ok", "sync local"]);
        let problems = diagnostics.problems();
        assert_eq!(problems.len(), bad.len() + 1, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("maxResourceSize")),
            "{problems:?}"
        );
        assert!(
            problems.iter().all(|p| p.message.len() < 1_000),
            "bounded: {problems:?}"
        );
    }
}
