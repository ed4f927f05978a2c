//! The command line, as clap derive types: one struct per subcommand, the shared groups of
//! flags (handshake, sending, ending, output) flattened into them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit statuses, shown at the end of `--help`.
const EXIT_STATUSES: &str = "\
Exit status:
  0  closed cleanly (1000, or the code given to --close), or every --expect matched
  1  connection, TLS or protocol failure, or an abnormal close (the reason on stderr)
  2  usage error (a bad flag, URL, header, profile or file)
  3  the server refused the upgrade (its status line, headers and body are printed)
  4  an --expect was not met within --timeout-expect";

/// wsi: the command line for WebSockets.
///
/// Connects, listens and relays with the ws-inspector engine: every frame both ways with
/// `-v`, every frame and event as JSON lines with `--jsonl`, close codes and handshake
/// failures in plain words, and exit statuses a CI job can rely on.
#[derive(Debug, Parser)]
#[command(
    name = "wsi",
    version = crate::VERSION,
    after_help = EXIT_STATUSES,
    propagate_version = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
// Parsed once per run: `connect`'s many flags (with --decode's) need no box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// A client: stdin lines are sent as text messages, received text goes to stdout.
    #[command(after_help = EXIT_STATUSES)]
    Connect(ConnectArgs),
    /// A server on ADDR (e.g. 127.0.0.1:9000): accepts clients until Ctrl-C.
    #[command(after_help = EXIT_STATUSES)]
    Listen(ListenArgs),
    /// Accepts clients on ADDR and forwards each to URL; both legs logged.
    #[command(after_help = EXIT_STATUSES)]
    Relay(RelayArgs),
    /// Sends a capture's client messages to URL and compares the server's answers now with
    /// those in the capture.
    #[command(after_help = REPLAY_STATUSES)]
    Replay(ReplayArgs),
    /// Serves a capture on ADDR: each client gets the capture's server messages, each after
    /// the client message that preceded it (or on the capture's timing).
    #[command(after_help = EXIT_STATUSES)]
    Serve(ServeArgs),
    /// Converts a capture between JSON lines (.jsonl), HAR (.har) and pcapng (.pcapng, write
    /// only), by the files' extensions.
    Convert(ConvertArgs),
    /// Prints shell completions for bash, zsh, fish, elvish or powershell.
    Completions(CompletionsArgs),
    /// Writes man pages for wsi and each subcommand into a folder.
    Man(ManArgs),
}

/// `wsi completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `wsi man DIR`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The folder to write wsi.1, wsi-connect.1, … into (created if needed).
    pub dir: PathBuf,
}

/// The exit statuses of `wsi replay`.
const REPLAY_STATUSES: &str = "\
Exit status:
  0  every answer the capture holds came again, the same and in order, and the close was clean
  1  connection, TLS or protocol failure, or an abnormal close
  2  usage error (a bad flag, URL or capture file)
  3  the server refused the upgrade
  4  the server's answers differ from the capture's (the differences on stderr)";

/// Which connection of a capture (a capture of a listener or relay holds several).
#[derive(Debug, Args)]
pub struct PickArgs {
    /// The connection number (`conn` in the JSON lines) [default: the first].
    #[arg(long, value_name = "N")]
    pub conn: Option<u64>,
    /// The relay leg (`client` or `server`), for a relay's capture [default: the first].
    #[arg(long, value_name = "LEG")]
    pub leg: Option<String>,
}

