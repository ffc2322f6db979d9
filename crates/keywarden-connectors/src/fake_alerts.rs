//! Alert receivers on 127.0.0.1 for tests (feature `fakes`): a webhook
//! that records each POST (Slack's and Teams' incoming webhooks answer 200
//! to a JSON body with `text`), and an SMTP sink that speaks ESMTP with
//! STARTTLS (RFC 3207) on a throwaway certificate and AUTH PLAIN (RFC
//! 4954), recording each message. Either can be taken down (503, or the
//! port refusing) and brought back.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;

/// One POST the webhook received.
#[derive(Debug, Clone)]
pub struct Hook {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

pub struct FakeWebhook {
    /// `http://127.0.0.1:<port>/services/T000/B000/<token>`: the webhook's
    /// address, token and all.
    pub url: String,
    received: Arc<Mutex<Vec<Hook>>>,
    /// Every POST, answered or refused (503) while down.
    tried: Arc<Mutex<Vec<Hook>>>,
    down: Arc<AtomicBool>,
}

impl FakeWebhook {
    pub fn start() -> std::io::Result<FakeWebhook> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!(
            "http://{}/services/T000/B000/HOOKTOKEN{}",
            listener.local_addr()?,
            std::process::id()
        );
        let received = Arc::new(Mutex::new(Vec::new()));
        let tried = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(AtomicBool::new(false));
        let logs = (received.clone(), tried.clone());
        let is_down = down.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve_hook(stream, (&logs.0, &logs.1), &is_down);
            }
        });
        Ok(FakeWebhook {
            url,
            received,
            tried,
            down,
        })
    }

    /// Every POST received while up.
    pub fn received(&self) -> Vec<Hook> {
        self.received.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Every POST, including those refused while down.
    pub fn tried(&self) -> Vec<Hook> {
        self.tried.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Down: answers 503 (as a receiver being deployed does); up again.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

fn serve_hook(
    stream: TcpStream,
    (log, tried): (&Mutex<Vec<Hook>>, &Mutex<Vec<Hook>>),
    down: &AtomicBool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    let hook = Hook {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    if let Ok(mut t) = tried.lock() {
        t.push(hook.clone());
    }
    let mut stream = stream;
    if down.load(Ordering::SeqCst) {
        return write!(
            stream,
            "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
    }
    if let Ok(mut l) = log.lock() {
        l.push(hook);
    }
    write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
    )
}

/// One message the SMTP sink took.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Who signed in (AUTH PLAIN), if anyone.
    pub user: Option<String>,
    /// Whether it came after STARTTLS.
    pub tls: bool,
    pub data: String,
}

pub struct SmtpSink {
    pub host: String,
    pub port: u16,
    /// The sink's certificate (self-signed, made now): the CA a client
    /// must be given to trust it.
    pub ca_pem: String,
    mail: Arc<Mutex<Vec<Mail>>>,
    down: Arc<AtomicBool>,
}

impl SmtpSink {
    /// Accepts `user`/`password` over AUTH PLAIN after STARTTLS; refuses
    /// MAIL before STARTTLS (530), as a submission server does.
    pub fn start(user: &str, password: &str) -> std::io::Result<SmtpSink> {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .map_err(std::io::Error::other)?;
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(made.key_pair.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![made.cert.der().clone()], key)
            .map_err(std::io::Error::other)?;
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let mail = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(AtomicBool::new(false));
        let (log, is_down) = (mail.clone(), down.clone());
        let login = format!("\0{user}\0{password}");
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if is_down.load(Ordering::SeqCst) {
                    drop(stream);
                    continue;
                }
                let (config, log, login) = (config.clone(), log.clone(), login.clone());
                std::thread::spawn(move || {
                    let _ = smtp_session(stream, config, &log, &login);
                });
            }
        });
        Ok(SmtpSink {
            host: "127.0.0.1".into(),
            port,
            ca_pem: made.cert.pem(),
            mail,
            down,
        })
    }

    pub fn mail(&self) -> Vec<Mail> {
        self.mail.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Down: connections are closed unanswered; up again.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

/// One line in, one reply out, over plain TCP or TLS.
trait Io: Read + Write {}
impl<T: Read + Write> Io for T {}

fn read_line(io: &mut dyn Io) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if io.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        line.push(byte[0]);
        if line.len() > 1 << 16 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    }
    Ok(String::from_utf8_lossy(&line[..line.len() - 2]).into_owned())
}

fn smtp_session(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    log: &Mutex<Vec<Mail>>,
    login: &str,
) -> std::io::Result<()> {
    let mut plain = stream;
    write!(plain, "220 sink.test ESMTP\r\n")?;
    // Before STARTTLS: EHLO, then STARTTLS; anything else is refused.
    loop {
        let line = read_line(&mut plain)?;
        let verb = line.split(' ').next().unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => write!(plain, "250-sink.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n")?,
            "STARTTLS" => {
                write!(plain, "220 Go ahead\r\n")?;
                break;
            }
            "QUIT" => return write!(plain, "221 Bye\r\n"),
            _ => write!(plain, "530 5.7.0 Must issue a STARTTLS command first\r\n")?,
        }
    }
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, plain);
    let mut mail = Mail {
        from: String::new(),
        to: Vec::new(),
        user: None,
        tls: true,
        data: String::new(),
    };
    loop {
        let line = read_line(&mut tls)?;
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write!(tls, "250-sink.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")?;
        } else if let Some(b64) = line.strip_prefix("AUTH PLAIN ") {
            let given = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .unwrap_or_default();
            if given == login.as_bytes() {
                mail.user = login.split('\0').nth(1).map(str::to_owned);
                write!(tls, "235 2.7.0 Authentication successful\r\n")?;
            } else {
                write!(tls, "535 5.7.8 Authentication credentials invalid\r\n")?;
            }
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = line[10..].trim().trim_matches(['<', '>']).to_owned();
            write!(tls, "250 2.1.0 Ok\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
            write!(tls, "250 2.1.5 Ok\r\n")?;
        } else if upper == "DATA" {
            write!(tls, "354 End data with <CR><LF>.<CR><LF>\r\n")?;
            tls.flush()?;
            loop {
                let l = read_line(&mut tls)?;
                if l == "." {
                    break;
                }
                mail.data.push_str(l.strip_prefix('.').unwrap_or(&l));
                mail.data.push('\n');
            }
            if let Ok(mut m) = log.lock() {
                m.push(mail.clone());
            }
            write!(tls, "250 2.0.0 Ok: queued\r\n")?;
        } else if upper == "QUIT" {
            write!(tls, "221 2.0.0 Bye\r\n")?;
            tls.flush()?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            write!(tls, "250 Ok\r\n")?;
        } else {
            write!(tls, "502 5.5.2 Command not recognized\r\n")?;
        }
        tls.flush()?;
    }
}
