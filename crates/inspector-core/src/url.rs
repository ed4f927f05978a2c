//! [`check_url`]: the one check of a URL typed by the user, run before every connect (by the
//! connection bar and by [`Profile::to_connect_options`](crate::Profile::to_connect_options)).

/// Whether `url` is one we can connect to; the error is a sentence for the user, with a
/// corrected URL to try when there is an obvious one (and only if that one is valid). The
/// URL comes back trimmed; the rest of it is checked when the request is built.
pub fn check_url(url: &str) -> Result<&str, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("Enter a ws:// or wss:// URL.".to_owned());
    }
    if url.chars().any(char::is_whitespace) {
        return Err(format!("A URL cannot contain spaces: “{url}”."));
    }
    let (scheme, separator, rest) = split_scheme(url);
    let lower = scheme.map(str::to_ascii_lowercase);
    match (lower.as_deref(), separator) {
        (Some("ws" | "wss"), "://") => {}
        (Some(scheme @ ("ws" | "wss" | "http" | "https")), _) => {
            let fixed = match scheme {
                "http" | "ws" => "ws",
                _ => "wss",
            };
            let what = match (scheme, separator) {
                ("ws" | "wss", _) => format!("“{scheme}” must be followed by ://"),
                ("http", "://") => {
                    "WebSocket URLs start with ws:// (or wss:// for TLS), not http://".to_owned()
                }
                ("https", "://") => {
                    "WebSocket URLs start with wss:// (or ws:// without TLS), not https://"
                        .to_owned()
                }
                _ => format!("WebSocket URLs start with {fixed}://, not “{scheme}{separator}”"),
            };
            return Err(with_suggestion(what, &format!("{fixed}://{rest}")));
        }
        (Some(other), "://") => {
            return Err(format!(
                "The URL must start with ws:// or wss:// ({other}:// is not a WebSocket scheme)."
            ));
        }
        _ => {
            return Err(with_suggestion(
                "The URL must start with ws:// or wss://".to_owned(),
                &format!("ws://{url}"),
            ));
        }
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("This is not a valid URL: {e}."))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("The URL has no host.".to_owned());
    }
    Ok(url)
}

/// `what`, and `— try SUGGESTION` when that URL would be accepted.
fn with_suggestion(what: String, suggestion: &str) -> String {
    if check_url(suggestion).is_ok() {
        format!("{what} — try {suggestion}")
    } else {
        format!("{what}.")
    }
}

/// Splits a scheme-like prefix off `url`: the letters before `:` or `//`, the separator
/// as typed (`://`, `:/`, `:`, `//`, …) and the rest. No scheme: `(None, "", url)`.
fn split_scheme(url: &str) -> (Option<&str>, &str, &str) {
    let end = url
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .unwrap_or(url.len());
    let (scheme, after) = url.split_at(end);
    let separator_len = after
        .bytes()
        .take_while(|b| matches!(b, b':' | b'/'))
        .count();
    let (separator, rest) = after.split_at(separator_len);
    let looks_like_scheme = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && (separator.starts_with("//") || separator.starts_with(":/") || separator == ":")
        && !scheme.contains('.');
    if looks_like_scheme {
        (Some(scheme), separator, rest)
    } else {
        (None, "", url)
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn urls() {
        assert!(check_url("ws://127.0.0.1:9002/").is_ok());
        assert!(check_url("WSS://example.com/chat?x=1").is_ok());
        assert!(
            check_url("http://example.com")
                .unwrap_err()
                .contains("ws://example.com")
        );
        assert!(
            check_url("https://example.com")
                .unwrap_err()
                .contains("wss://")
        );
        assert!(
            check_url("example.com")
                .unwrap_err()
                .contains("must start with")
        );
        assert!(check_url("").is_err());
        assert!(check_url("ws://").is_err());
        // Issue 11, item 13: no nonsense suggestions.
        let spaced = check_url("http//127.0.0.1 x").unwrap_err();
        assert!(spaced.contains("cannot contain spaces"), "{spaced}");
        assert!(!spaced.contains("try"), "{spaced}");
        assert!(
            check_url("http//127.0.0.1:9000/x")
                .unwrap_err()
                .ends_with("try ws://127.0.0.1:9000/x"),
        );
        assert!(
            check_url("wss:/example.com")
                .unwrap_err()
                .ends_with("try wss://example.com")
        );
        assert!(
            check_url("ws//localhost")
                .unwrap_err()
                .ends_with("try ws://localhost")
        );
        assert!(
            check_url("localhost:8080/chat")
                .unwrap_err()
                .ends_with("try ws://localhost:8080/chat")
        );
        let ftp = check_url("ftp://example.com").unwrap_err();
        assert!(
            ftp.contains("not a WebSocket scheme") && !ftp.contains("try"),
            "{ftp}"
        );
    }
}
