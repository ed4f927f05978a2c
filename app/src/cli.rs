//! The command line: hand-rolled, since there are only a few flags.

use std::path::PathBuf;

/// The version `--version` prints: the package's, with the git revision it was built from
/// when built from a git checkout (`build.rs`).
pub const VERSION: &str = match option_env!("WS_INSPECTOR_GIT_REVISION") {
    Some(_) => concat!(
        env!("CARGO_PKG_VERSION"),
        " (",
        env!("WS_INSPECTOR_GIT_REVISION"),
        ")"
    ),
    None => env!("CARGO_PKG_VERSION"),
};

/// The usage text printed by `--help`.
pub const USAGE: &str = "\
ws-inspector — a desktop WebSocket inspector

USAGE:
    ws-inspector [OPTIONS] [CAPTURE.jsonl… | URL]

ARGUMENTS:
    CAPTURE.jsonl        open a capture (JSON lines, as saved, recorded or written by
                         `wsi --jsonl`) in a read-only tab; one tab per connection
    URL                  a ws:// or wss:// URL is --connect URL; a file:// URL, its file

OPTIONS:
    --connect URL        open a tab connected to URL (ws:// or wss://)
    --profile NAME       open a tab with the saved profile NAME and connect
    --listen ADDR        open a listen tab listening on ADDR (e.g. 127.0.0.1:0)
    --relay ADDR URL     open a relay tab: listen on ADDR, forward each client to URL
    --record FILE        record the session of --connect or --profile (or the first run's
                         local echo) to FILE as it happens; an existing FILE is not replaced
    --config-dir DIR     keep profiles in DIR (default: the platform config dir;
                         the WS_INSPECTOR_CONFIG_DIR environment variable also sets it)
    -v, --verbose        copy the log to stderr, with debug detail
    -V, --version        print the version (and the git revision built from)
    -h, --help           print this help

The log is ws-inspector.log in the state folder: DIR/state/ for --config-dir DIR, else the
platform's (~/.local/state/ws-inspector on Linux).

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
    /// `--listen ADDR`.
    pub listen: Option<String>,
    /// `--relay ADDR URL`.
    pub relay: Option<(String, String)>,
    /// The captures to open (the positional arguments).
    pub captures: Vec<PathBuf>,
    /// `--help`.
    pub help: bool,
    /// `--version`.
    pub version: bool,
    /// `--verbose`: the log is copied to stderr, with debug detail.
    pub verbose: bool,
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

    /// The state folder, where the window state and the log are kept: the folder of
    /// [`state_file`](Self::state_file) when a config folder was chosen, else the platform's
    /// state folder (`~/.local/state/ws-inspector` on Linux; the local data folder where
    /// the platform has no state folder); `None` without a home folder.
    pub fn state_dir(&self) -> Option<PathBuf> {
        if let Some(file) = self.state_file() {
            return file.parent().map(PathBuf::from);
        }
        let dirs = directories::ProjectDirs::from("dev", "ws-inspector", "ws-inspector")?;
        Some(
            dirs.state_dir()
                .unwrap_or_else(|| dirs.data_local_dir())
                .to_path_buf(),
        )
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
                "-V" | "--version" => parsed.version = true,
                "-v" | "--verbose" => parsed.verbose = true,
                "--connect" => parsed.connect = Some(value("--connect")?),
                "--profile" => parsed.profile = Some(value("--profile")?),
                "--config-dir" => parsed.config_dir = Some(PathBuf::from(value("--config-dir")?)),
                "--record" => parsed.record = Some(PathBuf::from(value("--record")?)),
                "--listen" => parsed.listen = Some(value("--listen")?),
                "--relay" => {
                    let addr = value("--relay")?;
                    parsed.relay = Some((addr, value("--relay")?));
                }
                "--" => parsed.captures.extend(args.by_ref().map(PathBuf::from)),
                other => {
                    if let Some(url) = other.strip_prefix("--connect=") {
                        parsed.connect = Some(url.to_owned());
                    } else if let Some(name) = other.strip_prefix("--profile=") {
                        parsed.profile = Some(name.to_owned());
                    } else if let Some(file) = other.strip_prefix("--record=") {
                        parsed.record = Some(PathBuf::from(file));
                    } else if other.starts_with("ws://") || other.starts_with("wss://") {
                        // What a desktop entry's `%u` passes for a ws:// link.
                        parsed.connect = Some(other.to_owned());
                    } else if let Some(path) = file_url(other) {
                        parsed.captures.push(path);
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

/// The path of a `file://` URL (what a desktop entry's `%u` may pass for a file).
fn file_url(arg: &str) -> Option<PathBuf> {
    if !arg.starts_with("file://") {
        return None;
    }
    url::Url::parse(arg).ok()?.to_file_path().ok()
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

    #[test]
    fn version_verbose_and_urls() {
        assert!(parse(&["--version"]).unwrap().version);
        assert!(parse(&["-V"]).unwrap().version);
        assert!(parse(&["--verbose"]).unwrap().verbose);
        assert!(!parse(&[]).unwrap().verbose);
        assert!(super::VERSION.starts_with(env!("CARGO_PKG_VERSION")));
        // A desktop entry's %u: a ws:// link connects, a file:// URL opens its file.
        let args = parse(&["wss://example.org/socket"]).unwrap();
        assert_eq!(args.connect.as_deref(), Some("wss://example.org/socket"));
        assert!(args.captures.is_empty());
        let args = parse(&["file:///tmp/a%20b.jsonl"]).unwrap();
        assert_eq!(args.captures, [PathBuf::from("/tmp/a b.jsonl")]);
        // The log goes where the state does.
        let args = parse(&["--config-dir", "/tmp/cfg"]).unwrap();
        assert_eq!(args.state_dir(), Some(PathBuf::from("/tmp/cfg/state")));
    }

    #[test]
    fn listen_and_relay() {
        let args = parse(&["--listen", "127.0.0.1:0"]).unwrap();
        assert_eq!(args.listen.as_deref(), Some("127.0.0.1:0"));
        let args = parse(&["--relay", "127.0.0.1:0", "ws://up/"]).unwrap();
        assert_eq!(
            args.relay,
            Some(("127.0.0.1:0".to_owned(), "ws://up/".to_owned()))
        );
        assert!(
            parse(&["--relay", "127.0.0.1:0"])
                .unwrap_err()
                .contains("needs a value")
        );
    }
}
