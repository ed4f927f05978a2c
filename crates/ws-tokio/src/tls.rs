//! TLS through rustls, with the `ring` crypto provider chosen explicitly.
//!
//! - Clients: [`TlsOptions`] → [`client_config`] → [`connect`]. Server certificates are
//!   checked against the platform's roots ([`RootStore::Platform`], through
//!   `rustls-platform-verifier`; if that cannot be built, the Mozilla roots of `webpki-roots`)
//!   or the Mozilla roots alone ([`RootStore::WebPki`]), plus any extra CAs from PEM files.
//!   A server certificate given itself as an extra CA (a self-signed one, as people make to
//!   test locally) is trusted exactly: webpki alone refuses it (a certificate that says it is
//!   a CA cannot be a server's, and a trust anchor is no chain), so when the server presents
//!   exactly that certificate it is checked as webpki checks a server's certificate, minus
//!   the chain: its name, its validity period, its key usage (the notes of `tls/verify.rs`
//!   say more). Nothing else that webpki refuses is accepted.
//!   [`TlsOptions::accept_invalid_certificates`] turns every check off; it is never the default.
//! - Servers: [`server_config`] → [`accept`], optionally requiring client certificates.
//! - Both report what the handshake settled as a [`TlsInfo`].
//!
//! TLS failures become [`Error`]s for which [`Error::is_tls`] holds; [`Error::tls_failure`]
//! classifies them as a [`TlsFailure`] (self-signed, expired, wrong name, unknown issuer, not
//! a TLS server, …) whose `Display` says in plain words what is wrong and whose
//! [`hint`](TlsFailure::hint) says what to do. Unreadable or malformed PEM becomes an
//! [`Error::is_config`] error.
//!
//! With TLS 1.3 the client's handshake is over before the server has checked the client's
//! certificate, so a server that requires one and gets none (or rejects it) says so with an
//! alert that arrives on the client's *first read* after [`connect`] returned. Pass errors from
//! reading or writing the stream through [`stream_error`] to report them as TLS errors.

mod failure;
mod verify;

use std::fmt::Write as _;
use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig, CommonState, DigitallySignedStruct, ProtocolVersion, RootCertStore, ServerConfig,
    SignatureScheme,
};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite};
use x509_parser::extensions::GeneralName;

use self::failure::Role;
use self::verify::Refusal;
use crate::Error;

pub use self::failure::{CertificateDefect, Peer, TlsFailure, TlsProblem};

/// PEM data for a client certificate chain and its private key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The certificate chain, leaf first, as PEM (`-----BEGIN CERTIFICATE-----` blocks).
    pub cert_chain_pem: Vec<u8>,
    /// The private key of the leaf certificate as PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: Vec<u8>,
}

/// TLS options of a client.
///
/// `#[non_exhaustive]`: start from [`TlsOptions::default`] and use the `with_*` setters (or
/// assign the fields), so that a new setting is not a breaking change.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsOptions {
    /// Extra certificate authorities, trusted in addition to [`roots`](Self::roots): each entry
    /// is the contents of a PEM file with one or more CA certificates. A server's own
    /// certificate (such as a self-signed one) may be given too: a server presenting exactly
    /// that certificate is trusted, if it is valid for the name and not expired.
    pub extra_ca_pem: Vec<Vec<u8>>,
    /// A certificate to present when the server asks for one.
    pub client_certificate: Option<ClientCertificate>,
    /// Accept any server certificate: no check of the name, the expiry or the chain. Only
    /// for testing against servers you control; `false` by default.
    pub accept_invalid_certificates: bool,
    /// Which roots to trust. [`RootStore::Platform`] by default.
    pub roots: RootStore,
    /// ALPN protocols to offer, most preferred first. `http/1.1` by default, which is what
    /// WebSocket over TLS speaks; empty to offer none.
    pub alpn: Vec<Vec<u8>>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self {
            extra_ca_pem: Vec::new(),
            client_certificate: None,
            accept_invalid_certificates: false,
            roots: RootStore::Platform,
            alpn: vec![b"http/1.1".to_vec()],
        }
    }
}

impl TlsOptions {
    /// Trusts the certificates in this PEM data too (see
    /// [`extra_ca_pem`](Self::extra_ca_pem)).
    pub fn with_extra_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_ca_pem.push(pem.into());
        self
    }

    /// Presents this certificate when the server asks for one.
    pub fn with_client_certificate(mut self, certificate: ClientCertificate) -> Self {
        self.client_certificate = Some(certificate);
        self
    }

    /// Accepts any server certificate: only for testing against servers you control.
    pub fn with_accept_invalid_certificates(mut self, accept: bool) -> Self {
        self.accept_invalid_certificates = accept;
        self
    }

    /// Which roots to trust.
    pub fn with_roots(mut self, roots: RootStore) -> Self {
        self.roots = roots;
        self
    }

    /// The ALPN protocols to offer, most preferred first.
    pub fn with_alpn(mut self, alpn: Vec<Vec<u8>>) -> Self {
        self.alpn = alpn;
        self
    }
}

/// The root certificates a client trusts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RootStore {
    /// The operating system's roots, through `rustls-platform-verifier`; if its verifier
    /// cannot be built (no system roots found), the Mozilla roots of `webpki-roots`.
    #[default]
    Platform,
    /// Only the Mozilla roots compiled into `webpki-roots`.
    WebPki,
}

