//! The status page in a real headless browser (Debian's `chromium`, or
//! `$CHROMIUM`): rendered with its scripts run, its text returned. Without
//! chromium a test says so and passes, unless `CI` is set (CI installs it,
//! so there its absence is a failure).

use std::path::{Path, PathBuf};

use tokio::process::Command;

use crate::PATIENCE;

/// Debian's chromium, or `$CHROMIUM`.
fn chromium() -> Option<PathBuf> {
    let path =
        std::env::var_os("CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    path.exists().then_some(path)
}

/// Chromium, or `None` after saying the test is skipped (a failure under
/// `CI`, which installs it).
#[allow(clippy::print_stderr)] // the skip must be visible in the test output
pub fn chromium_or_skip() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed (apt-get install chromium)"
        );
        eprintln!(
            "SKIPPED: no /usr/bin/chromium (apt-get install chromium) to test the status page"
        );
    }
    found
}

/// Loads `url` headless, lets its scripts run, and returns the text of the
/// page they built (the scripts themselves left out, so their string
/// literals cannot match); writes a screenshot to `screenshot`. Chromium
/// runs as a child the test's runtime awaits, so the sink's streams keep
/// being driven meanwhile.
async fn render(chromium: &Path, url: &str, screenshot: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let run = |extra: Vec<String>| {
        Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=1500",
                "--window-size=1280,1100",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(url)
            .output()
    };
    let shot = run(vec![format!("--screenshot={}", screenshot.display())])
        .await
        .expect("run chromium");
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let dom = run(vec!["--dump-dom".into()]).await.expect("run chromium");
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8(dom.stdout).unwrap();
    match dom.split_once("<script>") {
        Some((page, _)) => page.to_owned(),
        None => dom,
    }
}

/// Renders until the DOM contains every one of `needles`.
pub async fn render_until(
    chromium: &Path,
    url: &str,
    screenshot: &Path,
    needles: &[&str],
) -> String {
    let started = std::time::Instant::now();
    loop {
        let dom = render(chromium, url, screenshot).await;
        if needles.iter().all(|n| dom.contains(n)) {
            return dom;
        }
        assert!(
            started.elapsed() < PATIENCE * 3,
            "the page never showed {needles:?}:\n{dom}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
