//! The command line, parsed by clap (derive): `--help` and `--version` are generated from the
//! definitions below, and [`Args`] is what the app is started with.
//!
//! Two things clap does not decide: a positional `ws://` or `wss://` URL is `--connect URL`
//! (what a desktop entry's `%u` passes for a link) and a `file://` URL is its file; and of
//! several connect URLs the last on the line wins, as with any repeated flag.

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser};

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

/// What `--help` says after the options.
const AFTER_HELP: &str = "\
The log is ws-inspector.log in the state folder: DIR/state/ for --config-dir DIR, else the
platform's (~/.local/state/ws-inspector on Linux).

With no option, the last layout opens; the first run opens the built-in \"Local echo\"
profile, which starts an echo server on a free loopback port and needs no network.";

/// The command line as clap reads it.
#[derive(Debug, Parser)]
#[command(
    name = "ws-inspector",
    version = VERSION,
    about = "ws-inspector — a desktop WebSocket inspector",
    after_help = AFTER_HELP,
    args_override_self = true
)]
struct Cli {
    /// Open a capture (JSON lines, as saved, recorded or written by `wsi --jsonl`) in a
    /// read-only tab, one tab per connection. A ws:// or wss:// URL is --connect URL; a
    /// file:// URL, its file
    #[arg(value_name = "CAPTURE.jsonl | URL")]
    files: Vec<String>,
    /// Open a tab connected to URL (ws:// or wss://)
    #[arg(long, value_name = "URL")]
    connect: Option<String>,
    /// Open a tab with the saved profile NAME and connect
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Open a listen tab listening on ADDR (e.g. 127.0.0.1:0)
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Open a relay tab: listen on ADDR, forward each client to URL
    #[arg(long, num_args = 2, value_names = ["ADDR", "URL"])]
    relay: Option<Vec<String>>,
    /// Record the session of --connect or --profile (or the first run's local echo) to FILE
    /// as it happens; an existing FILE is not replaced
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Keep profiles in DIR (default: the platform config dir; the WS_INSPECTOR_CONFIG_DIR
    /// environment variable also sets it)
    #[arg(long, value_name = "DIR")]
    config_dir: Option<PathBuf>,
    /// Copy the log to stderr, with debug detail
    #[arg(short, long)]
    verbose: bool,
    /// Captures named after `--`, taken as file names whatever they look like
    #[arg(last = true, value_name = "CAPTURE.jsonl")]
    after_dashes: Vec<PathBuf>,
}

/// Parsed command-line arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// `--connect URL` (or a positional `ws://` / `wss://` URL).
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

    /// Parses the arguments after the program name. `--help`, `--version` and mistakes come
    /// back as the [`clap::Error`] to [`exit`](clap::Error::exit) with: it prints the help,
    /// the version or the mistake, and exits with 0 or 2.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, clap::Error> {
        let program = std::iter::once("ws-inspector".to_owned());
        let matches = Cli::command().try_get_matches_from(program.chain(args))?;
        let cli = Cli::from_arg_matches(&matches)?;
        // The last connect URL on the line wins: --connect's, or a positional ws:// one.
        let mut connect = cli.connect.map(|url| (matches.index_of("connect"), url));
        let mut captures = Vec::new();
        let indices = matches.indices_of("files").into_iter().flatten();
        for (arg, index) in cli.files.into_iter().zip(indices) {
            if arg.starts_with("ws://") || arg.starts_with("wss://") {
                if connect.as_ref().is_none_or(|(at, _)| *at < Some(index)) {
                    connect = Some((Some(index), arg));
                }
            } else if let Some(path) = file_url(&arg) {
                captures.push(path);
            } else {
                captures.push(PathBuf::from(arg));
            }
        }
        captures.extend(cli.after_dashes);
        let relay = cli
            .relay
            .and_then(|values| match <[String; 2]>::try_from(values) {
                Ok([addr, upstream]) => Some((addr, upstream)),
                // Unreachable: clap takes exactly two values.
                Err(_) => None,
            });
        Ok(Self {
            connect: connect.map(|(_, url)| url),
            profile: cli.profile,
            config_dir: cli.config_dir,
            record: cli.record,
            listen: cli.listen,
            relay,
            captures,
            verbose: cli.verbose,
        })
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

