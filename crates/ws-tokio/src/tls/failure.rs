//! What went wrong in a TLS handshake, in plain words: [`TlsFailure`].
//!
//! rustls reports failures as [`rustls::Error`]s written for developers ("invalid peer
//! certificate: Other(OtherError(CaUsedAsEndEntity))"). Here each becomes a [`TlsProblem`]
//! (self-signed, expired, wrong name, not a TLS server, …) whose `Display` is a sentence
//! that says what is wrong, and a [hint](TlsFailure::hint) that says what the user can do.
//!
//! A client's certificate failures are classified by the verifier of [`super::verify`],
//! which sees the certificate itself: that is how a self-signed certificate is told from
//! one of an unknown authority, whichever of the two webpki reported. Failures that did not
//! pass through it (a server checking client certificates, a configuration built elsewhere)
//! are classified from the rustls error alone, with less detail.

use std::fmt;
use std::io;

use rustls::{AlertDescription, CertificateError, InvalidMessage};
use rustls_pki_types::UnixTime;

use super::verify::Refusal;
use super::{CertificateInfo, format_unix_time};

/// A TLS failure, classified: what went wrong ([`problem`](Self::problem)), whose fault it
/// is about ([`peer`](Self::peer)), and what to do ([`hint`](Self::hint)).
///
/// Its `Display` is a plain sentence without a capital or a full stop, such as "the
/// server's certificate is self-signed and not trusted".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFailure {
    problem: TlsProblem,
    peer: Peer,
    certificate: Option<Box<CertificateInfo>>,
}

/// What is wrong, as far as the handshake tells.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsProblem {
    /// The peer's certificate is self-signed (it is its own issuer) and is not trusted.
    SelfSigned,
    /// The peer's certificate is issued by an authority that is not trusted.
    UnknownIssuer {
        /// The distinguished name of the authority, when known, such as `CN=Example CA`.
        issuer: Option<String>,
    },
    /// The peer's certificate has expired.
    Expired {
        /// The end of its validity, when known.
        not_after: Option<UnixTime>,
    },
    /// The peer's certificate is not valid yet.
    NotValidYet {
        /// The start of its validity, when known.
        not_before: Option<UnixTime>,
    },
    /// The server's certificate is not valid for the name connected to.
    WrongName {
        /// The name connected to (a DNS name or an IP address), when known.
        name: Option<String>,
        /// The names the certificate is valid for; empty when unknown or when it names none.
        valid_for: Vec<String>,
    },
    /// The peer presented a certificate authority's certificate as its own.
    CaCertificate,
    /// The peer's certificate is not meant for this use: its extended key usage leaves out
    /// TLS servers (for a server's) or TLS clients (for a client's).
    WrongPurpose,
    /// The peer's certificate has been revoked.
    Revoked,
    /// The peer's certificate cannot be used for another reason.
    BadCertificate(CertificateDefect),
    /// The peer presented no certificate (a client: when the server requires one).
    NoCertificate,
    /// The server requires a client certificate, and none was given.
    ClientCertificateRequired,
    /// The peer refused the certificate presented to it.
    CertificateRefused,
    /// The peer answered with something that is not TLS, such as plain HTTP: it is not a
    /// TLS server (or, for a server, the client did not speak TLS).
    NotTls,
    /// The peer closed the connection during the handshake without a TLS alert; most often
    /// it does not speak TLS, such as a `ws://` server behind a `wss://` URL.
    ClosedDuringHandshake,
    /// The two sides have no TLS version or cipher suite in common.
    Incompatible,
    /// The peer refused the handshake without saying why (a `handshake_failure` alert).
    HandshakeRefused,
    /// The server does not serve the name asked for (an `unrecognized_name` alert).
    UnknownServerName {
        /// The name asked for, when known.
        name: Option<String>,
    },
    /// The two sides have no ALPN protocol in common.
    NoCommonAlpn,
    /// The peer broke the TLS protocol or sent a malformed message.
    ProtocolViolation,
    /// The peer ended the handshake with a TLS alert not covered above.
    Alert(AlertDescription),
    /// Anything else.
    Other {
        /// What rustls said.
        detail: String,
    },
}

