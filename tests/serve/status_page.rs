//! The status page in a real headless browser (Debian's `chromium`): the
//! page is loaded while a hub serves a synced sink, a file is broken, and
//! the page, reloaded, shows the problem with its location. A screenshot
//! of each state goes to the target directory (out of git).
//!
//! Without chromium the test says so and passes, unless `CI` is set (CI
//! installs it, so there its absence is a failure; see `browser`).

use std::path::Path;

use galleon_tests::VS;
use galleon_tests::browser::{chromium_or_skip, render_until};
use galleon_tests::hub::{Hub, vs};

#[tokio::test]
async fn the_status_page_shows_sinks_and_a_broken_file() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let hub = Hub::start(&[("reviews.yaml", &vs("reviews", "reviews"))]).await;
    let mut sink = hub.sink(&[VS]).await;
    let push = sink.recv().await;
    sink.ack(&push).await;
    let url = format!("http://{}/", hub.galleon.admin);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));

    let healthy = render_until(
        &chromium,
        &url,
        &shots.join("status-page-healthy.png"),
        &[
            "SYNCED",
            "test-sink",
            VS,
            "class=\"ok\">up</td>",
            "plugin contract galleon:plugin@",
        ],
    )
    .await;
    assert!(
        healthy.contains(&push.system_version_info[..8]),
        "{healthy}"
    );
    for link in ["/metrics", "/debug/sources", "/debug/config"] {
        assert!(
            healthy.contains(&format!("href=\"{link}\"")),
            "a link to {link}: {healthy}"
        );
    }

    // What is served, with where it came from.
    let resources = render_until(
        &chromium,
        &format!("{url}?collection={VS}"),
        &shots.join("status-page-resources.png"),
        &["default/reviews", "reviews.yaml:1 (document 0)"],
    )
    .await;
    assert!(resources.contains("1–1 of 1"), "{resources}");

    // Over a page (fifty): the first fifty shown, the rest a page on.
    for i in 0..60 {
        hub.write(&format!("vs-{i:02}.yaml"), &vs(&format!("vs-{i:02}"), "h"));
    }
    loop {
        let push = sink.recv().await;
        sink.ack(&push).await;
        if push.resources.len() == 61 {
            break;
        }
    }
    let paged = render_until(
        &chromium,
        &format!("{url}?collection={VS}"),
        &shots.join("status-page-paged.png"),
        &["1–50 of 61", "default/reviews"],
    )
    .await;
    assert!(
        paged.contains("<td class=\"mono\">default/vs-48</td>")
            && !paged.contains("<td class=\"mono\">default/vs-49</td>"),
        "one page only: {paged}"
    );
    let (_, rest) = hub
        .galleon
        .admin_get(&format!(
            "/debug/resources?collection={VS}&offset=50&limit=50"
        ))
        .await;
    let rest: serde_json::Value = serde_json::from_str(&rest).unwrap();
    assert_eq!(rest["resources"].as_array().unwrap().len(), 11, "{rest}");
    assert_eq!(rest["total"], 61);

    // The history: every edit a version, with its cause; a rollback
    // shown as such.
    let history = render_until(
        &chromium,
        &format!("{url}?history={VS}"),
        &shots.join("status-page-history.png"),
        &["versions, newest first", "vs-59.yaml:1", "@-1"],
    )
    .await;
    assert!(history.contains(">newest</td>"), "{history}");
    let (status, body) = hub
        .galleon
        .admin_post(&format!("/debug/rollback?collection={VS}&to=@-1"))
        .await;
    assert_eq!(status, 200, "{body}");
    let push = sink.recv().await;
    sink.ack(&push).await;
    render_until(
        &chromium,
        &url,
        &shots.join("status-page-rollback.png"),
        &["ROLLED BACK: ", "pinned to "],
    )
    .await;
    let (status, body) = hub
        .galleon
        .admin_post(&format!("/debug/release?collection={VS}"))
        .await;
    assert_eq!(status, 200, "{body}");
    let push = sink.recv().await;
    sink.ack(&push).await;

    hub.write("broken.yaml", "apiVersion: v1\nkind: [unclosed\n");
    let broken = render_until(
        &chromium,
        &url,
        &shots.join("status-page-broken.png"),
        &["broken.yaml:", "class=\"bad\">error</td>"],
    )
    .await;
    assert!(broken.contains("SYNCED"), "the sink still shows: {broken}");
}

/// The page an operator opens when something is wrong: an etcd source that
/// is down (its row says so, since when, why and what stays served, where
/// the page once guessed "healthy" from file paths), a warning shown as a
/// warning (not as a refusal), a built-in whose new build was refused on
/// its own row, the header (version, commit, uptime, host, config) and a
/// link to every endpoint the `/debug` index lists.
#[tokio::test]
async fn the_status_page_shows_a_source_down_a_warning_and_a_refused_build() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for sub in ["crds", "resources", "builtins"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::write(root.join("crds/vs.yaml"), galleon_tests::hub::VS_CRD).unwrap();
    let odd = vs("odd", "odd").replace("spec:\n", "spec:\n  colour: blue\n");
    std::fs::write(root.join("resources/odd.yaml"), odd).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let etcd = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = format!(
        "mcp: {{address: \"127.0.0.1:0\"}}\nschemas: {{crds: [crds]}}\n\
         sources:\n- {{files: {{paths: [resources]}}}}\n- {{etcd: {{endpoints: [\"{etcd}\"], prefix: /mesh/}}}}\n\
         plugins: {{builtinDir: builtins}}\n"
    );
    std::fs::write(root.join("galleon.yaml"), config).unwrap();
    let galleon = galleon_tests::Galleon::serve_in(root, &["--config", "galleon.yaml"]).await;
    galleon_tests::write_atomically(
        &root.join("builtins"),
        "authpolicy.wasm",
        b"not a component",
    );
    let url = format!("http://{}/", galleon.admin);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));

    let page = render_until(
        &chromium,
        &url,
        &shots.join("status-page-trouble.png"),
        &[
            "class=\"bad\">down</td>",
            "class=\"warn\">warning</td>",
            "unknown field \"spec.colour\"",
            "new build refused:",
            "galleon.yaml · plugin contract",
        ],
    )
    .await;
    assert!(page.contains(&etcd[7..]), "the etcd endpoint tried: {page}");
    assert!(page.contains("\">up "), "uptime in the header: {page}");
    let (_, version) = galleon.admin_get("/debug/version").await;
    let version: serde_json::Value = serde_json::from_str(&version).unwrap();
    assert!(page.contains(version["commit"].as_str().unwrap()), "{page}");
    let (_, index) = galleon.admin_get("/debug").await;
    let index: Vec<serde_json::Value> = serde_json::from_str(&index).unwrap();
    assert!(index.len() >= 9, "{index:?}");
    for endpoint in &index {
        let path = endpoint["path"].as_str().unwrap();
        if !(path.starts_with("/debug/") || path == "/metrics") || path.contains('?') {
            continue; // the page itself, the probes, and resources (opened from a row)
        }
        assert!(
            page.contains(&format!("href=\"{path}\"")),
            "a link to {path}: {page}"
        );
    }
}