    use clap::error::ErrorKind;

    use super::Args;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::parse(args.iter().map(|s| (*s).to_owned()))
    }

    fn error(args: &[&str]) -> ErrorKind {
        parse(args).expect_err("a usage error").kind()
    }

    #[test]
    fn flags() {
        let args = parse(&["--connect", "ws://x/", "--profile=Local echo"]).unwrap();
        assert_eq!(args.connect.as_deref(), Some("ws://x/"));
        assert_eq!(args.profile.as_deref(), Some("Local echo"));
        assert_eq!(error(&["--help"]), ErrorKind::DisplayHelp);
        assert_eq!(error(&["-h"]), ErrorKind::DisplayHelp);
        // The benchmark modes left the binary (`--example ingest` in the core).
        assert_eq!(
            error(&["--bench-ingest", "1000"]),
            ErrorKind::UnknownArgument
        );
        assert_eq!(error(&["--connect"]), ErrorKind::InvalidValue);
        assert_eq!(error(&["--nope"]), ErrorKind::UnknownArgument);
        assert_eq!(error(&["-x"]), ErrorKind::UnknownArgument);
        // A repeated flag: the last one wins.
        let args = parse(&["--connect", "ws://a/", "--connect=ws://b/"]).unwrap();
        assert_eq!(args.connect.as_deref(), Some("ws://b/"));
    }

    #[test]
    fn the_help_lists_every_flag() {
        let help = parse(&["--help"]).unwrap_err().to_string();
        for flag in [
            "--connect <URL>",
            "--profile <NAME>",
            "--listen <ADDR>",
            "--relay <ADDR> <URL>",
            "--record <FILE>",
            "--config-dir <DIR>",
            "-v, --verbose",
            "-V, --version",
            "-h, --help",
            "CAPTURE.jsonl | URL",
            "ws-inspector.log",
        ] {
            assert!(help.contains(flag), "{flag} is not in the help:\n{help}");
        }
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
        let args = parse(&["--record=r.jsonl", "--", "--odd.jsonl", "ws://not-a-url"]).unwrap();
        assert_eq!(args.record, Some(PathBuf::from("r.jsonl")));
        assert_eq!(
            args.captures,
            [
                PathBuf::from("--odd.jsonl"),
                PathBuf::from("ws://not-a-url")
            ]
        );
        assert_eq!(args.connect, None);
        // `-` is a file name (standard input, for the capture loader).
        assert_eq!(parse(&["-"]).unwrap().captures, [PathBuf::from("-")]);
        assert_eq!(error(&["--record"]), ErrorKind::InvalidValue);
    }

    #[test]
    fn version_verbose_and_urls() {
        assert_eq!(error(&["--version"]), ErrorKind::DisplayVersion);
        assert_eq!(error(&["-V"]), ErrorKind::DisplayVersion);
        assert!(
            parse(&["--version"])
                .unwrap_err()
                .to_string()
                .starts_with(&format!("ws-inspector {}", super::VERSION))
        );
        assert!(parse(&["--verbose"]).unwrap().verbose);
        assert!(parse(&["-v"]).unwrap().verbose);
        assert!(!parse(&[]).unwrap().verbose);
        assert!(super::VERSION.starts_with(env!("CARGO_PKG_VERSION")));
        // A desktop entry's %u: a ws:// link connects, a file:// URL opens its file.
        let args = parse(&["wss://example.org/socket"]).unwrap();
        assert_eq!(args.connect.as_deref(), Some("wss://example.org/socket"));
        assert!(args.captures.is_empty());
        let args = parse(&["file:///tmp/a%20b.jsonl"]).unwrap();
        assert_eq!(args.captures, [PathBuf::from("/tmp/a b.jsonl")]);
        // Of a positional URL and --connect, the later one wins.
        let args = parse(&["ws://first/", "--connect", "ws://second/"]).unwrap();
        assert_eq!(args.connect.as_deref(), Some("ws://second/"));
        let args = parse(&["--connect", "ws://first/", "ws://second/"]).unwrap();
        assert_eq!(args.connect.as_deref(), Some("ws://second/"));
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
        assert_eq!(
            error(&["--relay", "127.0.0.1:0"]),
            ErrorKind::WrongNumberOfValues
        );
    }
}