/// Why a certificate is unusable, for [`TlsProblem::BadCertificate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateDefect {
    /// It is not a well-formed X.509 certificate.
    Malformed,
    /// Its signature does not verify.
    BadSignature,
    /// It is signed with an algorithm that is not supported.
    UnsupportedAlgorithm,
    /// It has a critical extension that is not understood.
    UnknownCriticalExtension,
    /// Whether it is revoked cannot be determined.
    RevocationUnknown,
    /// It was refused for a reason not covered above.
    Other,
}

/// The other side of the connection: whose certificate, or who did what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// The server: the failure happened in a client.
    Server,
    /// The client: the failure happened in a server.
    Client,
}

/// Which side of the handshake we are, for classifying errors.
#[derive(Clone, Copy, Debug)]
pub(super) enum Role<'a> {
    /// We are the client; the name we asked for, when known.
    Client { server_name: Option<&'a str> },
    /// We are the server.
    Server,
}

/// What a hint says when the accept-invalid switch is a way out.
const ACCEPT_INVALID: &str = "turn on \"accept invalid certificates\" (for testing only)";

impl TlsFailure {
    /// What went wrong.
    pub fn problem(&self) -> &TlsProblem {
        &self.problem
    }

    /// The other side of the connection, whose certificate or behaviour the problem is
    /// about.
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// The certificate the peer presented, when the failure is about it and it is known.
    pub fn certificate(&self) -> Option<&CertificateInfo> {
        self.certificate.as_deref()
    }

    /// What the user can do about it, as a phrase without a capital or a full stop, such
    /// as "trust it by giving its file as an extra CA, or turn on \"accept invalid
    /// certificates\" (for testing only)". `None` when there is nothing to suggest.
    pub fn hint(&self) -> Option<String> {
        match self.peer {
            Peer::Server => self.server_hint(),
            Peer::Client => self.client_hint(),
        }
    }

    pub(super) fn new(problem: TlsProblem, peer: Peer) -> Self {
        Self {
            problem,
            peer,
            certificate: None,
        }
    }

    pub(super) fn with_certificate(mut self, certificate: CertificateInfo) -> Self {
        self.certificate = Some(Box::new(certificate));
        self
    }

    /// Classifies a rustls failure.
    pub(super) fn from_rustls(err: &rustls::Error, role: Role<'_>) -> Self {
        if let Some(refusal) = Refusal::find(err) {
            return refusal.failure().clone();
        }
        Self::new(TlsProblem::from_rustls(err, role), role.peer())
    }

