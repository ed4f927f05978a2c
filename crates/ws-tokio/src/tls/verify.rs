//! The verifier of every client configuration built here (unless certificate checks are
//! off): the platform's or webpki's, wrapped to do two more things.
//!
//! **It trusts a server certificate given as an extra CA, exactly.** Testing locally, people
//! make a self-signed certificate (`openssl req -x509`, `mkcert`-less setups, rcgen) and give
//! that same file as the CA to trust. webpki refuses it all the same: a certificate that
//! says it is a CA (`openssl req -x509` sets `basicConstraints CA:TRUE`) cannot be an
//! end-entity certificate (`CaUsedAsEndEntity`), and a trust anchor is not itself a chain.
//! So when the inner verifier refuses a certificate that is byte-for-byte one of the user's
//! extra CA certificates, this one checks it the way webpki checks an end-entity
//! certificate, minus the chain: it must parse, be valid for the server name (webpki's own
//! name check, through [`rustls::client::verify_server_name`]), be within its validity
//! period, and, if it has an extended key usage, allow TLS servers. A revoked certificate
//! stays refused. The handshake signatures are still verified by the inner verifier, with
//! the provider's algorithms, so the server must hold the certificate's key. Nothing else
//! that the inner verifier refuses is accepted.
//!
//! **It says what is wrong with the certificate.** A refusal is returned as a
//! [`CertificateError::Other`] carrying a [`Refusal`]: the [`TlsFailure`] classified with
//! the certificate at hand (self-signed or of an unknown authority, the names it is valid
//! for, whether it is a CA's), and the inner verifier's error as its source. rustls then
//! sends the server a `certificate_unknown` alert rather than the more specific one the
//! inner error would have given; the server learns less, the user learns more.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use super::CertificateInfo;
use super::failure::{CertificateDefect, Peer, Role, TlsFailure, TlsProblem};

/// The inner verifier, plus exact trust in the user's extra CA certificates and refusals
/// that say what is wrong (see the module notes).
#[derive(Debug)]
pub(super) struct Verifier {
    inner: Arc<dyn ServerCertVerifier>,
    /// The user's extra CA certificates: a server presenting one of these exactly is
    /// trusted (after the end-entity checks of [`check_pinned`]).
    pinned: Vec<CertificateDer<'static>>,
}

/// A certificate refusal, classified: how [`Verifier`] tells the rest of the crate what was
/// wrong, through rustls' [`CertificateError::Other`].
#[derive(Debug)]
pub(super) struct Refusal {
    failure: TlsFailure,
    /// What the inner verifier (or the checks of a pinned certificate) said.
    cause: rustls::Error,
}

impl Verifier {
    pub(super) fn new(
        inner: Arc<dyn ServerCertVerifier>,
        pinned: Vec<CertificateDer<'static>>,
    ) -> Self {
        Self { inner, pinned }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut err = match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => return Ok(verified),
            Err(err) => err,
        };
        let pinned = self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref());
        let revoked = matches!(
            err,
            rustls::Error::InvalidCertificate(CertificateError::Revoked)
        );
        if pinned && !revoked {
            match check_pinned(end_entity, server_name, now) {
                Ok(()) => return Ok(ServerCertVerified::assertion()),
                Err(pinned_err) => err = pinned_err,
            }
        }
        Err(Refusal::classify(
            err,
            end_entity,
            intermediates,
            server_name,
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

impl Refusal {
    /// The refusal inside `err`, if [`Verifier`] made it.
    pub(super) fn find(err: &rustls::Error) -> Option<&Self> {
        match err {
            rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) => {
                inner.downcast_ref::<Self>()
            }
            _ => None,
        }
    }

    /// The classified failure.
    pub(super) fn failure(&self) -> &TlsFailure {
        &self.failure
    }

    /// What the verifier said before it was classified.
    pub(super) fn cause(&self) -> &rustls::Error {
        &self.cause
    }

    /// Turns the refusal `err` of `end_entity` into one that carries its classification.
    /// Errors that are not about the certificate pass through unchanged.
    fn classify(
        err: rustls::Error,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
    ) -> rustls::Error {
        let rustls::Error::InvalidCertificate(certificate_error) = &err else {
            return err;
        };
        let name = server_name.to_str();
        let role = Role::Client {
            server_name: Some(name.as_ref()),
        };
        let mut problem = TlsProblem::from_certificate_error(certificate_error, role);
        if let Ok((_, leaf)) = x509_parser::parse_x509_certificate(end_entity) {
            problem = refine(problem, &leaf, intermediates);
        }
        let failure = TlsFailure::new(problem, Peer::Server)
            .with_certificate(CertificateInfo::from_der(end_entity));
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Self {
            failure,
            cause: err,
        }))))
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.failure.fmt(f)
    }
}