/// `wsi replay FILE URL`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The capture (.jsonl or .har).
    pub file: PathBuf,
    /// Where to replay it [default: the URL the capture's client connected to].
    pub url: Option<String>,
    /// Send each message as soon as the one before it has gone, not on the capture's timing.
    #[arg(long)]
    pub as_fast_as_possible: bool,
    /// After the last message, wait this long for the server's answers.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub wait: f64,
    #[command(flatten)]
    pub pick: PickArgs,
    #[command(flatten)]
    pub handshake: HandshakeArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wsi serve FILE ADDR`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The capture (.jsonl or .har).
    pub file: PathBuf,
    /// The address to listen on, such as 127.0.0.1:9000.
    pub addr: String,
    /// Send each server message on the capture's timing (from the connection's opening)
    /// instead of after the client message that preceded it.
    #[arg(long)]
    pub original_timing: bool,
    #[command(flatten)]
    pub pick: PickArgs,
    #[command(flatten)]
    pub tls: ServerTlsArgs,
    /// Exit after the first client leaves.
    #[arg(long)]
    pub once: bool,
    /// Seconds allowed for the close handshake before the TCP connection is dropped.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub close_timeout: f64,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wsi convert IN OUT`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The capture to read: .jsonl or .har.
    pub input: PathBuf,
    /// The file to write: .jsonl, .har or .pcapng (created; an existing file is replaced).
    pub output: PathBuf,
}

/// `wsi connect URL`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The ws:// or wss:// URL (a --profile's URL when omitted).
    pub url: Option<String>,
    #[command(flatten)]
    pub handshake: HandshakeArgs,
    #[command(flatten)]
    pub send: SendArgs,
    #[command(flatten)]
    pub end: EndArgs,
    #[command(flatten)]
    pub decode: DecodeArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Payload decoders and the protocols wsi can speak (`connect`).
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Decode messages: json, msgpack, cbor, protobuf:FILE.proto:TYPE (or
    /// protobuf:FILE:TYPE with a compiled descriptor set), socketio, graphql-ws. Received
    /// messages print decoded on stdout (a format's value as one JSON line; a protocol's
    /// packet as TYPE [NAMESPACE] [#ID] JSON; application heartbeats not at all), --expect
    /// matches that line, and --jsonl lines of messages both ways carry a `decoded` field.
    /// A message that does not decode prints as before, its error (at a byte) on stderr.
    /// With socketio a URL without EIO= gets /socket.io/?EIO=4&transport=websocket; with
    /// graphql-ws and no -p, graphql-transport-ws and graphql-ws are offered.
    #[arg(long, value_name = "FORMAT")]
    pub decode: Option<String>,
    /// Decode sent messages with this format instead of --decode's (in --jsonl).
    #[arg(long, value_name = "FORMAT")]
    pub decode_sent: Option<String>,
    /// A folder the .proto file's imports are looked up in (repeatable; then the file's
    /// own folder).
    #[arg(long = "proto-import", value_name = "DIR")]
    pub proto_imports: Vec<PathBuf>,
    /// Encode each --send text and stdin line with the decoder: JSON into msgpack, cbor or
    /// the protobuf type (sent binary); socketio: an event as its JSON array ["name",
    /// args…], optionally after "/namespace,"; graphql-ws: a subscribe of a query, or of
    /// {"query", "variables", "operationName"}, ids 1, 2, …
    #[arg(long)]
    pub encode: bool,
    /// socketio: join this namespace once the server's open packet comes (repeatable; the
    /// first is where --encode's events go) [default: /].
    #[arg(long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,
    /// socketio with --encode: each event asks for an ack (ids 1, 2, …).
    #[arg(long)]
    pub ack: bool,
    /// socketio: the auth object of each namespace connect; graphql-ws: the
    /// connection_init payload (JSON).
    #[arg(long, value_name = "JSON")]
    pub init_payload: Option<String>,
    /// With socketio or graphql-ws, do not speak the protocol. By default wsi joins the
    /// namespaces (socketio) or sends connection_init (graphql-ws) on open, waits for the
    /// server's answer before its sends (up to --timeout), and answers application pings
    /// (each automatic packet said on stderr with -v).
    #[arg(long)]
    pub no_auto_protocol: bool,
}

