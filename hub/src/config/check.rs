//! Range checks on the configuration's numbers and durations, so a value
//! that would disarm the hub (a zero limit that refuses every sink, a
//! timeout so long that arithmetic on it overflows) is refused at load,
//! with the allowed range in the error.

use std::fmt::Display;
use std::time::Duration;

use galleon_pipeline::registry::{KindConfig, Registry};

use super::HubConfig;

/// Largest memory cap a plugin can use: a 32-bit linear memory.
const MAX_PLUGIN_MEMORY_MIB: usize = 4096;

/// The first setting out of its range, as `field: value is out of range
/// (min to max)`.
pub(super) fn ranges(config: &HubConfig) -> Result<(), String> {
    let mcp = &config.mcp;
    count(
        "mcp.maxConcurrentStreams",
        mcp.max_concurrent_streams,
        1,
        1 << 20,
    )?;
    if let Some(connections) = mcp.max_connections {
        count("mcp.maxConnections", connections, 1, 1 << 24)?;
    }
    count("mcp.maxRequestSize", mcp.max_request_size, 1 << 10, 1 << 30)?;
    count(
        "mcp.maxNamesPerRequest",
        mcp.max_names_per_request,
        1,
        1 << 24,
    )?;
    count(
        "mcp.maxTypesPerStream",
        mcp.max_types_per_stream,
        1,
        1 << 16,
    )?;
    duration("mcp.stallTimeout", mcp.stall_timeout, secs(1), hours(24))?;
    if let Some(age) = mcp.max_connection_age {
        duration("mcp.maxConnectionAge", age, secs(1), hours(24 * 7))?;
    }
    duration(
        "mcp.maxConnectionAgeGrace",
        mcp.max_connection_age_grace,
        Duration::ZERO,
        hours(1),
    )?;
    duration("mcp.drainTimeout", mcp.drain_timeout, secs(1), hours(1))?;
    duration(
        "mcp.drainDelay",
        mcp.drain_delay,
        Duration::ZERO,
        Duration::from_secs(600),
    )?;
    duration(
        "mcp.handshakeTimeout",
        mcp.handshake_timeout,
        millis(100),
        secs(300),
    )?;
    count(
        "mcp.streamRate.burst",
        mcp.stream_rate.burst.get(),
        1,
        1 << 20,
    )?;
    count(
        "mcp.streamRate.perSecond",
        mcp.stream_rate.per_second.get(),
        1,
        1 << 20,
    )?;
    count("history.versions", config.history.versions, 0, 10_000)?;
    if let Some(age) = config.history.max_age {
        duration("history.maxAge", age, secs(1), hours(24 * 365))?;
    }
    if let Some(admission) = &config.admission {
        count(
            "admission.maxRequestBytes",
            admission.max_request_bytes,
            1 << 10,
            64 << 20,
        )?;
        duration(
            "admission.timeout",
            admission.timeout,
            millis(100),
            secs(30),
        )?;
        count(
            "admission.maxConnections",
            admission.max_connections,
            1,
            1 << 16,
        )?;
    }
    let admin = &config.admin;
    count("admin.maxConnections", admin.max_connections, 1, 1 << 16)?;
    duration(
        "admin.headerReadTimeout",
        admin.header_read_timeout,
        millis(100),
        secs(300),
    )?;
    if let Some(tls) = &admin.tls
        && tls.client_ca.is_none() != tls.writers.is_empty()
    {
        return Err("admin.tls: clientCa and writers go together (writers are the client certificates' identities the CA verifies)".into());
    }
    for group in &config.groups {
        let field = |name: &str| format!("groups[{}].{name}", group.name);
        if let Some(max_delay) = group.max_delay {
            duration(&field("maxDelay"), max_delay, millis(1), hours(1))?;
        }
        if let Some(quiesce) = group.quiesce {
            duration(&field("quiesce"), quiesce, millis(1), hours(1))?;
        }
    }
    let plugins = &config.plugins;
    let limits = plugins
        .bindings
        .iter()
        .map(|b| (b.name(), b.deadline, b.memory_mib))
        .chain(
            plugins
                .builtins
                .iter()
                .map(|(name, b)| (name.clone(), b.deadline, b.memory_mib)),
        );
    for (name, deadline, memory_mib) in limits {
        if let Some(deadline) = deadline {
            duration(
                &format!("plugin {name}: deadline"),
                deadline,
                millis(1),
                secs(600),
            )?;
        }
        if let Some(mib) = memory_mib {
            count(
                &format!("plugin {name}: memoryMib"),
                mib,
                1,
                MAX_PLUGIN_MEMORY_MIB,
            )?;
        }
    }
    Ok(())
}

