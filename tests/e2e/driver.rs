//! The built app under Xvfb, driven through tauri-driver + WebKitWebDriver
//! with plain W3C WebDriver HTTP calls. Missing Xvfb, tauri-driver or
//! WebKitWebDriver fails the test with what to install: never a skip.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One app at a time: two cores, and each WebKit is heavy.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// One app at a time: held by [`App::launch`] for the app's life, or by a
/// test across several apps and what it runs beside them.
pub fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The app under test: this build's, or `KEYWARDEN_APP_BIN` (the benches
/// measure the release binary as shipped).
pub fn app_binary() -> PathBuf {
    match std::env::var_os("KEYWARDEN_APP_BIN") {
        Some(p) if !p.is_empty() => std::fs::canonicalize(p).unwrap(),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_keywarden")),
    }
}

pub fn screens_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("e2e-screens");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `target/e2e-logs/`: each test's driver and app output.
pub fn logs_dir() -> PathBuf {
    let dir = screens_dir().with_file_name("e2e-logs");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn find_program(name: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().cloned())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn required(name: &str, extra: &[PathBuf], install: &str) -> PathBuf {
    find_program(name, extra).unwrap_or_else(|| {
        panic!("{name} is missing: the end-to-end suite needs it ({install}); `make test` installs it")
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn terminate(child: &mut Child) {
    // SIGTERM, not SIGKILL: tauri-driver then stops WebKitWebDriver, which
    // would otherwise keep the test's output pipe open.
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// An X server of our own, 1920×1080.
pub struct Display {
    pub number: u32,
    child: Child,
}

impl Display {
    pub fn start() -> Display {
        let xvfb = required("Xvfb", &[], "apt install xvfb");
        for number in 90..200 {
            if Path::new(&format!("/tmp/.X11-unix/X{number}")).exists()
                || Path::new(&format!("/tmp/.X{number}-lock")).exists()
            {
                continue;
            }
            let mut child = Command::new(&xvfb)
                .args([
                    format!(":{number}").as_str(),
                    "-screen",
                    "0",
                    "1920x1080x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if Path::new(&format!("/tmp/.X11-unix/X{number}")).exists() {
                    return Display { number, child };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // lost a race for this display number
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            terminate(&mut child);
        }
        panic!("could not start Xvfb on any display :90..:199");
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

pub struct Options {
    pub vault_dir: PathBuf,
    pub extra_env: Vec<(String, String)>,
    /// The app's command-line arguments (`--background`, as its login
    /// entry starts it).
    pub args: Vec<String>,
}

/// The app running on a fresh display, with a WebDriver session.
pub struct App {
    base: String,
    session: String,
    driver: Child,
    /// The driver's, the app's and the web process's output.
    log_path: PathBuf,
    /// Kept alive for the session: dropping it stops the X server.
    _display: Display,
    /// None when the test holds it itself ([`App::launch_held`]).
    _serial: Option<MutexGuard<'static, ()>>,
    pub started: Instant,
}

impl App {
    pub fn launch(opts: Options) -> App {
        App::start(opts, Some(serial()))
    }

    /// Launches while the test holds the one-app-at-a-time lock itself
    /// ([`serial`]), for a test whose own bus services (a tray host) no
    /// other test's app may see.
    pub fn launch_held(opts: Options, _held: &MutexGuard<'static, ()>) -> App {
        App::start(opts, None)
    }

    fn start(opts: Options, serial: Option<MutexGuard<'static, ()>>) -> App {
        let home_cargo = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
            .map(|c| c.join("bin"))
            .into_iter()
            .collect::<Vec<_>>();
        let tauri_driver = required("tauri-driver", &home_cargo, "cargo install tauri-driver --locked");
        required("WebKitWebDriver", &[], "apt install webkit2gtk-driver");
        let display = Display::start();
        let port = free_port();
        let native = free_port();
        // What tauri-driver, WebKitWebDriver, the app and its web process
        // print, kept per test and shown when the test fails: a web
        // process that ends mid-session says so there.
        let log_path = logs_dir().join(format!(
            "{}.log",
            std::thread::current().name().unwrap_or("e2e").replace("::", "-")
        ));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut cmd = Command::new(tauri_driver);
        cmd.args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("DISPLAY", format!(":{}", display.number))
            .env("KEYWARDEN_VAULT", &opts.vault_dir)
            .env("NO_AT_BRIDGE", "1")
            // Every app a test starts reaches nothing but loopback (the
            // provider fakes): a check a test did not point at a fake fails
            // as unreachable instead of leaving the machine. A release build
            // (the benches) ignores it; their vaults schedule no check.
            .env("KEYWARDEN_TEST_MODE", "1")
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in &opts.extra_env {
            cmd.env(k, v);
        }
        let mut driver = cmd.spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{base}/status")).call().is_err() {
            if Instant::now() > deadline {
                terminate(&mut driver);
                panic!("tauri-driver did not answer on port {port}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let started = Instant::now();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "wry",
            "tauri:options": { "application": app_binary(), "args": opts.args }
        } } });
        let resp: Value = match ureq::post(&format!("{base}/session")).send_json(caps) {
            Ok(r) => r.into_json().unwrap(),
            Err(e) => {
                terminate(&mut driver);
                panic!("could not start the app through WebDriver: {e}");
            }
        };
        let session = resp["value"]["sessionId"].as_str().unwrap().to_owned();
        App {
            base,
            session,
            driver,
            log_path,
            _display: display,
            _serial: serial,
            started,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{}", self.base, self.session, path)
    }

    fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        match ureq::post(&self.url(path)).send_json(body) {
            Ok(r) => Ok(r.into_json::<Value>().map_err(|e| e.to_string())?["value"].clone()),
            Err(ureq::Error::Status(code, r)) => Err(format!("{code}: {}", r.into_string().unwrap_or_default())),
            Err(e) => Err(e.to_string()),
        }
    }

    fn get(&self, path: &str) -> Result<Value, String> {
        match ureq::get(&self.url(path)).call() {
            Ok(r) => Ok(r.into_json::<Value>().map_err(|e| e.to_string())?["value"].clone()),
            Err(ureq::Error::Status(code, r)) => Err(format!("{code}: {}", r.into_string().unwrap_or_default())),
            Err(e) => Err(e.to_string()),
        }
    }

    pub fn try_find(&self, css: &str) -> Option<String> {
        self.post("/element", json!({ "using": "css selector", "value": css }))
            .ok()
            .and_then(|v| v[ELEMENT].as_str().map(str::to_owned))
    }

    pub fn find_all(&self, css: &str) -> Vec<String> {
        self.post("/elements", json!({ "using": "css selector", "value": css }))
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e[ELEMENT].as_str().map(str::to_owned))
            .collect()
    }

    /// Waits up to 10 s for an element.
    /// The X display the app runs on (":N").
    pub fn display_name(&self) -> String {
        format!(":{}", self._display.number)
    }

    /// Answers the app's native "Save as" dialog titled `title` as a person
    /// would: the whole path typed into its name field, then Return. With
    /// no window manager, the dialog is given the keyboard by hand
    /// (xdotool's windowfocus, XSetInputFocus). `path`'s folder must be new
    /// and empty, so the name field's completion has nothing to offer.
    pub fn answer_save_dialog(&self, title: &str, path: &Path) {
        self.answer_file_dialog(title, "ctrl+a", path);
    }

    /// Answers the app's native "Open" dialog titled `title`: Ctrl+L opens
    /// its location field, the whole path is typed there, then Return.
    /// `path` must be the only file in its folder (nothing to complete).
    pub fn answer_open_dialog(&self, title: &str, path: &Path) {
        self.answer_file_dialog(title, "ctrl+l", path);
    }

    fn answer_file_dialog(&self, title: &str, to_name_field: &str, path: &Path) {
        let xdotool = required("xdotool", &[], "apt install xdotool");
        let display = self.display_name();
        let run = |args: &[&str]| {
            let out = Command::new("timeout")
                .arg("20")
                .arg(&xdotool)
                .args(args)
                .env("DISPLAY", &display)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "xdotool {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let name = format!("^{title}$");
        let window = run(&["search", "--sync", "--onlyvisible", "--limit", "1", "--name", &name]);
        let window = window.lines().next().unwrap_or_default().to_owned();
        run(&["windowfocus", "--sync", &window]);
        run(&["key", "--clearmodifiers", to_name_field]);
        run(&["type", "--delay", "15", &path.display().to_string()]);
        // GTK's Open dialog ignores a Return that comes while its location
        // field is still reading the folder typed (seen: the path typed,
        // the dialog left open); a person pauses as long before Return.
        std::thread::sleep(Duration::from_millis(500));
        run(&["key", "Return"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let still = Command::new(&xdotool)
                .args(["search", "--onlyvisible", "--name", &name])
                .env("DISPLAY", &display)
                .output()
                .unwrap();
            if !still.status.success() || still.stdout.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                // What the dialog showed, for the one reading the failure.
                let shot = screens_dir().join(format!("stuck-dialog-{}.png", title.replace(' ', "-")));
                let _ = Command::new("import")
                    .args(["-window", "root"])
                    .arg(&shot)
                    .env("DISPLAY", &display)
                    .status();
                panic!("the file dialog '{title}' stayed open (the screen: {})", shot.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait(&self, css: &str) -> String {
        self.wait_for(css, Duration::from_secs(10))
    }

    pub fn wait_for(&self, css: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(e) = self.try_find(css) {
                return e;
            }
            if Instant::now() > deadline {
                let body = self
                    .script("return document.body.innerText", json!([]))
                    .unwrap_or_default();
                panic!("no element {css} after {limit:?}; the window shows:\n{body}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn click(&self, css: &str) {
        let el = self.wait(css);
        self.post(&format!("/element/{el}/click"), json!({}))
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub fn clear(&self, css: &str) {
        let el = self.wait(css);
        self.post(&format!("/element/{el}/clear"), json!({})).unwrap();
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let el = self.wait(css);
        self.post(&format!("/element/{el}/value"), json!({ "text": text }))
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    pub fn fill(&self, css: &str, text: &str) {
        self.clear(css);
        self.type_into(css, text);
    }

    pub fn text(&self, css: &str) -> String {
        let el = self.wait(css);
        self.get(&format!("/element/{el}/text"))
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn select(&self, css: &str, value: &str) {
        let found = self.script(
            "const s = document.querySelector(arguments[0]); if (!s) return false; s.value = arguments[1]; \
             s.dispatchEvent(new Event('change', { bubbles: true })); return s.value === arguments[1];",
            json!([css, value]),
        );
        assert_eq!(found, Some(json!(true)), "select {css} = {value}");
    }

    /// Presses each key in turn, down and up, as a person does (WebDriver
    /// actions, to whatever has the focus).
    pub fn press(&self, keys: &[&str]) {
        let actions: Vec<Value> = keys
            .iter()
            .flat_map(|k| {
                [
                    json!({ "type": "keyDown", "value": k }),
                    json!({ "type": "keyUp", "value": k }),
                ]
            })
            .collect();
        self.post(
            "/actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] }),
        )
        .unwrap_or_else(|e| panic!("pressing {keys:?}: {e}"));
    }

    /// Types `text` into whatever has the focus, key by key.
    pub fn type_keys(&self, text: &str) {
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let keys: Vec<&str> = chars.iter().map(String::as_str).collect();
        self.press(&keys);
    }

    /// Holds the keys down together, then lets them go (Alt+2).
    pub fn chord(&self, keys: &[&str]) {
        let mut actions: Vec<Value> = keys.iter().map(|k| json!({ "type": "keyDown", "value": k })).collect();
        actions.extend(keys.iter().rev().map(|k| json!({ "type": "keyUp", "value": k })));
        self.post(
            "/actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] }),
        )
        .unwrap_or_else(|e| panic!("pressing {keys:?} together: {e}"));
    }

    /// What has the focus: its tag, id, test id and text (`body` when
    /// nothing does).
    pub fn focused(&self) -> Focus {
        let v = self
            .script(
                "const e = document.activeElement || document.body; \
                 return { tag: e.tagName.toLowerCase(), id: e.id || '', testid: (e.dataset && e.dataset.testid) || '', \
                          text: (e.innerText || e.value || '').trim().slice(0, 120), \
                          dialog: !!e.closest('dialog[open]') };",
                json!([]),
            )
            .unwrap_or_default();
        let s = |k: &str| v[k].as_str().unwrap_or("").to_owned();
        Focus {
            tag: s("tag"),
            id: s("id"),
            testid: s("testid"),
            text: s("text"),
            in_dialog: v["dialog"].as_bool().unwrap_or(false),
        }
    }

    /// Tabs forward until `matches` holds for what has the focus (at most
    /// 60 presses); panics naming where the focus went.
    pub fn tab_to(&self, what: &str, matches: impl Fn(&Focus) -> bool) -> Focus {
        let mut seen = Vec::new();
        for _ in 0..60 {
            self.press(&[keys::TAB]);
            let f = self.focused();
            if matches(&f) {
                return f;
            }
            seen.push(format!("{}#{}[{}] {:?}", f.tag, f.id, f.testid, f.text));
        }
        panic!("Tab never reached {what}; it went through:\n{}", seen.join("\n"));
    }

    pub fn script(&self, body: &str, args: Value) -> Option<Value> {
        self.post("/execute/sync", json!({ "script": body, "args": args })).ok()
    }

    pub fn script_async(&self, body: &str, args: Value) -> Result<Value, String> {
        self.post("/execute/async", json!({ "script": body, "args": args }))
    }

    pub fn body_text(&self) -> String {
        self.script("return document.body.innerText", json!([]))
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn html(&self) -> String {
        self.script("return document.documentElement.outerHTML", json!([]))
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Polls until `check` holds (10 s).
    pub fn until(&self, what: &str, mut check: impl FnMut(&App) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !check(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the window shows:\n{}",
                self.body_text()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn set_window_size(&self, width: u32, height: u32) {
        self.post(
            "/window/rect",
            json!({ "x": 0, "y": 0, "width": width, "height": height }),
        )
        .unwrap_or_else(|e| panic!("resize to {width}x{height}: {e}"));
    }

    /// The window as the X server shows it, saved as
    /// target/e2e-screens/NAME.png. Taken from the display with ImageMagick
    /// rather than WebDriver's /screenshot, which never answers while the
    /// web view paints without GPU compositing (webview_tuning.rs).
    pub fn screenshot(&self, name: &str) -> PathBuf {
        // Wait for two frames so the picture shows the page as it is now.
        self.script_async(
            "const done = arguments[arguments.length - 1]; \
             requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 30)));",
            json!([]),
        )
        .unwrap();
        // No window manager: the window sits at the display's top left.
        let size = self
            .script("return [window.innerWidth, window.innerHeight]", json!([]))
            .and_then(|v| Some((v[0].as_u64()?, v[1].as_u64()?)))
            .unwrap_or((1920, 1080));
        let path = screens_dir().join(format!("{name}.png"));
        let import = required("import", &[], "apt install imagemagick");
        let status = Command::new(import)
            .args(["-display", &format!(":{}", self._display.number), "-window", "root"])
            .args(["-crop", &format!("{}x{}+0+0", size.0, size.1), "+repage"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "import could not capture display :{}",
            self._display.number
        );
        // Every screen and dialog the tests show: no violation of any
        // impact (issue 24); "needs review" items are in the file.
        let violations = self.axe(name);
        assert!(
            violations.is_empty(),
            "axe-core finds {violations:?} on {name} (target/e2e-screens/{name}.axe.json)"
        );
        path
    }

    /// axe-core's verdict on the page as it is now (its default rules:
    /// WCAG 2.x A/AA and best practices), saved beside the screenshot as
    /// target/e2e-screens/NAME.axe.json; returns each violation as
    /// "rule (impact) × nodes".
    pub fn axe(&self, name: &str) -> Vec<String> {
        static SOURCE: OnceLock<String> = OnceLock::new();
        let source = SOURCE.get_or_init(|| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/node_modules/axe-core/axe.min.js");
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{} ({e}): make test installs the UI's packages", path.display()))
        });
        let loaded = self.script(
            &format!("if (!window.axe) {{ {source}\n }} return typeof window.axe === 'object';"),
            json!([]),
        );
        assert_eq!(loaded, Some(json!(true)), "axe-core did not load into the page");
        let result = self
            .script_async(
                "const done = arguments[arguments.length - 1]; \
                 axe.run(document, { resultTypes: ['violations', 'incomplete'] }) \
                   .then((r) => done(JSON.stringify({ url: r.url, violations: r.violations, incomplete: r.incomplete }))) \
                   .catch((e) => done(JSON.stringify({ error: String(e) })));",
                json!([]),
            )
            .unwrap_or_else(|e| panic!("axe-core did not run on {name}: {e}"));
        let text = result.as_str().unwrap_or("{}").to_owned();
        std::fs::write(screens_dir().join(format!("{name}.axe.json")), &text).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap_or_default();
        assert!(
            parsed["error"].is_null(),
            "axe-core failed on {name}: {}",
            parsed["error"]
        );
        let violations = parsed["violations"]
            .as_array()
            .unwrap_or_else(|| panic!("axe-core gave no list of violations on {name}: {text}"));
        violations
            .iter()
            .map(|r| {
                format!(
                    "{} ({}) × {}",
                    r["id"].as_str().unwrap_or("?"),
                    r["impact"].as_str().unwrap_or("?"),
                    r["nodes"].as_array().map_or(0, Vec::len)
                )
            })
            .collect()
    }
}

/// Where the keyboard's focus is (see [`App::focused`]).
#[derive(Debug, Clone)]
pub struct Focus {
    pub tag: String,
    pub id: String,
    pub testid: String,
    pub text: String,
    pub in_dialog: bool,
}

/// WebDriver's key codes.
pub mod keys {
    pub const TAB: &str = "\u{E004}";
    pub const ENTER: &str = "\u{E007}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const ALT: &str = "\u{E00A}";
    pub const ARROW_UP: &str = "\u{E013}";
    pub const ARROW_DOWN: &str = "\u{E015}";
    pub const ARROW_RIGHT: &str = "\u{E014}";
    pub const SHIFT: &str = "\u{E008}";
    pub const CONTROL: &str = "\u{E009}";
    pub const SPACE: &str = "\u{E00D}";
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        terminate(&mut self.driver);
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(80).collect();
            eprintln!(
                "--- last lines of {} (tauri-driver, WebKitWebDriver, the app, its web process):",
                self.log_path.display()
            );
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}