impl std::error::Error for Refusal {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

/// Says more about `problem` from the certificate itself: whether it is self-signed, a
/// CA's, which names it is valid for, who issued it.
fn refine(
    problem: TlsProblem,
    leaf: &X509Certificate<'_>,
    intermediates: &[CertificateDer<'_>],
) -> TlsProblem {
    let self_signed = leaf.subject().as_raw() == leaf.issuer().as_raw();
    match problem {
        // A self-signed certificate fails as "unknown issuer" or, when a root happens to
        // have the same name (Debian's `ssl-cert-snakeoil` is `CN=localhost`), as a
        // signature that does not verify with that root's key.
        TlsProblem::UnknownIssuer { .. }
        | TlsProblem::BadCertificate(
            CertificateDefect::BadSignature | CertificateDefect::UnsupportedAlgorithm,
        ) if self_signed => TlsProblem::SelfSigned,
        TlsProblem::UnknownIssuer { .. } => {
            // The authority missing is the issuer of the last certificate sent.
            let top = intermediates
                .last()
                .and_then(|der| x509_parser::parse_x509_certificate(der).ok())
                .map(|(_, top)| top.issuer().to_string());
            TlsProblem::UnknownIssuer {
                issuer: Some(top.unwrap_or_else(|| leaf.issuer().to_string())),
            }
        }
        // webpki's `CaUsedAsEndEntity`, `EmptyEkuExtension` and the platform verifier's
        // extended key usage refusal all come as `Other`; the certificate says which.
        TlsProblem::BadCertificate(CertificateDefect::Other) if self_signed => {
            TlsProblem::SelfSigned
        }
        TlsProblem::BadCertificate(CertificateDefect::Other) if leaf.is_ca() => {
            TlsProblem::CaCertificate
        }
        TlsProblem::BadCertificate(CertificateDefect::Other) if !allows_servers(leaf) => {
            TlsProblem::WrongPurpose
        }
        TlsProblem::WrongName { name, .. } => TlsProblem::WrongName {
            name,
            valid_for: host_names(leaf),
        },
        other => other,
    }
}

/// The end-entity checks of webpki, without the chain, for a certificate the user gave as
/// an extra CA and the server presented exactly (see the module notes).
fn check_pinned(
    end_entity: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let parsed = ParsedCertificate::try_from(end_entity)?;
    rustls::client::verify_server_name(&parsed, server_name)?;
    let (_, certificate) = x509_parser::parse_x509_certificate(end_entity)
        .map_err(|_| CertificateError::BadEncoding)?;
    let validity = certificate.validity();
    let not_before = unix_time(validity.not_before.timestamp());
    let not_after = unix_time(validity.not_after.timestamp());
    if now < not_before {
        return Err(CertificateError::NotValidYetContext {
            time: now,
            not_before,
        }
        .into());
    }
    if now > not_after {
        return Err(CertificateError::ExpiredContext {
            time: now,
            not_after,
        }
        .into());
    }
    if !allows_servers(&certificate) {
        return Err(CertificateError::InvalidPurpose.into());
    }
    Ok(())
}

/// Whether the certificate's extended key usage, if it has one, allows TLS servers
/// (`id-kp-serverAuth`, which webpki requires when the extension is present).
fn allows_servers(certificate: &X509Certificate<'_>) -> bool {
    match certificate.extended_key_usage() {
        Ok(None) => true,
        Ok(Some(eku)) => eku.value.server_auth,
        Err(_) => false,
    }
}

/// The DNS names and IP addresses of the certificate's subject alternative names: the
/// names webpki matches a server name against.
fn host_names(certificate: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = certificate.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            GeneralName::IPAddress(bytes) => ip_address(bytes).map(|ip| ip.to_string()),
            _ => None,
        })
        .collect()
}

fn ip_address(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// An X.509 time as a [`UnixTime`]; times before 1970 become 1970.
fn unix_time(secs: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}