/// Every declared kind is new, or says it replaces a built-in; none is
/// declared twice.
pub(super) fn kinds(kinds: &[KindConfig]) -> Result<(), String> {
    let builtin = Registry::builtin();
    let mut seen = std::collections::BTreeSet::new();
    for kind in kinds {
        let name = format!("{} {}", kind.api_version, kind.kind);
        if !seen.insert((kind.api_version.as_str(), kind.kind.as_str())) {
            return Err(format!("kinds: {name} is declared twice"));
        }
        if let Some(existing) = builtin.lookup(&kind.api_version, &kind.kind)
            && !kind.replace_builtin
        {
            let versions: Vec<&str> = existing.api_versions().collect();
            return Err(format!(
                "kinds: {name} is a built-in kind (served as {}); set `replaceBuiltin: true` to replace it and all of those versions, or remove the entry",
                versions.join(", ")
            ));
        }
    }
    Ok(())
}

fn count<T: PartialOrd + Display>(field: &str, value: T, min: T, max: T) -> Result<(), String> {
    if value < min || value > max {
        return Err(format!("{field}: {value} is out of range ({min} to {max})"));
    }
    Ok(())
}

fn duration(field: &str, value: Duration, min: Duration, max: Duration) -> Result<(), String> {
    if value < min || value > max {
        let shown = |d: Duration| humantime::format_duration(d).to_string();
        return Err(format!(
            "{field}: {} is out of range ({} to {})",
            shown(value),
            shown(min),
            shown(max)
        ));
    }
    Ok(())
}

const fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const fn hours(h: u64) -> Duration {
    Duration::from_secs(h * 3600)
}

#[cfg(test)]
mod tests {
    use super::super::{HubConfig, InvalidConfig};

    fn refused(yaml: &str) -> String {
        match HubConfig::parse(yaml) {
            Err(InvalidConfig::Range(message)) => message,
            other => panic!("{yaml}: {other:?}"),
        }
    }

    #[test]
    fn settings_that_would_disarm_the_hub_are_refused_with_their_range() {
        let huge = refused("mcp: {stallTimeout: 18446744073709551615s}");
        assert!(
            huge.starts_with("mcp.stallTimeout: ")
                && huge.ends_with("is out of range (1s to 1day)"),
            "{huge}"
        );
        for (yaml, field) in [
            (
                "mcp: {maxConcurrentStreams: 0}",
                "mcp.maxConcurrentStreams: 0 is out of range (1 to 1048576)",
            ),
            ("mcp: {maxConnections: 0}", "mcp.maxConnections: 0"),
            ("mcp: {maxRequestSize: 0}", "mcp.maxRequestSize: 0"),
            (
                "groups: [{name: d, strategy: debounce, maxDelay: 18446744073709551615s}]",
                "groups[d].maxDelay",
            ),
            (
                "groups: [{name: d, strategy: debounce, quiesce: 0s}]",
                "groups[d].quiesce: 0s is out of range (1ms to 1h)",
            ),
            (
                "plugins: {bindings: [{file: a.wasm, kind: transformer, memoryMib: 18446744073709551615}]}",
                "memoryMib",
            ),
            (
                "admin: {tls: {cert: a.crt, key: a.key, clientCa: ca.crt}}",
                "admin.tls: clientCa and writers go together",
            ),
            (
                "admin: {tls: {cert: a.crt, key: a.key, writers: [spiffe://x/y]}}",
                "admin.tls: clientCa and writers go together",
            ),
        ] {
            let message = refused(yaml);
            assert!(message.contains(field), "{yaml}: {message}");
        }
        assert!(HubConfig::parse("mcp: {stallTimeout: 5m, maxConnections: 40}").is_ok());
    }

    #[test]
    fn a_built_in_kind_is_replaced_only_on_purpose() {
        let vs =
            "{apiVersion: networking.istio.io/v1, kind: VirtualService, plural: virtualservices";
        let message = match HubConfig::parse(&format!("kinds: [{vs}}}]")) {
            Err(InvalidConfig::Kind(message)) => message,
            other => panic!("{other:?}"),
        };
        assert!(
            message.contains("built-in kind") && message.contains("v1alpha3"),
            "{message}"
        );
        assert!(HubConfig::parse(&format!("kinds: [{vs}, replaceBuiltin: true}}]")).is_ok());
        let a = "{apiVersion: a.io/v1, kind: A, plural: as}";
        let twice = format!("kinds: [{a}, {a}]");
        assert!(
            matches!(HubConfig::parse(&twice), Err(InvalidConfig::Kind(m)) if m.contains("twice"))
        );
    }
}