impl TlsOptions {
    /// Reads a PEM file of one or more CA certificates and trusts them in addition to the
    /// roots. The file is checked now, so a bad file is reported with its name.
    pub fn add_ca_file(&mut self, path: impl AsRef<Path>) -> crate::Result<()> {
        let path = path.as_ref();
        let pem = read_file(path, "CA file")?;
        parse_certificates(&pem, &format!("CA file {}", path.display()))?;
        self.extra_ca_pem.push(pem);
        Ok(())
    }

    /// Reads a client certificate chain and its private key from two PEM files (they may be
    /// the same file). Both are checked now, so a bad file is reported with its name.
    pub fn client_certificate_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> crate::Result<ClientCertificate> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let cert_chain_pem = read_file(cert, "client certificate file")?;
        parse_certificates(
            &cert_chain_pem,
            &format!("client certificate file {}", cert.display()),
        )?;
        let key_pem = read_file(key, "client key file")?;
        parse_private_key(&key_pem, &format!("client key file {}", key.display()))?;
        Ok(ClientCertificate {
            cert_chain_pem,
            key_pem,
        })
    }
}

/// Builds a client configuration from `options`.
///
/// Loading the platform's roots reads the system's certificate store, so build the
/// configuration once and share it between connections where you can.
pub fn client_config(options: &TlsOptions) -> crate::Result<Arc<ClientConfig>> {
    let provider = provider();
    let extra_roots = options
        .extra_ca_pem
        .iter()
        .enumerate()
        .map(|(i, pem)| parse_certificates(pem, &format!("extra CA #{}", i + 1)))
        .collect::<crate::Result<Vec<_>>>()?
        .concat();
    // Check the extra roots here, so that a bad one is reported as such rather than taken
    // for a platform verifier that cannot be built.
    let webpki_roots = webpki_root_store(&extra_roots)?;

    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config("the TLS crypto provider is unusable").with_source(e))?;
    let builder = if options.accept_invalid_certificates {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCertificate {
                algorithms: provider.signature_verification_algorithms,
            }))
    } else {
        let inner: Arc<dyn ServerCertVerifier> = match options.roots {
            RootStore::Platform => match rustls_platform_verifier::Verifier::new_with_extra_roots(
                extra_roots.iter().cloned(),
                provider.clone(),
            ) {
                Ok(verifier) => Arc::new(verifier),
                Err(_) => webpki_verifier(with_mozilla_roots(webpki_roots), &provider)?,
            },
            RootStore::WebPki => webpki_verifier(with_mozilla_roots(webpki_roots), &provider)?,
        };
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verify::Verifier::new(inner, extra_roots)))
    };

    let mut config = match &options.client_certificate {
        None => builder.with_no_client_auth(),
        Some(certificate) => {
            let chain =
                parse_certificates(&certificate.cert_chain_pem, "client certificate chain")?;
            let key = parse_private_key(&certificate.key_pem, "client private key")?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| unusable_key("client certificate", e))?
        }
    };
    config.alpn_protocols = options.alpn.clone();
    Ok(Arc::new(config))
}

/// What the TLS handshake settled, for the tap and the inspector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    /// The protocol version, such as `TLSv1.3`.
    pub version: String,
    /// The cipher suite, such as `TLS13_AES_128_GCM_SHA256`.
    pub cipher_suite: String,
    /// The protocol agreed through ALPN, such as `http/1.1`.
    pub alpn: Option<String>,
    /// For a client, the name it asked for (a DNS name or an IP address, without brackets);
    /// for a server, the name the client sent (SNI), or an empty string if it sent none.
    pub server_name: String,
    /// The peer's certificates, leaf first (none for a client that presented none).
    pub peer_certificates: Vec<CertificateInfo>,
}

/// One certificate of the peer, readable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The certificate, DER-encoded.
    pub der: Vec<u8>,
    /// The subject's distinguished name, such as `CN=localhost, O=Example`.
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// Start of validity, such as `2026-11-24 04:12:00 UTC`.
    pub not_before: String,
    /// End of validity, such as `2027-11-24 04:12:00 UTC`.
    pub not_after: String,
    /// The subject alternative names, each with its kind: `DNS:localhost`, `IP:127.0.0.1`,
    /// `email:…`, `URI:…`.
    pub subject_alt_names: Vec<String>,
}

impl CertificateInfo {
    /// Reads a DER certificate. A certificate that cannot be parsed is still returned, with
    /// its DER and the reason in [`subject`](Self::subject).
    pub fn from_der(der: &[u8]) -> Self {
        let mut info = Self {
            der: der.to_vec(),
            subject: String::new(),
            issuer: String::new(),
            not_before: String::new(),
            not_after: String::new(),
            subject_alt_names: Vec::new(),
        };
        let certificate = match x509_parser::parse_x509_certificate(der) {
            Ok((_, certificate)) => certificate,
            Err(e) => {
                info.subject = format!("(the certificate cannot be parsed: {e})");
                return info;
            }
        };
        info.subject = certificate.subject().to_string();
        info.issuer = certificate.issuer().to_string();
        info.not_before = format_unix_time(certificate.validity().not_before.timestamp());
        info.not_after = format_unix_time(certificate.validity().not_after.timestamp());
        if let Ok(Some(san)) = certificate.subject_alternative_name() {
            info.subject_alt_names = san
                .value
                .general_names
                .iter()
                .map(general_name_to_string)
                .collect();
        }
        info
    }
}

