//! TLS on a listener (the record API's `api.tls_cert_file` and `api.tls_key_file`, SPEC §10),
//! and on the forwarder's connections to other instances ([`TlsConnector`]), with OpenSSL,
//! the library the Kafka client is already built with.
//!
//! The acceptor follows Mozilla's "intermediate" profile (TLS 1.2 and 1.3, forward-secret
//! AEAD ciphers), refuses anything older than TLS 1.2, disables renegotiation and offers
//! only `http/1.1` by ALPN. The handshake of each connection runs inside the listener's
//! header-read timeout and is evictable like a connection that has not sent its head
//! ([`super::connection`]): a client that connects and stalls holds no slot for long.

use std::pin::Pin;

use openssl::ssl::{
    select_next_proto, AlpnError, Ssl, SslAcceptor, SslConnector, SslMethod, SslOptions,
    SslVerifyMode, SslVersion,
};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyFlags;
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use crate::config::tls::{ForwardTrust, TlsIdentity};

/// ALPN protocol list in wire format: the listener speaks HTTP/1.1 only.
const ALPN_HTTP11: &[u8] = b"\x08http/1.1";

/// A server-side TLS configuration for [`super::HttpServer::with_tls`]; cheap to clone.
#[derive(Clone)]
pub struct TlsAcceptor {
    inner: SslAcceptor,
}

impl std::fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsAcceptor").finish_non_exhaustive()
    }
}

impl TlsAcceptor {
    /// An acceptor presenting `identity`'s chain and key. Errors are OpenSSL's, in one line.
    pub fn new(identity: &TlsIdentity) -> Result<Self, String> {
        let fail = |what: &str, e: openssl::error::ErrorStack| format!("{what}: {e}");
        let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())
            .map_err(|e| fail("cannot set up TLS", e))?;
        builder
            .set_min_proto_version(Some(SslVersion::TLS1_2))
            .map_err(|e| fail("cannot require TLS 1.2", e))?;
        builder.set_options(SslOptions::NO_RENEGOTIATION);
        let Some((leaf, intermediates)) = identity.chain.split_first() else {
            return Err("the certificate chain is empty".into());
        };
        builder
            .set_certificate(leaf)
            .map_err(|e| fail("cannot use the certificate", e))?;
        for certificate in intermediates {
            builder
                .add_extra_chain_cert(certificate.clone())
                .map_err(|e| fail("cannot use an intermediate certificate", e))?;
        }
        builder
            .set_private_key(&identity.key)
            .map_err(|e| fail("cannot use the private key", e))?;
        builder
            .check_private_key()
            .map_err(|e| fail("the private key is not the certificate's", e))?;
        builder.set_alpn_select_callback(|_, offered| {
            select_next_proto(ALPN_HTTP11, offered).ok_or(AlpnError::NOACK)
        });
        Ok(Self {
            inner: builder.build(),
        })
    }

    /// Runs the server side of the handshake on `stream`. Unbounded in time: the caller
    /// bounds it.
    pub(super) async fn accept(&self, stream: TcpStream) -> Result<SslStream<TcpStream>, String> {
        let ssl = Ssl::new(self.inner.context()).map_err(|e| e.to_string())?;
        let mut stream = SslStream::new(ssl, stream).map_err(|e| e.to_string())?;
        Pin::new(&mut stream)
            .accept()
            .await
            .map_err(|e| e.to_string())?;
        Ok(stream)
    }
}

/// A client-side TLS configuration for the forwarder ([`super::forward`]): TLS 1.2 or later,
/// OpenSSL's default ciphers, ALPN `http/1.1`, no renegotiation, and the peer's certificate
/// verified against [`ForwardTrust`] (every certificate listed is a trust anchor: partial
/// chains are accepted) and against the host name (or IP address) of the URL connected to.
/// Cheap to clone.
#[derive(Clone)]
pub struct TlsConnector {
    inner: SslConnector,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector").finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// A connector trusting `trust`. Errors are OpenSSL's, in one line.
    pub fn new(trust: &ForwardTrust) -> Result<Self, String> {
        let fail = |what: &str, e: openssl::error::ErrorStack| format!("{what}: {e}");
        // The builder loads the system's default roots into its store.
        let mut builder = SslConnector::builder(SslMethod::tls_client())
            .map_err(|e| fail("cannot set up TLS", e))?;
        builder
            .set_min_proto_version(Some(SslVersion::TLS1_2))
            .map_err(|e| fail("cannot require TLS 1.2", e))?;
        builder.set_options(SslOptions::NO_RENEGOTIATION);
        builder
            .set_alpn_protos(ALPN_HTTP11)
            .map_err(|e| fail("cannot offer http/1.1", e))?;
        builder.set_verify(SslVerifyMode::PEER);
        if trust.system_roots {
            for anchor in &trust.anchors {
                builder
                    .cert_store_mut()
                    .add_cert(anchor.clone())
                    .map_err(|e| fail("cannot trust a certificate", e))?;
            }
        } else {
            let mut store =
                X509StoreBuilder::new().map_err(|e| fail("cannot set up a trust store", e))?;
            for anchor in &trust.anchors {
                store
                    .add_cert(anchor.clone())
                    .map_err(|e| fail("cannot trust a certificate", e))?;
            }
            builder.set_cert_store(store.build());
        }
        builder
            .verify_param_mut()
            .set_flags(X509VerifyFlags::PARTIAL_CHAIN)
            .map_err(|e| fail("cannot accept partial chains", e))?;
        Ok(Self {
            inner: builder.build(),
        })
    }

    /// Runs the client side of the handshake with `host` (a DNS name, an IPv4 address or an
    /// IPv6 address without brackets) on `stream`, verifying the peer. Unbounded in time:
    /// the caller bounds it.
    pub(super) async fn connect(
        &self,
        host: &str,
        stream: TcpStream,
    ) -> Result<SslStream<TcpStream>, String> {
        // Sets SNI (for names) and the host name or IP address the certificate must name.
        let ssl = self
            .inner
            .configure()
            .and_then(|c| c.into_ssl(host))
            .map_err(|e| e.to_string())?;
        let mut stream = SslStream::new(ssl, stream).map_err(|e| e.to_string())?;
        Pin::new(&mut stream)
            .connect()
            .await
            .map_err(|e| match stream.ssl().verify_result() {
                openssl::x509::X509VerifyResult::OK => e.to_string(),
                failed => format!("certificate verification failed: {failed}"),
            })?;
        Ok(stream)
    }
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
