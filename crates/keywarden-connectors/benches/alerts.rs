//! Budget of issue 23: an alert reaches the webhook within 1 s of its
//! event. Measured from the event's write (a credential disabled: the
//! notice and its outbox row in one transaction) to the webhook on
//! 127.0.0.1 having received the POST, through the same delivery the app's
//! alerts thread and `kw` run (`deliver_due`: the outbox read, the secret
//! opened, the POST, the outcome recorded and audited).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use keywarden_connectors::alerts::{AlertOptions, deliver_due};
use keywarden_connectors::fake_alerts::FakeWebhook;
use keywarden_core::alerts::{AlertEvent, NewChannel};
use keywarden_core::*;

fn alert_latency(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let actor = Actor::current(Some("bench".into()));
    let (mut v, _) = Vault::create(&dir.path().join("v"), KeySource::Keychain, actor).unwrap();
    let hook = FakeWebhook::start().unwrap();
    v.add_alert_channel(
        "bench",
        &[AlertEvent::Disabled],
        NewChannel::Webhook {
            url: SecretString::from(hook.url.clone()),
        },
        true,
    )
    .unwrap();
    let options = AlertOptions {
        allow_loopback_http: true,
        smtp_root_pem: None,
        timeout: Duration::from_secs(5),
    };
    let mut n = 0usize;
    c.bench_function(
        "event to webhook (disable → outbox → POST received → recorded)",
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let name = format!("cred-{n}");
                    n += 1;
                    v.add_credential(NewCredential {
                        name: name.clone(),
                        kind: Some(CredentialKind::ApiKey),
                        secrets: SecretFields::single("api_key", SecretString::from(format!("sk_{name}_benchsecret"))),
                        ..Default::default()
                    })
                    .unwrap();
                    let before = hook.received().len();
                    let start = Instant::now();
                    v.disable_credential(&name, "bench").unwrap();
                    let run = deliver_due(&mut v, &options).unwrap();
                    assert_eq!(run.sent, 1);
                    assert_eq!(hook.received().len(), before + 1);
                    total += start.elapsed();
                }
                total
            })
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(10));
    targets = alert_latency
}
criterion_main!(benches);
