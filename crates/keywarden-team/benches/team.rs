//! Issue 10's budgets on a real OpenBao on loopback (`bao server -dev`):
//! listing 1,000 credentials from a team vault (≤ 300 ms) and one rotation
//! without provider time (≤ 100 ms). `make bench` runs it; KEYWARDEN_BAO
//! names the binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use keywarden_core::{Candidate, CredentialKind, Rejection, SecretFields, SecretString, Validator, Verdict};
use keywarden_team::testing::DevServer;
use keywarden_team::{NewTeamCredential, Role, Sharing, TeamVault, admin};

struct NoProvider;
impl Validator for NoProvider {
    fn validate(&self, _: &Candidate<'_>) -> Result<Verdict, Rejection> {
        Ok(Verdict::default())
    }
}

fn secret(i: usize) -> SecretFields {
    SecretFields::single(
        "api_key",
        SecretString::from(format!("pk_live_bench_{i:08}_0123456789")),
    )
}

fn team(c: &mut Criterion) {
    let server = DevServer::start();
    let nodes = [server.addr.clone()];
    let root = server.root_client();
    admin::create_team(&root, "bench", "benchusers").unwrap();
    let password = SecretString::from("bench-password-0123".to_owned());
    admin::add_member(&root, "bench", "benchusers", "bob", &password, Role::Admin).unwrap();
    let bob = TeamVault::sign_in_userpass(&nodes, "bench", "benchusers", "bob", &password).unwrap();
    let started = std::time::Instant::now();
    for i in 0..1000 {
        bob.add(
            NewTeamCredential {
                name: format!("Credential {i:04}"),
                kind: CredentialKind::ApiKey,
                sharing: if i % 10 == 0 { Sharing::Personal } else { Sharing::View },
                config: [("environment".to_owned(), "production".to_owned())].into(),
                secrets: secret(i),
                expires_at: None,
            },
            &NoProvider,
        )
        .unwrap();
    }
    eprintln!("setup: 1,000 adds through TeamVault::add in {:?}", started.elapsed());
    assert_eq!(bob.list().unwrap().len(), 1000);

    let mut g = c.benchmark_group("team_vault");
    g.sample_size(20);
    g.bench_function("list_1000_credentials", |b| b.iter(|| bob.list().unwrap()));
    let mut i = 0;
    g.bench_function("rotate_one_no_provider_time", |b| {
        b.iter(|| {
            i += 1;
            bob.rotate("Credential 0001", secret(10_000 + i), None, &NoProvider)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, team);
criterion_main!(benches);