/// `wsi listen ADDR`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// The address to listen on, such as 127.0.0.1:9000 (port 0: any free port).
    pub addr: String,
    /// Echo every message back to the client that sent it.
    #[arg(long)]
    pub echo: bool,
    /// Send this text to each client when it connects (repeatable, in order).
    #[arg(long = "send", value_name = "TEXT")]
    pub send: Vec<String>,
    /// Choose this subprotocol when a client offers it (repeatable, most preferred first).
    #[arg(short = 'p', long = "protocol", value_name = "NAME")]
    pub protocols: Vec<String>,
    /// Accept permessage-deflate when a client offers it.
    #[arg(long)]
    pub compress: bool,
    #[command(flatten)]
    pub tls: ServerTlsArgs,
    /// Exit after the first client leaves.
    #[arg(long)]
    pub once: bool,
    /// Seconds allowed for the close handshake before the TCP connection is dropped.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub close_timeout: f64,
    /// The largest message accepted, in bytes (larger: closed with 1009).
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_message: usize,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wsi relay ADDR URL`.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// The address to accept clients on, such as 127.0.0.1:9000.
    pub addr: String,
    /// Where to forward each client: a ws:// or wss:// URL; the client's path and query
    /// are appended to its path.
    pub url: Option<String>,
    #[command(flatten)]
    pub handshake: HandshakeArgs,
    #[command(flatten)]
    pub tls: ServerTlsArgs,
    /// Exit after the first client leaves.
    #[arg(long)]
    pub once: bool,
    /// Forward whole messages: a fragmented message is assembled and sent on in one frame
    /// (by default each frame is forwarded as it arrives, fragments kept).
    #[arg(long)]
    pub whole_messages: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How to open a client connection (connect, and the upstream leg of relay).
#[derive(Debug, Args)]
pub struct HandshakeArgs {
    /// An extra request header, 'Name: value' (repeatable).
    #[arg(
        short = 'H',
        long = "header",
        value_name = "'NAME: VALUE'",
        num_args = 1
    )]
    pub headers: Vec<String>,
    /// The Origin header.
    #[arg(long, value_name = "URL")]
    pub origin: Option<String>,
    /// Offer this subprotocol (repeatable, most preferred first).
    #[arg(short = 'p', long = "protocol", value_name = "NAME", num_args = 1)]
    pub protocols: Vec<String>,
    /// Offer permessage-deflate (RFC 7692).
    #[arg(long)]
    pub compress: bool,
    /// A PEM file of CA certificates to trust besides the system's.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// A PEM client certificate (chain) to present; --key gives its key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The PEM private key of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Accept any server certificate (testing only; said on stderr).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// A proxy: http://[user:pass@]host:port (HTTP CONNECT), socks5://[user:pass@]host:port
    /// (SOCKS5, names resolved here) or socks5h://[user:pass@]host:port (SOCKS5, names resolved
    /// by the proxy).
    #[arg(long, value_name = "URL", conflicts_with = "proxy_env")]
    pub proxy: Option<String>,
    /// Use the proxy the environment names (https_proxy, http_proxy, all_proxy, no_proxy).
    #[arg(long)]
    pub proxy_env: bool,
    /// Seconds allowed for each of connect (and the proxy), TLS and the upgrade [default:
    /// 10, or the profile's].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Seconds allowed for the close handshake before the TCP connection is dropped
    /// [default: 5, or the profile's].
    #[arg(long, value_name = "SECS")]
    pub close_timeout: Option<f64>,
    /// The largest message accepted, in bytes; larger ones are refused with 1009 [default:
    /// 64 MiB, or the profile's].
    #[arg(long, value_name = "BYTES")]
    pub max_message: Option<usize>,
    /// A variable for `{{NAME}}` placeholders in the URL, -H values and --send texts, as
    /// NAME=VALUE (repeatable). Built in: {{uuid}}, {{timestamp}} (ms), {{iso_time}},
    /// {{counter}} (per connection), {{random_int MIN MAX}}, {{env.NAME}}; `\{{` is a
    /// literal `{{`. An unknown name or a bad argument is a usage error and nothing is sent.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Start from this saved inspector profile (its URL, headers, TLS, proxy and timeouts);
    /// flags override it.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The folder of the inspector's profiles (default: the platform config dir, or
    /// $WS_INSPECTOR_CONFIG_DIR).
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
}

/// What a client sends.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Send this text message once open (repeatable; --send, --send-hex and --send-file go
    /// out in the order given).
    #[arg(long = "send", value_name = "TEXT")]
    pub text: Vec<String>,
    /// Send these bytes, written as hex (spaces allowed), as a binary message (repeatable).
    #[arg(long = "send-hex", value_name = "HEX")]
    pub hex: Vec<String>,
    /// Send this file's bytes as one binary message (repeatable).
    #[arg(long = "send-file", value_name = "PATH")]
    pub file: Vec<PathBuf>,
    /// Send stdin's lines as text messages (the default when stdin is not a terminal);
    /// --no-stdin ignores stdin.
    #[arg(long)]
    pub no_stdin: bool,
    /// Send a ping every SECS seconds (-v prints each round-trip time).
    #[arg(long, value_name = "SECS")]
    pub ping_interval: Option<f64>,
    /// Keep-alive: a ping every SECS seconds, and the connection fails (close 1011) when a
    /// pong has not come within --keepalive-timeout.
    #[arg(long, value_name = "SECS")]
    pub keepalive: Option<f64>,
    /// How long a keep-alive ping may wait for its pong [default: the --keepalive interval].
    #[arg(long, value_name = "SECS", requires = "keepalive")]
    pub keepalive_timeout: Option<f64>,
    /// Send the --send/--send-hex/--send-file list again every MS milliseconds (until
    /// --send-count rounds, the goals, --wait or Ctrl-C).
    #[arg(long, value_name = "MS")]
    pub send_every: Option<u64>,
    /// How many rounds of the send list --send-every sends, the first included.
    #[arg(long, value_name = "N", requires = "send_every")]
    pub send_count: Option<u64>,
    /// Close with CODE (default 1000) and REASON once the sends are done and every
    /// --expect has matched (or after --wait); waits for the reply up to --close-timeout.
    #[arg(long, value_name = "CODE[:REASON]", num_args = 0..=1, default_missing_value = "1000")]
    pub close: Option<String>,
}

/// When a client stops.
#[derive(Debug, Args)]
pub struct EndArgs {
    /// Stay open this many seconds after the last send, then close.
    #[arg(long, value_name = "SECS")]
    pub wait: Option<f64>,
    /// Exit after N messages received.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// A regular expression that a received text message must match (repeatable: matched
    /// in the order given, skipping messages in between).
    #[arg(long = "expect", value_name = "REGEX")]
    pub expect: Vec<String>,
    /// Seconds allowed for every --expect to match, from the moment the connection opens.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout_expect: f64,
    /// On exit, print what the connection carried on stderr: messages and bytes each way,
    /// their rates, and the ping round trips' min, median and p99.
    #[arg(long)]
    pub stats: bool,
    /// Connect again when the connection fails or the server closes it (not when wsi
    /// closes it as planned, or on Ctrl-C); the send list is sent again on each connection.
    #[arg(long)]
    pub reconnect: bool,
    /// At most this many connections in all, the first included [default: no limit].
    #[arg(long, value_name = "N", requires = "reconnect")]
    pub reconnect_max: Option<u64>,
    /// The first delay before connecting again, doubling each time (±20 % jitter).
    #[arg(long, value_name = "SECS", default_value_t = 0.5)]
    pub reconnect_delay: f64,
    /// The longest delay between attempts.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub reconnect_max_delay: f64,
}

/// TLS for a server (listen, and the client leg of relay).
#[derive(Debug, Args)]
pub struct ServerTlsArgs {
    /// Serve wss:// with this PEM certificate chain (with --tls-key).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve wss:// with a certificate made at start for localhost and 127.0.0.1 (its
    /// SHA-256 fingerprint is printed on stderr).
    #[arg(long)]
    pub tls_self_signed: bool,
}

/// What is printed, and where.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print the handshake, every frame both ways and every lifecycle event on stderr.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Write every frame and event as JSON lines (the capture format) to FILE, `-` for
    /// stdout (received messages are then not printed there).
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// How binary messages are written on stdout.
    #[arg(long, value_enum, default_value_t = BinaryOutput::Hex)]
    pub binary: BinaryOutput,
    /// Print nothing on stdout (still -v and --jsonl).
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// How binary messages are written on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BinaryOutput {
    /// Lowercase hex, one message per line.
    Hex,
    /// The bytes as received, with nothing added.
    Raw,
}
