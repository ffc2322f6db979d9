//! The TLS listener for LAN use: `kw serve --tls-cert FILE --tls-key FILE`.
//!
//! The broker hands out credentials, so anything but loopback must be TLS:
//! `check_listen` refuses a non-loopback address without a certificate.
//! Handshakes run in their own tasks with a deadline, so a client that
//! connects and never finishes its handshake delays nobody else.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::ServeError;
use crate::guard::{GuardedIo, Slots};

/// A client has this long to finish its TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// The certificate chain and private key (PEM files) `kw serve` presents.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Plain HTTP only on loopback: credentials never cross a network in clear.
pub(crate) fn check_listen(addr: SocketAddr, tls: bool) -> Result<(), ServeError> {
    if tls || addr.ip().is_loopback() {
        return Ok(());
    }
    Err(ServeError(format!(
        "refusing to listen on {addr} without TLS: the broker would send credentials in clear over the network. \
         Give --tls-cert and --tls-key, or listen on 127.0.0.1 and reach it through an SSH tunnel"
    )))
}

/// Reads and checks the PEM files: a clear error for a missing file, a file
/// without a certificate or key, or a key that is not the certificate's.
pub(crate) fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, ServeError> {
    let cert_path = files.cert.display();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| ServeError(format!("cannot read the TLS certificate {cert_path}: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| ServeError(format!("{cert_path} is not a PEM certificate chain: {e}")))?;
    if certs.is_empty() {
        return Err(ServeError(format!(
            "{cert_path} holds no certificate; give the PEM certificate chain (-----BEGIN CERTIFICATE-----)"
        )));
    }
    keywarden_core::secret::check_owner_only(&files.key)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        ServeError(format!(
            "no private key in {}: {e}; give the certificate's PEM key (PKCS#8, PKCS#1 or SEC1)",
            files.key.display()
        ))
    })?;
    // with_single_cert also checks that the key is the certificate's.
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError(format!("TLS set-up failed: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            ServeError(format!(
                "the key {} does not go with the certificate {cert_path}: {e}",
                files.key.display()
            ))
        })?;
    Ok(Arc::new(config))
}

/// Accepted TLS connections, handed to axum once their handshake is done.
pub(crate) struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(GuardedIo<TlsStream<TcpStream>>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting; must be called inside the server's runtime. Each
    /// connection takes its slot (guard.rs) before it is accepted and keeps
    /// it through the handshake: a flood of clients that never finish one
    /// holds at most the slots, each for `HANDSHAKE`, never every file
    /// descriptor of the process.
    pub(crate) fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, ready) = tokio::sync::mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        let slots = Slots::new();
        tokio::spawn(async move {
            let mut reserved = slots.reserve().await;
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    // Out of file descriptors and the like: back off, go on.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    return;
                }
                // Over its address's share: closed at once.
                let Some(slot) = slots.assign(&mut reserved, peer.ip()) else {
                    continue;
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                // The handshake and the hand-over to the server, both within
                // the deadline; the slot goes when this task ends unserved.
                tokio::spawn(tokio::time::timeout(HANDSHAKE, async move {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        let _ = tx.send((GuardedIo::new(tls, slot), peer)).await;
                    }
                }));
                reserved = slots.reserve().await;
            }
        });
        Ok(TlsListener { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = GuardedIo<TlsStream<TcpStream>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept loop only ends with the runtime.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