    /// Classifies a failure of the socket during the handshake, if it is one of those that
    /// mean the peer gave up on TLS: the connection closed, reset or aborted.
    pub(super) fn from_handshake_io(err: &io::Error, role: Role<'_>) -> Option<Self> {
        match err.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => {
                Some(Self::new(TlsProblem::ClosedDuringHandshake, role.peer()))
            }
            _ => None,
        }
    }

    /// The hint of a client, about the server.
    fn server_hint(&self) -> Option<String> {
        let hint = match &self.problem {
            TlsProblem::SelfSigned => {
                format!("trust it by giving its file as an extra CA, or {ACCEPT_INVALID}")
            }
            TlsProblem::UnknownIssuer { .. } => format!(
                "trust that authority by giving its certificate file as an extra CA, or \
                 {ACCEPT_INVALID}"
            ),
            TlsProblem::Expired { .. } => format!(
                "renew the server's certificate (unless this computer's clock is wrong), or \
                 {ACCEPT_INVALID}"
            ),
            TlsProblem::NotValidYet { .. } => {
                format!("check this computer's clock, or {ACCEPT_INVALID}")
            }
            TlsProblem::WrongName { valid_for, .. } if !valid_for.is_empty() => format!(
                "connect with a name it is valid for, or give the server a certificate for \
                 this name, or {ACCEPT_INVALID}"
            ),
            TlsProblem::WrongName { .. } => {
                format!("give the server a certificate for this name, or {ACCEPT_INVALID}")
            }
            TlsProblem::CaCertificate => format!(
                "trust exactly this certificate by giving its file as an extra CA, or \
                 {ACCEPT_INVALID}"
            ),
            TlsProblem::WrongPurpose => {
                format!("give the server a certificate meant for TLS servers, or {ACCEPT_INVALID}")
            }
            TlsProblem::Revoked => {
                format!("the server needs a new certificate; to connect anyway, {ACCEPT_INVALID}")
            }
            TlsProblem::BadCertificate(_) => format!("to connect anyway, {ACCEPT_INVALID}"),
            TlsProblem::ClientCertificateRequired => {
                "give a client certificate and its key".to_owned()
            }
            TlsProblem::CertificateRefused => {
                "give a client certificate issued by an authority the server trusts".to_owned()
            }
            TlsProblem::NotTls | TlsProblem::ClosedDuringHandshake => {
                "if it is a plain WebSocket server, use ws:// instead of wss://; otherwise \
                 check the port"
                    .to_owned()
            }
            TlsProblem::Incompatible => {
                "the server must accept TLS 1.2 or TLS 1.3 with a modern cipher suite".to_owned()
            }
            TlsProblem::HandshakeRefused => {
                "if the server requires a client certificate, give one".to_owned()
            }
            TlsProblem::UnknownServerName { .. } => "check the host name in the URL".to_owned(),
            _ => return None,
        };
        Some(hint)
    }

    /// The hint of a server, about the client.
    fn client_hint(&self) -> Option<String> {
        let hint = match &self.problem {
            TlsProblem::SelfSigned | TlsProblem::UnknownIssuer { .. } => {
                "the client's certificate must be issued by one of the client CAs".to_owned()
            }
            TlsProblem::NoCertificate => {
                "the client must present a certificate issued by one of the client CAs".to_owned()
            }
            TlsProblem::CertificateRefused => {
                "the client does not trust this server's certificate".to_owned()
            }
            TlsProblem::NotTls | TlsProblem::ClosedDuringHandshake => {
                "the client may be using ws:// on this wss:// port".to_owned()
            }
            _ => return None,
        };
        Some(hint)
    }
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let peer = self.peer;
        let (them, theirs, us) = match peer {
            Peer::Server => ("the server", "the server's certificate", "this client"),
            Peer::Client => ("the client", "the client's certificate", "this server"),
        };
        match &self.problem {
            TlsProblem::SelfSigned => write!(f, "{theirs} is self-signed and not trusted"),
            TlsProblem::UnknownIssuer {
                issuer: Some(issuer),
            } => write!(
                f,
                "{theirs} is issued by an authority that is not trusted ({issuer})"
            ),
            TlsProblem::UnknownIssuer { issuer: None } => {
                write!(f, "{theirs} is issued by an authority that is not trusted")
            }
            TlsProblem::Expired {
                not_after: Some(time),
            } => write!(
                f,
                "{theirs} has expired (it was valid until {})",
                format_time(*time)
            ),
            TlsProblem::Expired { not_after: None } => write!(f, "{theirs} has expired"),
            TlsProblem::NotValidYet {
                not_before: Some(time),
            } => write!(
                f,
                "{theirs} is not valid yet (it is valid from {})",
                format_time(*time)
            ),
            TlsProblem::NotValidYet { not_before: None } => {
                write!(f, "{theirs} is not valid yet")
            }
            TlsProblem::WrongName { name, valid_for } => {
                match name {
                    Some(name) => write!(f, "{theirs} is not valid for the name {name}")?,
                    None => write!(f, "{theirs} is not valid for this name")?,
                }
                if !valid_for.is_empty() {
                    write!(f, "; it is valid for {}", valid_for.join(", "))?;
                }
                Ok(())
            }
            TlsProblem::CaCertificate => write!(
                f,
                "{them} presented a certificate authority's certificate as its own"
            ),
            TlsProblem::WrongPurpose => match peer {
                Peer::Server => write!(f, "{theirs} is not meant for TLS servers"),
                Peer::Client => write!(f, "{theirs} is not meant for TLS clients"),
            },
            TlsProblem::Revoked => write!(f, "{theirs} has been revoked"),
            TlsProblem::BadCertificate(defect) => {
                let what = match defect {
                    CertificateDefect::Malformed => "is malformed",
                    CertificateDefect::BadSignature => "has an invalid signature",
                    CertificateDefect::UnsupportedAlgorithm => {
                        "is signed with an algorithm that is not supported"
                    }
                    CertificateDefect::UnknownCriticalExtension => {
                        "has a critical extension that is not understood"
                    }
                    CertificateDefect::RevocationUnknown => "cannot be checked for revocation",
                    CertificateDefect::Other => "was refused",
                };
                write!(f, "{theirs} {what}")
            }
            TlsProblem::NoCertificate => match peer {
                Peer::Server => write!(f, "{them} presented no certificate"),
                Peer::Client => write!(f, "{them} presented no certificate, and one is required"),
            },
            TlsProblem::ClientCertificateRequired => {
                write!(f, "{them} requires a client certificate")
            }
            TlsProblem::CertificateRefused => match peer {
                Peer::Server => write!(f, "{them} rejected the client certificate"),
                Peer::Client => write!(f, "{them} rejected this server's certificate"),
            },
            TlsProblem::NotTls => match peer {
                Peer::Server => write!(
                    f,
                    "{them} did not answer with TLS, so it is not a TLS server"
                ),
                Peer::Client => write!(f, "{them} did not speak TLS"),
            },
            TlsProblem::ClosedDuringHandshake => match peer {
                Peer::Server => write!(
                    f,
                    "{them} closed the connection during the TLS handshake, so it is probably \
                     not a TLS server"
                ),
                Peer::Client => {
                    write!(f, "{them} closed the connection during the TLS handshake")
                }
            },
            TlsProblem::Incompatible => write!(
                f,
                "{them} and {us} have no TLS version or cipher suite in common"
            ),
            TlsProblem::HandshakeRefused => write!(
                f,
                "{them} refused the TLS handshake without saying why (most often there is no \
                 cipher suite or TLS version in common, or it requires a client certificate)"
            ),
            TlsProblem::UnknownServerName { name: Some(name) } => {
                write!(f, "{them} does not serve the name {name}")
            }
            TlsProblem::UnknownServerName { name: None } => {
                write!(f, "{them} does not serve this name")
            }
            TlsProblem::NoCommonAlpn => write!(
                f,
                "{them} and {us} have no application protocol (ALPN) in common"
            ),
            TlsProblem::ProtocolViolation => write!(f, "{them} broke the TLS protocol"),
            TlsProblem::Alert(alert) => write!(
                f,
                "{them} ended the TLS handshake with the alert \"{}\"",
                alert_words(*alert)
            ),
            TlsProblem::Other { detail } => write!(f, "the TLS handshake failed: {detail}"),
        }
    }
}