/// Runs the client side of a TLS handshake over `stream`.
///
/// `server_name` is a DNS name or an IP literal (an IPv6 one with or without `[ ]`); it is
/// sent as SNI (DNS names only) and the server's certificate must be valid for it.
pub async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    server_name: &str,
    config: Arc<ClientConfig>,
) -> crate::Result<(tokio_rustls::client::TlsStream<S>, TlsInfo)> {
    let bare = strip_brackets(server_name);
    let name = ServerName::try_from(bare.to_owned()).map_err(|e| {
        Error::config(format!(
            "{server_name:?} is not a valid server name (a DNS name or an IP address)"
        ))
        .with_source(e)
    })?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| {
            handshake_error(
                e,
                Role::Client {
                    server_name: Some(bare),
                },
            )
        })?;
    let info = tls_info(stream.get_ref().1, bare.to_owned());
    Ok((stream, info))
}

/// Turns an error from reading or writing a client's TLS stream into an [`Error`]: rustls
/// failures (such as the alert of a TLS 1.3 server that requires a client certificate, which
/// arrives after [`connect`] returned) become [`Error::is_tls`] errors, the rest (a reset, a
/// close without TLS' `close_notify`) I/O errors.
pub fn stream_error(err: io::Error) -> Error {
    match rustls_error(&err) {
        Some(tls) => tls_error(tls, Role::Client { server_name: None }),
        None => Error::io(err),
    }
}

/// Builds a server configuration from a PEM certificate chain (leaf first) and its private
/// key. With `client_ca_pem` (PEM, one or more CA certificates), clients must present a
/// certificate issued by one of those CAs. ALPN offers `http/1.1`.
pub fn server_config(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: Option<&[u8]>,
) -> crate::Result<Arc<ServerConfig>> {
    let provider = provider();
    let chain = parse_certificates(cert_chain_pem, "server certificate chain")?;
    let key = parse_private_key(key_pem, "server private key")?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config("the TLS crypto provider is unusable").with_source(e))?;
    let builder = match client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let cas = parse_certificates(pem, "client CA")?;
            let mut roots = RootCertStore::empty();
            for ca in cas {
                roots.add(ca).map_err(|e| {
                    Error::config("client CA is not a usable CA certificate").with_source(e)
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| {
                    Error::config("cannot verify client certificates with this CA").with_source(e)
                })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| unusable_key("server certificate", e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Runs the server side of a TLS handshake over `stream`.
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    config: Arc<ServerConfig>,
) -> crate::Result<(tokio_rustls::server::TlsStream<S>, TlsInfo)> {
    let stream = tokio_rustls::TlsAcceptor::from(config)
        .accept(stream)
        .await
        .map_err(|e| handshake_error(e, Role::Server))?;
    let connection = stream.get_ref().1;
    let server_name = connection.server_name().unwrap_or_default().to_owned();
    let info = tls_info(connection, server_name);
    Ok((stream, info))
}

/// The crypto provider of every configuration built here.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_file(path: &Path, what: &str) -> crate::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::config(format!("cannot read {what} {}", path.display())).with_source(e))
}

/// The certificates in `pem`, at least one.
fn parse_certificates(pem: &[u8], what: &str) -> crate::Result<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, pem::Error>>()
        .map_err(|e| Error::config(format!("{what} is not valid PEM")).with_source(e))?;
    if certificates.is_empty() {
        return Err(Error::config(format!(
            "{what} contains no certificate (expected PEM \"-----BEGIN CERTIFICATE-----\" blocks)"
        )));
    }
    Ok(certificates)
}

/// The first private key in `pem`.
fn parse_private_key(pem: &[u8], what: &str) -> crate::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        pem::Error::NoItemsFound => Error::config(format!(
            "{what} contains no private key (expected a PEM block such as \
             \"-----BEGIN PRIVATE KEY-----\")"
        )),
        e => Error::config(format!("{what} is not valid PEM")).with_source(e),
    })
}

fn unusable_key(what: &str, e: rustls::Error) -> Error {
    let message = match e {
        rustls::Error::InconsistentKeys(_) => {
            format!("the {what} and its private key do not belong together")
        }
        _ => format!("the {what} or its private key cannot be used"),
    };
    Error::config(message).with_source(e)
}

/// A root store holding `extra` (checked as trust anchors).
fn webpki_root_store(extra: &[CertificateDer<'static>]) -> crate::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for (i, certificate) in extra.iter().enumerate() {
        roots.add(certificate.clone()).map_err(|e| {
            Error::config(format!(
                "extra CA certificate #{} is not a usable CA certificate",
                i + 1
            ))
            .with_source(e)
        })?;
    }
    Ok(roots)
}

fn with_mozilla_roots(mut roots: RootCertStore) -> RootCertStore {
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    roots
}

fn webpki_verifier(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> crate::Result<Arc<dyn ServerCertVerifier>> {
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| Error::config("cannot verify server certificates").with_source(e))?;
    Ok(verifier)
}

