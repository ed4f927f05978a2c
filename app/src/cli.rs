//! The command line: hand-rolled, since there are only a few flags.

use std::path::PathBuf;

/// The usage text printed by `--help`.
pub const USAGE: &str = "\
ws-inspector — a desktop WebSocket inspector

USAGE:
    ws-inspector [OPTIONS] [CAPTURE.jsonl…]

ARGUMENTS:
    CAPTURE.jsonl        open a capture (JSON lines, as saved, recorded or written by
                         `wsi --jsonl`) in a read-only tab; one tab per connection

OPTIONS:
    --connect URL        open a tab connected to URL (ws:// or wss://)
    --profile NAME       open a tab with the saved profile NAME and connect
    --record FILE        record the session of --connect or --profile (or the first run's
                         local echo) to FILE as it happens; an existing FILE is not replaced
    --config-dir DIR     keep profiles in DIR (default: the platform config dir;
                         the WS_INSPECTOR_CONFIG_DIR environment variable also sets it)
    -h, --help           print this help

With no option, the last layout opens; the first run opens the built-in \"Local echo\"
profile, which starts an echo server on a free loopback port and needs no network.
";

/// Parsed command-line arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// `--connect URL`.
    pub connect: Option<String>,
    /// `--profile NAME`.
    pub profile: Option<String>,
    /// `--config-dir DIR`.
    pub config_dir: Option<PathBuf>,
    /// `--record FILE`.
    pub record: Option<PathBuf>,
    /// The captures to open (the positional arguments).
    pub captures: Vec<PathBuf>,
    /// `--help`.
    pub help: bool,
}

impl Args {
    /// Where the window state (layout, tabs, settings) is kept, when a config folder was
    /// chosen: `DIR/state/app.ron` for `--config-dir DIR`, `$WS_INSPECTOR_CONFIG_DIR/app.ron`
    /// for the environment variable; `None` leaves it in eframe's default place (the
    /// platform data dir). Everything the app writes then stays under the chosen folder.
    pub fn state_file(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.config_dir {
            // Not in DIR itself: the profile store reads every .ron file there.
            return Some(dir.join("state").join("app.ron"));
        }
        std::env::var_os(ws_inspector_core::profiles::CONFIG_DIR_ENV)
            .filter(|dir| !dir.is_empty())
            .map(|dir| PathBuf::from(dir).join("app.ron"))
    }

    /// Parses the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut parsed = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |flag: &str| {
                args.next()
                    .ok_or_else(|| format!("{flag} needs a value (try --help)"))
            };
            match arg.as_str() {
                "-h" | "--help" => parsed.help = true,
                "--connect" => parsed.connect = Some(value("--connect")?),
                "--profile" => parsed.profile = Some(value("--profile")?),
                "--config-dir" => parsed.config_dir = Some(PathBuf::from(value("--config-dir")?)),
                "--record" => parsed.record = Some(PathBuf::from(value("--record")?)),
                "--" => parsed.captures.extend(args.by_ref().map(PathBuf::from)),
                other => {
                    if let Some(url) = other.strip_prefix("--connect=") {
                        parsed.connect = Some(url.to_owned());
                    } else if let Some(name) = other.strip_prefix("--profile=") {
                        parsed.profile = Some(name.to_owned());
                    } else if let Some(file) = other.strip_prefix("--record=") {
                        parsed.record = Some(PathBuf::from(file));
                    } else if !other.starts_with('-') || other == "-" {
                        parsed.captures.push(PathBuf::from(other));
                    } else {
                        return Err(format!("unknown argument {other:?} (try --help)"));
                    }
                }
            }
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::Args;

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::parse(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn flags() {
        let args = parse(&["--connect", "ws://x/", "--profile=Local echo"]).unwrap();
        assert_eq!(args.connect.as_deref(), Some("ws://x/"));
        assert_eq!(args.profile.as_deref(), Some("Local echo"));
        assert!(parse(&["--help"]).unwrap().help);
        // The benchmark modes left the binary (`--example ingest` in the core).
        assert!(
            parse(&["--bench-ingest", "1000"])
                .unwrap_err()
                .contains("unknown argument")
        );
        assert!(parse(&["--connect"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--nope"]).unwrap_err().contains("unknown argument"));
    }

    #[test]
    fn captures_and_record() {
        let args = parse(&[
            "a.jsonl",
            "--connect",
            "ws://x/",
            "--record",
            "r.jsonl",
            "b.jsonl",
        ])
        .unwrap();
        assert_eq!(
            args.captures,
            [PathBuf::from("a.jsonl"), PathBuf::from("b.jsonl")]
        );
        assert_eq!(args.record, Some(PathBuf::from("r.jsonl")));
        assert_eq!(args.connect.as_deref(), Some("ws://x/"));
        let args = parse(&["--record=r.jsonl", "--", "--odd.jsonl"]).unwrap();
        assert_eq!(args.record, Some(PathBuf::from("r.jsonl")));
        assert_eq!(args.captures, [PathBuf::from("--odd.jsonl")]);
        assert!(parse(&["--record"]).unwrap_err().contains("needs a value"));
    }
}