impl TlsProblem {
    /// The problem is with the peer's certificate itself (self-signed, expired, wrong
    /// name, …). For a client, the [hint](TlsFailure::hint) of each names the
    /// accept-invalid switch, and the extra CA where trusting one would help.
    pub fn is_certificate(&self) -> bool {
        matches!(
            self,
            Self::SelfSigned
                | Self::UnknownIssuer { .. }
                | Self::Expired { .. }
                | Self::NotValidYet { .. }
                | Self::WrongName { .. }
                | Self::CaCertificate
                | Self::WrongPurpose
                | Self::Revoked
                | Self::BadCertificate(_)
        )
    }

    /// Classifies a rustls failure from the error alone.
    fn from_rustls(err: &rustls::Error, role: Role<'_>) -> Self {
        match err {
            rustls::Error::InvalidCertificate(e) => Self::from_certificate_error(e, role),
            rustls::Error::AlertReceived(alert) => Self::from_alert(*alert, role),
            rustls::Error::NoCertificatesPresented => Self::NoCertificate,
            rustls::Error::InvalidMessage(
                InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion,
            ) => Self::NotTls,
            rustls::Error::InvalidMessage(_)
            | rustls::Error::InappropriateMessage { .. }
            | rustls::Error::InappropriateHandshakeMessage { .. }
            | rustls::Error::PeerMisbehaved(_)
            | rustls::Error::PeerSentOversizedRecord
            | rustls::Error::DecryptError => Self::ProtocolViolation,
            rustls::Error::PeerIncompatible(_) => Self::Incompatible,
            rustls::Error::NoApplicationProtocol => Self::NoCommonAlpn,
            other => Self::Other {
                detail: other.to_string(),
            },
        }
    }