/// The verifier behind [`TlsOptions::accept_invalid_certificates`]: any certificate chain
/// for any name is accepted. The handshake signatures are still checked against the
/// presented certificate (as rustls' own examples do), which proves only that the server
/// holds that certificate's key.
#[derive(Debug)]
struct AcceptAnyServerCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyServerCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn tls_info(connection: &CommonState, server_name: String) -> TlsInfo {
    let version = match connection.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    };
    let cipher_suite = connection
        .negotiated_cipher_suite()
        .map(|suite| {
            let suite = suite.suite();
            suite
                .as_str()
                .map_or_else(|| format!("{suite:?}"), str::to_owned)
        })
        .unwrap_or_default();
    TlsInfo {
        version,
        cipher_suite,
        alpn: connection
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        server_name,
        peer_certificates: connection
            .peer_certificates()
            .unwrap_or_default()
            .iter()
            .map(|der| CertificateInfo::from_der(der))
            .collect(),
    }
}

fn strip_brackets(name: &str) -> &str {
    name.strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name)
}

fn general_name_to_string(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(dns) => format!("DNS:{dns}"),
        GeneralName::IPAddress(bytes) => match <[u8; 4]>::try_from(*bytes) {
            Ok(v4) => format!("IP:{}", IpAddr::from(v4)),
            Err(_) => match <[u8; 16]>::try_from(*bytes) {
                Ok(v6) => format!("IP:{}", IpAddr::from(v6)),
                Err(_) => format!("IP:{}", hex(bytes)),
            },
        },
        GeneralName::RFC822Name(email) => format!("email:{email}"),
        GeneralName::URI(uri) => format!("URI:{uri}"),
        GeneralName::DirectoryName(dn) => format!("DirName:{dn}"),
        other => other.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`, by the `time` crate (what
/// x509-parser reads certificate dates with); a time beyond what it represents (years
/// outside ±9999) as the number of seconds.
fn format_unix_time(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| format!("{secs} s after 1970-01-01 00:00:00 UTC"))
}

/// A failed handshake: rustls failures and a peer that gave up on TLS (closed or reset the
/// connection) become [`Error::is_tls`] errors, the rest I/O errors.
fn handshake_error(err: io::Error, role: Role<'_>) -> Error {
    if let Some(tls) = rustls_error(&err) {
        return tls_error(tls, role);
    }
    match TlsFailure::from_handshake_io(&err, role) {
        Some(failure) => Error::tls(failure).with_source(err),
        None => Error::io(err),
    }
}

/// tokio-rustls reports rustls failures as `io::Error`s wrapping a `rustls::Error`.
fn rustls_error(err: &io::Error) -> Option<&rustls::Error> {
    err.get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
}

/// The classified failure, with the error rustls (or, for a certificate refused by our
/// verifier, the inner verifier) reported as its source.
fn tls_error(err: &rustls::Error, role: Role<'_>) -> Error {
    let failure = TlsFailure::from_rustls(err, role);
    let source = Refusal::find(err).map_or(err, Refusal::cause).clone();
    Error::tls(failure).with_source(source)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
        ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, date_time_ymd,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::task::JoinHandle;

    use super::*;

    /// A test CA and a way to issue certificates from it.
    struct Ca {
        issuer: CertifiedIssuer<'static, KeyPair>,
    }

    /// A certificate and its key, as PEM.
    struct Issued {
        cert_pem: String,
        key_pem: String,
    }

    impl Ca {
        fn new(name: &str) -> Self {
            let mut params = CertificateParams::default();
            params.distinguished_name = distinguished_name(name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            params.not_before = date_time_ymd(2025, 1, 1);
            params.not_after = date_time_ymd(2040, 1, 1);
            let issuer =
                CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
            Self { issuer }
        }

        fn pem(&self) -> String {
            self.issuer.pem()
        }

        fn issue(
            &self,
            common_name: &str,
            names: &[&str],
            purpose: ExtendedKeyUsagePurpose,
            not_after: (i32, u8, u8),
        ) -> Issued {
            let mut params =
                CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                    .unwrap();
            params.distinguished_name = distinguished_name(common_name);
            params.extended_key_usages = vec![purpose];
            params.not_before = date_time_ymd(2025, 1, 1);
            params.not_after = date_time_ymd(not_after.0, not_after.1, not_after.2);
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &self.issuer).unwrap();
            Issued {
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
            }
        }

        fn server(&self) -> Issued {
            self.issue(
                "localhost",
                &["localhost", "127.0.0.1"],
                ExtendedKeyUsagePurpose::ServerAuth,
                (2035, 1, 1),
            )
        }

        fn client(&self) -> Issued {
            self.issue(
                "test client",
                &[],
                ExtendedKeyUsagePurpose::ClientAuth,
                (2035, 1, 1),
            )
        }
    }

    fn distinguished_name(common_name: &str) -> DistinguishedName {
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        dn
    }

    /// A one-connection TLS server on 127.0.0.1 that answers "pong" to "ping".
    async fn serve_once(
        config: Arc<ServerConfig>,
    ) -> (SocketAddr, JoinHandle<crate::Result<TlsInfo>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let (mut tls, info) = accept(tcp, config).await?;
            let mut ping = [0; 4];
            tls.read_exact(&mut ping).await.map_err(Error::io)?;
            assert_eq!(&ping, b"ping");
            tls.write_all(b"pong").await.map_err(Error::io)?;
            tls.shutdown().await.map_err(Error::io)?;
            Ok(info)
        });
        (addr, task)
    }

    /// Connects to `addr` as `server_name`, then exchanges ping/pong.
    async fn ping(
        addr: SocketAddr,
        server_name: &str,
        options: &TlsOptions,
    ) -> crate::Result<TlsInfo> {
        let config = client_config(options)?;
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (mut tls, info) = connect(tcp, server_name, config).await?;
        tls.write_all(b"ping").await.map_err(stream_error)?;
        let mut pong = [0; 4];
        tls.read_exact(&mut pong).await.map_err(stream_error)?;
        assert_eq!(&pong, b"pong");
        Ok(info)
    }

    /// Connects to `addr` as `server_name` and reads, without writing first: a server that
    /// refuses our client certificate after a TLS 1.3 handshake says so on the first read (a
    /// write first could make it close with a reset, which may discard its alert).
    async fn connect_and_read(
        addr: SocketAddr,
        server_name: &str,
        options: &TlsOptions,
    ) -> crate::Result<()> {
        let config = client_config(options)?;
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (mut tls, _) = connect(tcp, server_name, config).await?;
        let mut buf = [0; 16];
        let n = tls.read(&mut buf).await.map_err(stream_error)?;
        panic!("the server let us in and sent {n} bytes");
    }

    fn trusting(ca: &Ca) -> TlsOptions {
        TlsOptions {
            extra_ca_pem: vec![ca.pem().into_bytes()],
            ..TlsOptions::default()
        }
    }

    fn plain_server(issued: &Issued) -> Arc<ServerConfig> {
        server_config(issued.cert_pem.as_bytes(), issued.key_pem.as_bytes(), None).unwrap()
    }

    #[tokio::test]
    async fn trusted_ca_connects_and_reports_the_session() {
        let ca = Ca::new("ws-tokio test CA");
        let (addr, server) = serve_once(plain_server(&ca.server())).await;

        let info = ping(addr, "localhost", &trusting(&ca)).await.unwrap();

        assert_eq!(info.version, "TLSv1.3");
        assert!(
            info.cipher_suite.starts_with("TLS13_"),
            "{}",
            info.cipher_suite
        );
        assert_eq!(info.alpn.as_deref(), Some("http/1.1"));
        assert_eq!(info.server_name, "localhost");
        assert_eq!(info.peer_certificates.len(), 1);
        let leaf = &info.peer_certificates[0];
        assert_eq!(leaf.subject, "CN=localhost");
        assert_eq!(leaf.issuer, "CN=ws-tokio test CA");
        assert_eq!(leaf.not_before, "2025-01-01 00:00:00 UTC");
        assert_eq!(leaf.not_after, "2035-01-01 00:00:00 UTC");
        assert_eq!(leaf.subject_alt_names, ["DNS:localhost", "IP:127.0.0.1"]);
        assert!(!leaf.der.is_empty());

        let server_info = server.await.unwrap().unwrap();
        assert_eq!(server_info.version, "TLSv1.3");
        assert_eq!(server_info.server_name, "localhost");
        assert_eq!(server_info.alpn.as_deref(), Some("http/1.1"));
        assert!(server_info.peer_certificates.is_empty());
    }

    #[tokio::test]
    async fn ip_address_names_connect_with_or_without_brackets() {
        let ca = Ca::new("ws-tokio test CA");
        let (addr, server) = serve_once(plain_server(&ca.server())).await;
        let info = ping(addr, "127.0.0.1", &trusting(&ca)).await.unwrap();
        assert_eq!(info.server_name, "127.0.0.1");
        // No SNI for IP addresses.
        assert_eq!(server.await.unwrap().unwrap().server_name, "");

        assert!(strip_brackets("[::1]") == "::1" && strip_brackets("::1") == "::1");
        let err = connect(
            tokio::io::empty(),
            "not a name!",
            client_config(&TlsOptions::default()).unwrap(),
        )
        .await
        .unwrap_err();
        assert!(err.is_config(), "{err}");
    }

    #[tokio::test]
    async fn webpki_roots_with_extra_ca_connect() {
        let ca = Ca::new("ws-tokio test CA");
        let (addr, server) = serve_once(plain_server(&ca.server())).await;
        let options = TlsOptions {
            roots: RootStore::WebPki,
            ..trusting(&ca)
        };
        ping(addr, "localhost", &options).await.unwrap();
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn wrong_name_fails_and_says_which_name() {
        let ca = Ca::new("ws-tokio test CA");
        let (addr, _server) = serve_once(plain_server(&ca.server())).await;

        let err = ping(addr, "wrong.example", &trusting(&ca))
            .await
            .unwrap_err();

        assert!(err.is_tls(), "{err}");
        assert_eq!(
            err.tls_failure().map(TlsFailure::problem),
            Some(&TlsProblem::WrongName {
                name: Some("wrong.example".to_owned()),
                valid_for: vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
            })
        );
        let message = err.to_string();
        assert!(
            message.starts_with(
                "the server's certificate is not valid for the name wrong.example; it is \
                 valid for localhost, 127.0.0.1: "
            ),
            "{message}"
        );
    }

    #[tokio::test]
    async fn accept_invalid_certificates_accepts_a_wrong_name_and_an_unknown_ca() {
        let ca = Ca::new("ws-tokio test CA");
        let (addr, server) = serve_once(plain_server(&ca.server())).await;
        let options = TlsOptions {
            accept_invalid_certificates: true,
            ..TlsOptions::default()
        };

        let info = ping(addr, "wrong.example", &options).await.unwrap();

        assert_eq!(info.peer_certificates[0].subject, "CN=localhost");
        server.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn untrusted_self_signed_certificate_fails_as_self_signed() {
        let self_signed = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let config = server_config(
            self_signed.cert.pem().as_bytes(),
            self_signed.signing_key.serialize_pem().as_bytes(),
            None,
        )
        .unwrap();
        let (addr, _server) = serve_once(config).await;

        // Trust some other CA, so that the platform roots are not the only ones.
        let other = Ca::new("another CA");
        let err = ping(addr, "localhost", &trusting(&other))
            .await
            .unwrap_err();

        assert!(err.is_tls(), "{err}");
        assert_eq!(
            err.tls_failure().map(TlsFailure::problem),
            Some(&TlsProblem::SelfSigned)
        );
        assert!(err.to_string().contains("self-signed"), "{err}");
    }

    #[tokio::test]
    async fn expired_certificate_fails_as_expired() {
        let ca = Ca::new("ws-tokio test CA");
        let expired = ca.issue(
            "localhost",
            &["localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
            (2025, 6, 1),
        );
        let (addr, _server) = serve_once(plain_server(&expired)).await;

        let err = ping(addr, "localhost", &trusting(&ca)).await.unwrap_err();

        assert!(err.is_tls(), "{err}");
        assert!(
            err.to_string()
                .contains("certificate has expired (it was valid until 2025-06-01 00:00:00 UTC)"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn plain_tcp_server_is_reported_as_not_tls() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut buf = [0; 1024];
            let _ = tcp.read(&mut buf).await;
            let _ = tcp
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        });
        let err = ping(addr, "localhost", &TlsOptions::default())
            .await
            .unwrap_err();
        assert!(err.is_tls(), "{err}");
        assert_eq!(
            err.tls_failure().map(TlsFailure::problem),
            Some(&TlsProblem::NotTls)
        );
        assert!(err.to_string().contains("not a TLS server"), "{err}");
    }

    /// A self-signed certificate for `names`: with `ca`, as `openssl req -x509` makes one
    /// (basicConstraints CA:TRUE), else as rcgen's simple one (no basicConstraints).
    fn self_signed(
        names: &[&str],
        ca: bool,
        purpose: ExtendedKeyUsagePurpose,
        not_after: (i32, u8, u8),
    ) -> Issued {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name = distinguished_name("ws-tokio self-signed");
        if ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        params.extended_key_usages = vec![purpose];
        params.not_before = date_time_ymd(2025, 1, 1);
        params.not_after = date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    fn trusting_itself(issued: &Issued, roots: RootStore) -> TlsOptions {
        TlsOptions {
            extra_ca_pem: vec![issued.cert_pem.clone().into_bytes()],
            roots,
            ..TlsOptions::default()
        }
    }

    fn problem(err: &Error) -> Option<&TlsProblem> {
        err.tls_failure().map(TlsFailure::problem)
    }

    #[tokio::test]
    async fn a_self_signed_certificate_given_as_its_own_ca_connects() {
        for ca in [true, false] {
            for roots in [RootStore::Platform, RootStore::WebPki] {
                let issued = self_signed(
                    &["localhost", "127.0.0.1"],
                    ca,
                    ExtendedKeyUsagePurpose::ServerAuth,
                    (2035, 1, 1),
                );
                let (addr, server) = serve_once(plain_server(&issued)).await;
                let info = ping(addr, "localhost", &trusting_itself(&issued, roots))
                    .await
                    .unwrap_or_else(|e| panic!("ca: {ca}, {roots:?}: {e}"));
                assert_eq!(info.peer_certificates[0].subject, "CN=ws-tokio self-signed");
                server.await.unwrap().unwrap();
            }
        }
    }

    #[tokio::test]
    async fn a_certificate_trusted_as_its_own_ca_must_still_match_the_name() {
        let issued = self_signed(
            &["localhost"],
            true,
            ExtendedKeyUsagePurpose::ServerAuth,
            (2035, 1, 1),
        );
        let (addr, _server) = serve_once(plain_server(&issued)).await;
        let options = trusting_itself(&issued, RootStore::WebPki);
        let err = ping(addr, "127.0.0.1", &options).await.unwrap_err();
        assert_eq!(
            problem(&err),
            Some(&TlsProblem::WrongName {
                name: Some("127.0.0.1".to_owned()),
                valid_for: vec!["localhost".to_owned()],
            }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_certificate_trusted_as_its_own_ca_must_still_be_valid_now() {
        let issued = self_signed(
            &["localhost"],
            true,
            ExtendedKeyUsagePurpose::ServerAuth,
            (2025, 6, 1),
        );
        let (addr, _server) = serve_once(plain_server(&issued)).await;
        let options = trusting_itself(&issued, RootStore::WebPki);
        let err = ping(addr, "localhost", &options).await.unwrap_err();
        assert!(
            matches!(
                problem(&err),
                Some(TlsProblem::Expired { not_after: Some(_) })
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_certificate_trusted_as_its_own_ca_must_be_meant_for_servers() {
        let issued = self_signed(
            &["localhost"],
            true,
            ExtendedKeyUsagePurpose::ClientAuth,
            (2035, 1, 1),
        );
        let (addr, _server) = serve_once(plain_server(&issued)).await;
        let options = trusting_itself(&issued, RootStore::WebPki);
        let err = ping(addr, "localhost", &options).await.unwrap_err();
        assert_eq!(problem(&err), Some(&TlsProblem::WrongPurpose), "{err}");
    }

    #[tokio::test]
    async fn only_the_exact_certificate_is_trusted_as_its_own_ca() {
        // Same names, same subject, another key: not the certificate the user trusted.
        let trusted = self_signed(
            &["localhost"],
            true,
            ExtendedKeyUsagePurpose::ServerAuth,
            (2035, 1, 1),
        );
        let presented = self_signed(
            &["localhost"],
            true,
            ExtendedKeyUsagePurpose::ServerAuth,
            (2035, 1, 1),
        );
        let (addr, _server) = serve_once(plain_server(&presented)).await;
        let options = trusting_itself(&trusted, RootStore::WebPki);
        let err = ping(addr, "localhost", &options).await.unwrap_err();
        assert_eq!(problem(&err), Some(&TlsProblem::SelfSigned), "{err}");
        let failure = err.tls_failure().unwrap();
        assert_eq!(
            failure.certificate().map(|c| c.der.as_slice()),
            Some(pem_der(&presented.cert_pem).as_slice())
        );
    }

    #[tokio::test]
    async fn a_ca_certificate_presented_as_a_servers_own_is_named_as_such() {
        let ca = Ca::new("ws-tokio test CA");
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.distinguished_name = distinguished_name("an intermediate CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca.issuer).unwrap();
        let issued = Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        };
        let (addr, _server) = serve_once(plain_server(&issued)).await;
        let options = TlsOptions {
            roots: RootStore::WebPki,
            ..trusting(&ca)
        };
        let err = ping(addr, "localhost", &options).await.unwrap_err();
        assert_eq!(problem(&err), Some(&TlsProblem::CaCertificate), "{err}");
        assert!(!err.to_string().contains("Other("), "{err}");
    }

    #[tokio::test]
    async fn an_unknown_authority_is_named() {
        let ca = Ca::new("ws-tokio test CA");
        let (addr, _server) = serve_once(plain_server(&ca.server())).await;
        let options = TlsOptions {
            roots: RootStore::WebPki,
            ..TlsOptions::default()
        };
        let err = ping(addr, "localhost", &options).await.unwrap_err();
        assert_eq!(
            problem(&err),
            Some(&TlsProblem::UnknownIssuer {
                issuer: Some("CN=ws-tokio test CA".to_owned())
            }),
            "{err}"
        );
        assert!(err.to_string().contains("extra CA"), "{err}");
    }

    fn pem_der(pem: &str) -> Vec<u8> {
        CertificateDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .to_vec()
    }

    fn mutual_server(ca: &Ca) -> Arc<ServerConfig> {
        let server = ca.server();
        server_config(
            server.cert_pem.as_bytes(),
            server.key_pem.as_bytes(),
            Some(ca.pem().as_bytes()),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn server_requiring_a_client_certificate_refuses_a_client_without_one() {
        let ca = Ca::new("ws-tokio test CA");
        let (addr, server) = serve_once(mutual_server(&ca)).await;

        // TLS 1.3: the client's handshake completes; the refusal arrives as an alert on the
        // first read, which `stream_error` turns into a TLS error.
        let err = connect_and_read(addr, "localhost", &trusting(&ca))
            .await
            .unwrap_err();

        assert!(err.is_tls(), "{err}");
        assert!(
            err.to_string()
                .contains("the server requires a client certificate"),
            "{err}"
        );
        let server_err = server.await.unwrap().unwrap_err();
        assert!(server_err.is_tls(), "{server_err}");
        assert!(
            server_err
                .to_string()
                .contains("client presented no certificate"),
            "{server_err}"
        );
    }

    #[tokio::test]
    async fn server_requiring_a_client_certificate_accepts_one_from_its_ca() {
        let ca = Ca::new("ws-tokio test CA");
        let (addr, server) = serve_once(mutual_server(&ca)).await;
        let client = ca.client();
        let options = TlsOptions {
            client_certificate: Some(ClientCertificate {
                cert_chain_pem: client.cert_pem.into_bytes(),
                key_pem: client.key_pem.into_bytes(),
            }),
            ..trusting(&ca)
        };

        ping(addr, "localhost", &options).await.unwrap();

        let server_info = server.await.unwrap().unwrap();
        assert_eq!(server_info.peer_certificates.len(), 1);
        assert_eq!(server_info.peer_certificates[0].subject, "CN=test client");
    }

    #[tokio::test]
    async fn server_rejects_a_client_certificate_from_another_ca() {
        let ca = Ca::new("ws-tokio test CA");
        let (addr, server) = serve_once(mutual_server(&ca)).await;
        let client = Ca::new("another CA").client();
        let options = TlsOptions {
            client_certificate: Some(ClientCertificate {
                cert_chain_pem: client.cert_pem.into_bytes(),
                key_pem: client.key_pem.into_bytes(),
            }),
            ..trusting(&ca)
        };

        let err = connect_and_read(addr, "localhost", &options)
            .await
            .unwrap_err();

        assert!(err.is_tls(), "{err}");
        assert!(
            err.to_string().contains("rejected the client certificate"),
            "{err}"
        );
        let server_err = server.await.unwrap().unwrap_err();
        assert!(
            server_err
                .to_string()
                .contains("the client's certificate is issued by an authority that is not trusted"),
            "{server_err}"
        );
    }

    #[test]
    fn pem_files_are_read_and_checked() {
        let dir = scratch_dir("pem_files");
        let ca = Ca::new("ws-tokio test CA");
        let client = ca.client();
        let ca_path = dir.join("ca.pem");
        let cert_path = dir.join("client.pem");
        let key_path = dir.join("client.key");
        let garbage_path = dir.join("garbage.pem");
        std::fs::write(&ca_path, ca.pem()).unwrap();
        std::fs::write(&cert_path, &client.cert_pem).unwrap();
        std::fs::write(&key_path, &client.key_pem).unwrap();
        std::fs::write(&garbage_path, "this is not a certificate\n").unwrap();

        let mut options = TlsOptions::default();
        options.add_ca_file(&ca_path).unwrap();
        assert_eq!(options.extra_ca_pem, [ca.pem().into_bytes()]);
        let certificate = TlsOptions::client_certificate_files(&cert_path, &key_path).unwrap();
        assert_eq!(certificate.cert_chain_pem, client.cert_pem.as_bytes());
        assert_eq!(certificate.key_pem, client.key_pem.as_bytes());
        options.client_certificate = Some(certificate);
        client_config(&options).unwrap();

        let err = options.add_ca_file(&garbage_path).unwrap_err();
        assert!(err.is_config(), "{err}");
        assert!(err.to_string().contains("garbage.pem"), "{err}");
        let err = options.add_ca_file(dir.join("missing.pem")).unwrap_err();
        assert!(err.is_config(), "{err}");
        let err = TlsOptions::client_certificate_files(&cert_path, &garbage_path).unwrap_err();
        assert!(err.is_config(), "{err}");
        assert!(err.to_string().contains("no private key"), "{err}");
        let err = TlsOptions::client_certificate_files(&garbage_path, &key_path).unwrap_err();
        assert!(err.is_config(), "{err}");

        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_pem_is_a_config_error() {
        let ca = Ca::new("ws-tokio test CA");
        let server = ca.server();
        let broken = b"-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n";

        let options = TlsOptions {
            extra_ca_pem: vec![b"garbage".to_vec()],
            ..TlsOptions::default()
        };
        let err = client_config(&options).unwrap_err();
        assert!(err.is_config(), "{err}");
        let options = TlsOptions {
            extra_ca_pem: vec![broken.to_vec()],
            ..TlsOptions::default()
        };
        assert!(client_config(&options).unwrap_err().is_config());
        let options = TlsOptions {
            client_certificate: Some(ClientCertificate {
                cert_chain_pem: server.cert_pem.clone().into_bytes(),
                key_pem: b"garbage".to_vec(),
            }),
            ..TlsOptions::default()
        };
        assert!(client_config(&options).unwrap_err().is_config());

        assert!(
            server_config(b"garbage", server.key_pem.as_bytes(), None)
                .unwrap_err()
                .is_config()
        );
        assert!(
            server_config(broken, server.key_pem.as_bytes(), None)
                .unwrap_err()
                .is_config()
        );
        assert!(
            server_config(server.cert_pem.as_bytes(), b"", None)
                .unwrap_err()
                .is_config()
        );
        let err = server_config(
            server.cert_pem.as_bytes(),
            server.key_pem.as_bytes(),
            Some(b"garbage"),
        )
        .unwrap_err();
        assert!(err.is_config(), "{err}");
        // A key that belongs to another certificate.
        let other = ca.client();
        let err =
            server_config(server.cert_pem.as_bytes(), other.key_pem.as_bytes(), None).unwrap_err();
        assert!(err.is_config(), "{err}");
        assert!(err.to_string().contains("do not belong together"), "{err}");
    }

    #[test]
    fn defaults_are_safe() {
        let options = TlsOptions::default();
        assert!(!options.accept_invalid_certificates);
        assert_eq!(options.roots, RootStore::Platform);
        assert_eq!(options.alpn, [b"http/1.1".to_vec()]);
        let config = client_config(&options).unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    }

    #[test]
    fn unix_times_format_as_utc_dates() {
        assert_eq!(format_unix_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_unix_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_unix_time(1_795_493_520), "2026-11-24 04:12:00 UTC");
        assert_eq!(format_unix_time(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(format_unix_time(4_102_444_799), "2099-12-31 23:59:59 UTC");
        assert_eq!(
            format_unix_time(i64::MAX),
            "9223372036854775807 s after 1970-01-01 00:00:00 UTC"
        );
    }

    #[test]
    fn unparsable_certificates_are_still_described() {
        let info = CertificateInfo::from_der(b"nope");
        assert_eq!(info.der, b"nope");
        assert!(
            info.subject.contains("cannot be parsed"),
            "{}",
            info.subject
        );
    }

    fn scratch_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ws-tokio-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
