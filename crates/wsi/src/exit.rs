//! Exit statuses, and turning what went wrong into one sentence on stderr and a status.

use std::fmt::Write as _;
use std::process::ExitCode;

use ws_tokio::Error;

/// What `wsi` exits with (documented in `--help`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 0: closed cleanly, or every expectation met.
    Ok = 0,
    /// 1: a connection, TLS or protocol failure, or an abnormal close.
    Failed = 1,
    /// 2: a usage error.
    Usage = 2,
    /// 3: the server refused the upgrade.
    Refused = 3,
    /// 4: an `--expect` was not met in time.
    Unmet = 4,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> Self {
        ExitCode::from(status as u8)
    }
}

/// A reason to stop, with its status: printed on stderr as `wsi: MESSAGE`.
#[derive(Debug)]
pub struct Failure {
    /// The status to exit with.
    pub status: Status,
    /// What happened, in plain words (may span lines).
    pub message: String,
}

impl Failure {
    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            status: Status::Usage,
            message: message.into(),
        }
    }

    /// A failure (status 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            status: Status::Failed,
            message: message.into(),
        }
    }

    /// Prints the message and gives the status.
    pub fn report(&self) -> Status {
        for line in self.message.lines() {
            eprintln!("wsi: {line}");
        }
        self.status
    }
}

/// The status and the words for an error of the transport: a refused upgrade shows the
/// status line, headers and body (status 3); a bad option is a usage error (2); everything
/// else, a failure (1), with the stage it happened in.
pub fn describe(error: &Error, what: &str) -> Failure {
    if error.is_usage() || error.is_config() {
        return Failure::usage(format!("{what}: {error}"));
    }
    if let Some(response) = error.http_response()
        && response.status() != ws_tokio::ws_proto::http::StatusCode::SWITCHING_PROTOCOLS
    {
        let mut message = format!(
            "{what}: the server refused the upgrade: {} {}",
            response.status().as_str(),
            response.status().canonical_reason().unwrap_or("")
        );
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get("location")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            let _ = write!(
                message,
                "\nit redirects to {}; wsi follows no redirects (connect to that URL \
                 yourself if it is the one you meant)",
                location.as_deref().unwrap_or("(no Location header)")
            );
        }
        let _ = write!(message, "\n{:?} {}", response.version(), response.status());
        for (name, value) in response.headers() {
            let _ = write!(
                message,
                "\n{}: {}",
                name,
                String::from_utf8_lossy(value.as_bytes())
            );
        }
        match error.http_body() {
            Some(body) if !body.is_empty() => {
                let _ = write!(message, "\n\n{}", String::from_utf8_lossy(body));
            }
            _ => message.push_str("\n(no body)"),
        }
        return Failure {
            status: Status::Refused,
            message,
        };
    }
    let mut message = format!("{what}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            let _ = write!(message, ": {text}");
        }
        source = cause.source();
    }
    if let Some(code) = error.close_code().filter(|c| c.is_valid_on_wire()) {
        let _ = write!(message, "\nwsi closed the connection with {code}");
    }
    Failure::failed(message)
}