    /// Classifies a certificate failure from the error alone.
    pub(super) fn from_certificate_error(err: &CertificateError, role: Role<'_>) -> Self {
        match err {
            CertificateError::BadEncoding => Self::BadCertificate(CertificateDefect::Malformed),
            CertificateError::Expired => Self::Expired { not_after: None },
            CertificateError::ExpiredContext { not_after, .. } => Self::Expired {
                not_after: Some(*not_after),
            },
            CertificateError::NotValidYet => Self::NotValidYet { not_before: None },
            CertificateError::NotValidYetContext { not_before, .. } => Self::NotValidYet {
                not_before: Some(*not_before),
            },
            CertificateError::Revoked => Self::Revoked,
            CertificateError::UnhandledCriticalExtension => {
                Self::BadCertificate(CertificateDefect::UnknownCriticalExtension)
            }
            CertificateError::UnknownIssuer => Self::UnknownIssuer { issuer: None },
            CertificateError::UnknownRevocationStatus
            | CertificateError::ExpiredRevocationList
            | CertificateError::ExpiredRevocationListContext { .. }
            | CertificateError::InvalidOcspResponse => {
                Self::BadCertificate(CertificateDefect::RevocationUnknown)
            }
            CertificateError::BadSignature => Self::BadCertificate(CertificateDefect::BadSignature),
            #[allow(deprecated)]
            CertificateError::UnsupportedSignatureAlgorithm
            | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
            | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
                Self::BadCertificate(CertificateDefect::UnsupportedAlgorithm)
            }
            CertificateError::NotValidForName => Self::WrongName {
                name: match role {
                    Role::Client { server_name } => server_name.map(str::to_owned),
                    Role::Server => None,
                },
                valid_for: Vec::new(),
            },
            // `presented` holds webpki's debug forms of the names; the verifier of
            // `super::verify` fills `valid_for` from the certificate instead.
            CertificateError::NotValidForNameContext { expected, .. } => Self::WrongName {
                name: Some(expected.to_str().into_owned()),
                valid_for: Vec::new(),
            },
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                Self::WrongPurpose
            }
            _ => Self::BadCertificate(CertificateDefect::Other),
        }
    }

    fn from_alert(alert: AlertDescription, role: Role<'_>) -> Self {
        match (alert, role) {
            (AlertDescription::CertificateRequired, Role::Client { .. }) => {
                Self::ClientCertificateRequired
            }
            (
                AlertDescription::BadCertificate
                | AlertDescription::UnsupportedCertificate
                | AlertDescription::CertificateRevoked
                | AlertDescription::CertificateExpired
                | AlertDescription::CertificateUnknown
                | AlertDescription::UnknownCA,
                _,
            )
            | (AlertDescription::AccessDenied, Role::Client { .. }) => Self::CertificateRefused,
            (AlertDescription::HandshakeFailure, _) => Self::HandshakeRefused,
            (AlertDescription::ProtocolVersion | AlertDescription::InsufficientSecurity, _) => {
                Self::Incompatible
            }
            (AlertDescription::UnrecognisedName, Role::Client { server_name }) => {
                Self::UnknownServerName {
                    name: server_name.map(str::to_owned),
                }
            }
            (AlertDescription::NoApplicationProtocol, _) => Self::NoCommonAlpn,
            _ => Self::Alert(alert),
        }
    }
}

impl Role<'_> {
    /// The other side.
    pub(super) fn peer(self) -> Peer {
        match self {
            Role::Client { .. } => Peer::Server,
            Role::Server => Peer::Client,
        }
    }
}

fn format_time(time: UnixTime) -> String {
    format_unix_time(i64::try_from(time.as_secs()).unwrap_or(i64::MAX))
}

