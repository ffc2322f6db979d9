//! The import screen (issue 24): files chosen in the native Open dialog; a
//! broken one refused whole with its places named and the vault unchanged;
//! a 10,000-line CSV previewed and imported with the bar moving; the
//! reminder to destroy the plaintext file.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::{create_vault, launch, nav};

/// `text` written as the only file of a new folder (the dialog's location
/// field then has nothing to complete).
fn export_file(root: &Path, folder: &str, name: &str, text: &str) -> PathBuf {
    let dir = root.join(folder);
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn ten_thousand_lines() -> String {
    let mut csv = String::from("name,secret,type,tags,expires\n");
    for i in 0..10_000 {
        csv.push_str(&format!(
            "Ledger {i:05},pk_live_{i:016}IMPORTE2E,api-key,ledger,2031-{:02}-{:02}\n",
            i % 12 + 1,
            i % 28 + 1
        ));
    }
    csv
}

#[test]
fn a_broken_file_is_refused_by_place_and_a_10000_line_csv_imports_with_the_bar_moving() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let app = launch(dir.path());
    create_vault(&app, None);
    nav(&app, "credentials");
    app.click("[data-testid=import]");
    app.wait("[data-screen=import]");
    app.screenshot("70-import-choose");

    // A broken line among good ones: refused whole, by place, no value.
    let broken = export_file(
        files.path(),
        "broken",
        "export.csv",
        "name,secret,tags\nfine,pk_live_0123456789abcdef,\nbad,pk_live_abcdefabcdef0000,LEAKED$VALUE\n",
    );
    app.click("[data-testid=import-choose]");
    app.answer_open_dialog("Import credentials", &broken);
    app.wait("[data-testid=import-problems]");
    let problems = app.text("[data-testid=import-problems]");
    assert!(problems.contains("line 3 ('bad'): its tag is not valid"), "{problems}");
    assert!(
        !problems.contains("LEAKED") && !problems.contains("pk_live"),
        "{problems}"
    );
    app.screenshot("71-import-refused");
    app.click("[data-testid=import-again]");
    app.wait("[data-testid=import-choose]");

    // 10,000 lines: the preview, then the import with the bar moving.
    let big = export_file(files.path(), "big", "ledger.csv", &ten_thousand_lines());
    app.select("[data-testid=import-environment]", "test");
    app.type_into("[data-testid=import-tags]", "moved");
    app.click("[data-testid=import-choose]");
    app.answer_open_dialog("Import credentials", &big);
    app.wait_for("[data-testid=import-count]", std::time::Duration::from_secs(30));
    let count = app.text("[data-testid=import-count]");
    assert_eq!(count.replace(|c: char| !c.is_ascii_digit(), ""), "10000", "{count}");
    assert!(
        app.text("[data-testid=import-summary]")
            .contains(&big.display().to_string())
    );
    app.until("the preview's heading has the focus", |a| a.focused().text == "Preview");
    for (w, h) in [(1024u32, 700u32), (1920, 1080)] {
        app.set_window_size(w, h);
        app.until("layout at size", |a| {
            a.script("return window.innerWidth", json!([])).and_then(|v| v.as_u64()) == Some(u64::from(w))
        });
        let fits = app.script(
            "const b = document.querySelector('[data-testid=import-run]').getBoundingClientRect();
             return document.documentElement.scrollWidth <= window.innerWidth && b.bottom <= window.innerHeight;",
            json!([]),
        );
        assert_eq!(
            fits,
            Some(json!(true)),
            "the preview and its Import button fit at {w}x{h}"
        );
        app.screenshot(&format!("72-import-preview-{w}x{h}"));
    }

    // The page's bar, sampled every 5 ms from inside the page.
    app.script(
        "window.__bar = []; window.__barTimer = setInterval(() => { \
           const p = document.querySelector('[data-testid=import-progress]'); \
           if (p) window.__bar.push([p.value, p.max]); }, 5);",
        json!([]),
    );
    app.click("[data-testid=import-run]");
    app.wait_for("[data-testid=import-done]", std::time::Duration::from_secs(120));
    let bar = app
        .script("clearInterval(window.__barTimer); return window.__bar", json!([]))
        .unwrap();
    let values: Vec<f64> = bar.as_array().unwrap().iter().map(|v| v[0].as_f64().unwrap()).collect();
    let mut between: Vec<f64> = values.iter().copied().filter(|v| *v > 0.0 && *v < 20_001.0).collect();
    between.dedup();
    assert!(
        between.len() >= 3,
        "the bar showed only {between:?} between empty and full ({} samples)",
        values.len()
    );
    assert!(
        between.windows(2).all(|w| w[0] <= w[1]),
        "the bar went back: {between:?}"
    );
    // 10,000 checked, 10,000 written, then the commit.
    assert_eq!(bar[0][1], json!(20_001), "{:?}", bar[0]);
    let reminder = app.text("[data-testid=import-reminder]");
    assert!(
        reminder.contains(&big.display().to_string()) && reminder.contains("plain text"),
        "{reminder}"
    );
    assert!(
        !app.html().contains("IMPORTE2E"),
        "a secret of the file reached the page"
    );
    app.screenshot("73-import-done");

    app.click("[data-testid=import-show]");
    app.wait("[data-screen=credentials]");
    app.until("the list counts 10,000 credentials", |a| {
        a.text("[data-testid=row-count]").ends_with("of 10000")
    });
}
