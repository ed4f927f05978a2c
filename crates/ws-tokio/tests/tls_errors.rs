//! TLS failures as a user meets them through [`connect`]: each is classified
//! ([`ws_tokio::Error::tls_failure`]) and told in a plain sentence with what to do, never in
//! rustls' or webpki's debug forms; and a self-signed server certificate given as its own CA
//! file is trusted, as people do to test locally. Certificates are made at run time by
//! rcgen; every server listens on 127.0.0.1.

mod support;

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, date_time_ymd,
};
use support::LIMIT;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use ws_tokio::tls::{self, Peer, TlsProblem};
use ws_tokio::{ConnectOptions, Message, ServerOptions, connect};

/// A certificate and its key, as PEM.
struct Issued {
    cert_pem: String,
    key_pem: String,
}

/// A self-signed server certificate for localhost and 127.0.0.1. With `ca`, as
/// `openssl req -x509` makes one (basicConstraints CA:TRUE, which webpki refuses as an
/// end-entity certificate even when trusted); without, as rcgen's simple one.
fn self_signed(ca: bool) -> Issued {
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    if ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Issued {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A server certificate for `names` signed by `ca`, valid until `not_after`.
fn leaf(
    ca: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    not_after: (i32, u8, u8),
) -> Issued {
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = date_time_ymd(2025, 1, 1);
    params.not_after = date_time_ymd(not_after.0, not_after.1, not_after.2);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    Issued {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// The echo server on 127.0.0.1 over TLS with `issued`: a `wss://localhost:…/` URL for it.
async fn wss_echo_server(issued: &Issued) -> String {
    let config =
        tls::server_config(issued.cert_pem.as_bytes(), issued.key_pem.as_bytes(), None).unwrap();
    let addr = support::echo_server(ServerOptions::default().with_tls(config)).await;
    format!("wss://localhost:{}/", addr.port())
}

/// `text` in a scratch file of its own; removed when dropped.
struct ScratchFile(PathBuf);

impl ScratchFile {
    fn new(name: &str, text: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("ws-tokio-tls-errors-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        Self(path)
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Connects with `options`, expecting a TLS failure.
async fn tls_failure(options: ConnectOptions) -> ws_tokio::Error {
    let err = match tokio::time::timeout(LIMIT, connect(options)).await.unwrap() {
        Ok(_) => panic!("the connection succeeded"),
        Err(err) => err,
    };
    assert!(err.is_tls(), "{err:?}");
    assert_plain(&err);
    err
}

/// The error's `Display` is a sentence for people: none of rustls' or webpki's debug forms.
fn assert_plain(err: &ws_tokio::Error) {
    let text = err.to_string();
    for jargon in [
        "Other(",
        "OtherError",
        "CaUsedAsEndEntity",
        "UnknownIssuer",
        "InvalidCertificate",
        "DnsName(",
        "Context {",
        "tls handshake eof",
        "InvalidContentType",
    ] {
        assert!(!text.contains(jargon), "{jargon:?} in {text:?}");
    }
}

fn problem(err: &ws_tokio::Error) -> &TlsProblem {
    err.tls_failure().expect("a TLS failure").problem()
}

#[tokio::test]
async fn a_self_signed_server_certificate_is_named_self_signed() {
    for ca in [true, false] {
        let url = wss_echo_server(&self_signed(ca)).await;

        let err = tls_failure(ConnectOptions::new(url)).await;

        assert_eq!(problem(&err), &TlsProblem::SelfSigned, "ca: {ca}: {err}");
        let failure = err.tls_failure().unwrap();
        assert_eq!(failure.peer(), Peer::Server);
        assert_eq!(
            failure.certificate().map(|c| c.subject.as_str()),
            Some("CN=localhost")
        );
        let text = err.to_string();
        assert!(
            text.starts_with("the server's certificate is self-signed"),
            "{text}"
        );
        assert!(text.contains("extra CA"), "{text}");
        assert!(text.contains("accept invalid certificates"), "{text}");
    }
}

#[tokio::test]
async fn a_self_signed_server_certificate_given_as_its_own_ca_file_connects() {
    for ca in [true, false] {
        let issued = self_signed(ca);
        let url = wss_echo_server(&issued).await;
        let file = ScratchFile::new(&format!("self-signed-{ca}.pem"), &issued.cert_pem);
        let mut options = ConnectOptions::new(url);
        options.tls.add_ca_file(&file.0).unwrap();

        let ws = tokio::time::timeout(LIMIT, connect(options))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("ca: {ca}: {e}"));

        let (sender, mut receiver) = ws.into_driven().split();
        sender.send_text("trusted by its own file").await.unwrap();
        match support::next_message(&mut receiver).await {
            Message::Text(text) => assert_eq!(text.as_str(), "trusted by its own file"),
            other => panic!("expected the echo, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_wrong_name_says_which_names_the_certificate_is_for() {
    let ca = ca("ws-tokio test CA");
    let url = wss_echo_server(&leaf(&ca, &["other.example", "10.0.0.1"], (2035, 1, 1))).await;
    let mut options = ConnectOptions::new(url);
    options.tls.extra_ca_pem = vec![ca.pem().into_bytes()];

    let err = tls_failure(options).await;

    assert_eq!(
        problem(&err),
        &TlsProblem::WrongName {
            name: Some("localhost".to_owned()),
            valid_for: vec!["other.example".to_owned(), "10.0.0.1".to_owned()],
        },
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(
            "is not valid for the name localhost; it is valid for other.example, 10.0.0.1"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn an_expired_certificate_says_when_it_expired() {
    let ca = ca("ws-tokio test CA");
    let url = wss_echo_server(&leaf(&ca, &["localhost"], (2025, 6, 1))).await;
    let mut options = ConnectOptions::new(url);
    options.tls.extra_ca_pem = vec![ca.pem().into_bytes()];

    let err = tls_failure(options).await;

    assert!(
        matches!(problem(&err), TlsProblem::Expired { not_after: Some(_) }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("has expired (it was valid until 2025-06-01 00:00:00 UTC)"),
        "{text}"
    );
    assert!(text.contains("clock"), "{text}");
}

#[tokio::test]
async fn an_unknown_authority_is_named_with_its_name() {
    let ca = ca("ws-tokio untrusted CA");
    let url = wss_echo_server(&leaf(&ca, &["localhost"], (2035, 1, 1))).await;

    let err = tls_failure(ConnectOptions::new(url)).await;

    assert_eq!(
        problem(&err),
        &TlsProblem::UnknownIssuer {
            issuer: Some("CN=ws-tokio untrusted CA".to_owned())
        },
        "{err}"
    );
}

#[tokio::test]
async fn wss_to_a_server_answering_plain_http_is_not_a_tls_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut buf = [0; 1024];
        let _ = tcp.read(&mut buf).await;
        let _ = tcp
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await;
    });

    let err = tls_failure(ConnectOptions::new(format!("wss://127.0.0.1:{port}/"))).await;

    assert_eq!(problem(&err), &TlsProblem::NotTls, "{err}");
    let text = err.to_string();
    assert!(text.contains("not a TLS server"), "{text}");
    assert!(text.contains("use ws:// instead of wss://"), "{text}");
}

#[tokio::test]
async fn wss_to_a_server_that_closes_is_probably_not_a_tls_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut buf = [0; 4096];
        let _ = tcp.read(&mut buf).await;
        let _ = tcp.shutdown().await;
    });

    let err = tls_failure(ConnectOptions::new(format!("wss://127.0.0.1:{port}/"))).await;

    assert_eq!(problem(&err), &TlsProblem::ClosedDuringHandshake, "{err}");
    let text = err.to_string();
    assert!(text.contains("probably not a TLS server"), "{text}");
    assert!(text.contains("use ws:// instead of wss://"), "{text}");
}

#[tokio::test]
async fn accept_invalid_certificates_still_connects_to_a_self_signed_server() {
    let url = wss_echo_server(&self_signed(true)).await;
    let mut options = ConnectOptions::new(url);
    options.tls.accept_invalid_certificates = true;

    let ws = tokio::time::timeout(LIMIT, connect(options))
        .await
        .unwrap()
        .unwrap();

    let (sender, mut receiver) = ws.into_driven().split();
    sender.send_text("insecure").await.unwrap();
    assert!(matches!(
        support::next_message(&mut receiver).await,
        Message::Text(_)
    ));
}