/// An alert's name in words: `InternalError` becomes "internal error".
fn alert_words(alert: AlertDescription) -> String {
    let Some(name) = alert.as_str() else {
        return format!("number {}", u8::from(alert));
    };
    let mut words = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use rustls::OtherError;

    use super::*;

    const CLIENT: Role<'static> = Role::Client {
        server_name: Some("example.test"),
    };

    fn client_failure(err: rustls::Error) -> TlsFailure {
        TlsFailure::from_rustls(&err, CLIENT)
    }

    #[test]
    fn certificate_errors_become_problems() {
        let time = UnixTime::since_unix_epoch(Duration::from_secs(1_748_736_000));
        let cases = [
            (
                CertificateError::UnknownIssuer,
                TlsProblem::UnknownIssuer { issuer: None },
            ),
            (
                CertificateError::ExpiredContext {
                    time,
                    not_after: time,
                },
                TlsProblem::Expired {
                    not_after: Some(time),
                },
            ),
            (
                CertificateError::NotValidYet,
                TlsProblem::NotValidYet { not_before: None },
            ),
            (
                CertificateError::NotValidForName,
                TlsProblem::WrongName {
                    name: Some("example.test".to_owned()),
                    valid_for: Vec::new(),
                },
            ),
            (CertificateError::Revoked, TlsProblem::Revoked),
            (CertificateError::InvalidPurpose, TlsProblem::WrongPurpose),
            (
                CertificateError::BadEncoding,
                TlsProblem::BadCertificate(CertificateDefect::Malformed),
            ),
            (
                CertificateError::Other(OtherError(Arc::new(io::Error::other("opaque")))),
                TlsProblem::BadCertificate(CertificateDefect::Other),
            ),
        ];
        for (error, problem) in cases {
            let failure = client_failure(rustls::Error::InvalidCertificate(error));
            assert_eq!(failure.problem(), &problem);
            assert_eq!(failure.peer(), Peer::Server);
            assert!(failure.problem().is_certificate(), "{failure}");
            assert!(failure.hint().is_some(), "{failure}");
        }
    }

    #[test]
    fn sentences_are_plain() {
        let time = UnixTime::since_unix_epoch(Duration::from_secs(1_748_736_000));
        let failure = client_failure(rustls::Error::InvalidCertificate(
            CertificateError::ExpiredContext {
                time,
                not_after: time,
            },
        ));
        assert_eq!(
            failure.to_string(),
            "the server's certificate has expired (it was valid until 2025-06-01 00:00:00 UTC)"
        );
        let failure = client_failure(rustls::Error::InvalidCertificate(CertificateError::Other(
            OtherError(Arc::new(io::Error::other("CaUsedAsEndEntity"))),
        )));
        assert_eq!(failure.to_string(), "the server's certificate was refused");
        let failure = client_failure(rustls::Error::InvalidMessage(
            InvalidMessage::InvalidContentType,
        ));
        assert_eq!(failure.problem(), &TlsProblem::NotTls);
        assert!(!failure.problem().is_certificate());
        assert!(
            failure.to_string().contains("not a TLS server"),
            "{failure}"
        );
        assert!(failure.hint().unwrap().contains("ws://"));
    }

    #[test]
    fn alerts_are_read_from_the_right_side() {
        let alert = |a, role| TlsFailure::from_rustls(&rustls::Error::AlertReceived(a), role);
        let required = alert(AlertDescription::CertificateRequired, CLIENT);
        assert_eq!(required.problem(), &TlsProblem::ClientCertificateRequired);
        assert_eq!(
            required.to_string(),
            "the server requires a client certificate"
        );
        let refused = alert(AlertDescription::UnknownCA, Role::Server);
        assert_eq!(refused.peer(), Peer::Client);
        assert_eq!(
            refused.to_string(),
            "the client rejected this server's certificate"
        );
        let version = alert(AlertDescription::ProtocolVersion, CLIENT);
        assert_eq!(version.problem(), &TlsProblem::Incompatible);
        let other = alert(AlertDescription::InternalError, CLIENT);
        assert_eq!(
            other.to_string(),
            "the server ended the TLS handshake with the alert \"internal error\""
        );
    }

    #[test]
    fn a_closed_socket_during_the_handshake_is_classified() {
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        let failure = TlsFailure::from_handshake_io(&eof, CLIENT).unwrap();
        assert_eq!(failure.problem(), &TlsProblem::ClosedDuringHandshake);
        assert!(!failure.to_string().contains("eof"), "{failure}");
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert!(TlsFailure::from_handshake_io(&refused, CLIENT).is_none());
    }
}
