//! pcapng export: a capture as TCP/IP packets that Wireshark and `tshark` open and dissect
//! as HTTP and WebSocket.
//!
//! A capture holds the bytes a connection carried (the upgrade request and response heads
//! exactly as on the wire, every frame with all its header bits, its mask key and its
//! unmasked payload) but no packets: [`export`] makes them up around those bytes, so that
//! the tools people already know can show a session — frame by frame, with Wireshark's
//! WebSocket dissector, its expert checks and its statistics.
//!
//! # What is written
//!
//! One pcapng section (its comment says what the file is and what wrote the capture), one
//! interface of link type raw IP (101, no invented MAC addresses) with nanosecond
//! timestamps, and for each connection — the lines of one `(conn, leg)`, so each relay leg
//! is a connection of its own:
//!
//! - the TCP handshake, SYN, SYN-ACK and ACK, between the client and the server, at the time
//!   of the `tcp_connected` line (or of the connection's first line that carries bytes);
//! - the upgrade request head, client to server, and the response head, server to client,
//!   byte for byte as recorded (`raw`). A refusal that a client received is kept in the
//!   capture only as its parsed head and body; its bytes are rebuilt from them, and the
//!   packet's comment says so;
//! - every frame, in its direction, encoded as on the wire: FIN, RSV1-3, the opcode, the MASK
//!   bit and mask key, the payload length and the payload — masked again with the recorded
//!   key (the capture keeps it unmasked), compressed as it was for a compressed message;
//! - the FIN/ACK teardown at the time of the `closed` line (the server's FIN first, as RFC
//!   6455 §7.1.1 has it), or at the connection's last line if the capture has none.
//!
//! Sequence and acknowledgment numbers follow the bytes; IPv4 and TCP checksums are
//! computed (by `etherparse`). A frame or head larger than one segment is split into
//! segments of at most [`MSS_V4`] bytes over IPv4 ([`MSS_V6`] over IPv6) and Wireshark
//! reassembles it; the receiver acknowledges at least every [`ACK_EVERY`] bytes with a pure
//! ACK, as a real peer would, so that no window fills. Data segments carry PSH on the last
//! segment of each frame or head. Packets are written in the order of the capture's lines,
//! at each line's `time_ns`; a frame's segments share its time.
//!
//! The packets are IPv4 when both addresses are, IPv6 otherwise (a v4 address beside a v6
//! one is written v4-mapped). A capture without a `tcp_connected` line (nor addresses in its
//! `opened` line) gets invented ones: client `127.0.0.1:(49152 + n)` for the `n`-th
//! connection, server `127.0.0.1:80`, said in the SYN's comment. A connection whose TCP
//! connect failed (a `handshake_failed` with no bytes before it) has no packets; its
//! reason is in the section comment. A session of no frames, or none at all, is still a
//! valid file.
//!
//! The frame length is written in its shortest form (the capture keeps the length, not how
//! many bytes stated it). The few records that are no bytes on the wire become comments:
//! `error` lines and the `closed` line (code, reason, who closed, whether cleanly) are
//! packet comments on the connection's next packet, or on its FIN.
//!
//! # wss:// and the server port
//!
//! For a wss:// connection (a `tls_established` line) the capture holds the plaintext, so
//! that is what the packets carry, as if there were no TLS; the SYN's comment says "plaintext
//! of a TLS (wss://) connection, reconstructed by ws-inspector", and so does the section
//! comment.
//!
//! Wireshark picks the dissector of TCP bytes by port first — HTTP on 80 and a few others,
//! some other protocol on many ports (X11 on 6001, for one) — and tries its heuristics
//! (HTTP's among them) only where no port matched; from HTTP it follows
//! `Upgrade: websocket` to the WebSocket dissector. With the real ports, tshark 4.0 found
//! the frames on most server ports tried (443, 8443, 9002, ephemeral ones) but none on 6001
//! or 7000. So that a plain `tshark -r FILE -Y websocket` (and Wireshark, opened without any
//! *Decode As*) always shows the frames, **the server's port is written as
//! [`SERVER_PORT`], 80**; the client's port and both addresses are the real ones, and the
//! SYN's comment has the real addresses, port included (the `frame.comment` field;
//! Wireshark lists comments under *Statistics > Capture File Properties*).
//! [`ExportOptions::with_real_server_port`] keeps the real port instead, for those who
//! would rather decode it with `-d tcp.port==PORT,http`.
//!
//! A client port that is itself some protocol's well-known port (seen only in a capture at a
//! server whose clients bind low ports) could still make Wireshark try that protocol first;
//! `-d tcp.port==PORT,http` helps there too.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use etherparse::{PacketBuilder, TcpOptionElement};
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::{Block, PcapNgWriter};
use pcap_file::{DataLink, Endianness, PcapError};
use ws_tokio::ws_proto::http::StatusCode;

use super::record::{CaptureLine, FrameRecord, Leg, Record, ResponseHead};

/// The largest TCP payload of one packet over IPv4 (an Ethernet MTU of 1500 less 40 bytes
/// of IPv4 and TCP headers).
pub const MSS_V4: usize = 1460;

/// The largest TCP payload of one packet over IPv6 (1500 less 60 bytes of headers).
pub const MSS_V6: usize = 1440;

/// The receiver of data sends a pure ACK once this many bytes are unacknowledged (half the
/// 65,535-byte window the packets advertise).
pub const ACK_EVERY: u32 = 32 * 1024;

/// The server port written in the packets (see the [module](self) documentation).
pub const SERVER_PORT: u16 = 80;

/// What the SYN's and the section's comments say of a wss:// connection.
pub const TLS_COMMENT: &str =
    "plaintext of a TLS (wss://) connection, reconstructed by ws-inspector";

/// The TCP window advertised (no window scaling).
const WINDOW: u16 = 65535;

/// The IPv4 TTL and IPv6 hop limit.
const HOPS: u8 = 64;

/// pcapng option values are at most 65,535 bytes; comments are cut well before that.
const COMMENT_MAX: usize = 8 * 1024;

/// Connections without a TCP connection of their own named in the section comment.
const UNCONNECTED_MAX: usize = 50;

/// How [`export_with`] writes; [`export`] takes the defaults.
///
/// `#[non_exhaustive]`: start from [`ExportOptions::default`] and use the `with_*` setters.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Write the server's real port instead of [`SERVER_PORT`]. Wireshark's HTTP heuristic
    /// then finds the WebSocket connections on most ports, but not on one that another
    /// dissector claims (6001 is X11, for one): `tshark -d tcp.port==PORT,http` helps there.
    /// `false` by default.
    pub real_server_port: bool,
}

impl ExportOptions {
    /// Writes the server's real port (see [`real_server_port`](Self::real_server_port)).
    pub fn with_real_server_port(mut self, real: bool) -> Self {
        self.real_server_port = real;
        self
    }
}

/// What [`export`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// TCP connections synthesized: one per `(conn, leg)` that carried bytes (and one more
    /// each time bytes come after its teardown).
    pub connections: u64,
    /// Packets written (handshakes, data segments, ACKs and teardowns).
    pub packets: u64,
    /// WebSocket frames written.
    pub frames: u64,
}

/// Writes `lines` (a capture, in the order it was written; a `capture` first line may be
/// among them) to `out` as a pcapng file of TCP/IP packets, as the [module](self)
/// documentation describes. `out` is buffered here and flushed at the end; memory use does
/// not grow with the number of lines, only with the number of connections.
///
/// Errors only when writing fails.
pub fn export(lines: &[CaptureLine], out: impl Write) -> io::Result<ExportSummary> {
    export_with(lines, out, &ExportOptions::default())
}

/// [`export`] with `options`.
pub fn export_with(
    lines: &[CaptureLine],
    out: impl Write,
    options: &ExportOptions,
) -> io::Result<ExportSummary> {
    let survey = Survey::of(lines);
    let mut writer = PcapNgWriter::with_section_header(
        BufWriter::with_capacity(256 * 1024, out),
        section_header(&survey, options),
    )
    .map_err(pcap_error)?;
    writer
        .write_block(&Block::InterfaceDescription(InterfaceDescriptionBlock {
            linktype: DataLink::RAW,
            snaplen: 0xFFFF,
            options: vec![
                InterfaceDescriptionOption::IfName(Cow::Borrowed("ws-inspector")),
                InterfaceDescriptionOption::IfDescription(Cow::Borrowed(
                    "TCP/IP packets synthesized by ws-inspector around the bytes of a capture",
                )),
                InterfaceDescriptionOption::IfTsResol(9),
            ],
        }))
        .map_err(pcap_error)?;

    let mut exporter = Exporter {
        out: writer,
        packet: Vec::with_capacity(2048),
        wire: Vec::with_capacity(2048),
        summary: ExportSummary::default(),
        conns: survey
            .conns
            .iter()
            .enumerate()
            .map(|(n, info)| Conn::new(info, n, options))
            .collect(),
    };
    let mut last: Option<(Key, usize)> = None;
    for line in lines {
        let key = (line.conn, line.leg);
        let index = match last {
            Some((k, i)) if k == key => i,
            _ => {
                let Some(&i) = survey.index.get(&key) else {
                    continue; // a `capture` line, of no connection
                };
                last = Some((key, i));
                i
            }
        };
        exporter.line(index, line)?;
    }
    for index in 0..exporter.conns.len() {
        let time = exporter.conns[index].last_time;
        exporter.teardown(index, time)?;
    }
    let summary = exporter.summary;
    exporter.out.into_inner().flush()?;
    Ok(summary)
}

/// `(conn, leg)`: which connection a line belongs to.
type Key = (Option<u64>, Option<Leg>);

/// Which end of the connection the capture was made at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Client,
    Server,
}

/// What a first pass over the lines learns of each connection.
#[derive(Debug, Default)]
struct ConnInfo {
    key: Option<Key>,
    local: Option<SocketAddr>,
    peer: Option<SocketAddr>,
    proxy: Option<String>,
    role: Option<Role>,
    tls: bool,
    /// Whether any line carries bytes (so that there is a TCP connection to show).
    carries_bytes: bool,
    /// Why the connection failed, for one that carried no bytes.
    failure: Option<String>,
}

/// The first pass: the connections, in the order they appear, and what the file says of
/// itself.
#[derive(Debug, Default)]
struct Survey {
    index: HashMap<Key, usize>,
    conns: Vec<ConnInfo>,
    generator: Option<String>,
}

impl Survey {
    fn of(lines: &[CaptureLine]) -> Self {
        let mut survey = Self::default();
        let mut last: Option<(Key, usize)> = None;
        for line in lines {
            if let Record::Capture { generator, .. } = &line.record {
                survey.generator.get_or_insert_with(|| generator.clone());
                continue;
            }
            let key = (line.conn, line.leg);
            let index = match last {
                Some((k, i)) if k == key => i,
                _ => {
                    let next = survey.conns.len();
                    let i = *survey.index.entry(key).or_insert(next);
                    if i == next {
                        survey.conns.push(ConnInfo {
                            key: Some(key),
                            ..ConnInfo::default()
                        });
                    }
                    last = Some((key, i));
                    i
                }
            };
            let info = &mut survey.conns[index];
            match &line.record {
                Record::TcpConnected { local, peer, proxy } => {
                    info.local.get_or_insert(*local);
                    info.peer.get_or_insert(*peer);
                    if info.proxy.is_none() {
                        info.proxy.clone_from(proxy);
                    }
                    info.carries_bytes = true;
                }
                Record::TlsEstablished(_) => info.tls = true,
                Record::RequestSent { .. } | Record::ResponseReceived { .. } => {
                    info.role.get_or_insert(Role::Client);
                    info.carries_bytes = true;
                }
                Record::RequestReceived { .. } | Record::ResponseSent { .. } => {
                    info.role.get_or_insert(Role::Server);
                    info.carries_bytes = true;
                }
                Record::HandshakeFailed {
                    reason, response, ..
                } => {
                    info.role.get_or_insert(Role::Client);
                    if response.is_some() {
                        info.carries_bytes = true;
                    }
                    info.failure.get_or_insert_with(|| reason.clone());
                }
                Record::Frame(frame) => {
                    info.carries_bytes = true;
                    if frame.mask.is_some() {
                        // Clients mask, servers do not.
                        info.role.get_or_insert(if frame.incoming {
                            Role::Server
                        } else {
                            Role::Client
                        });
                    }
                }
                Record::Opened(opened) => {
                    if let (Some(local), Some(peer)) = (opened.local, opened.peer) {
                        info.local.get_or_insert(local);
                        info.peer.get_or_insert(peer);
                    }
                    if opened.tls.is_some() {
                        info.tls = true;
                    }
                }
                Record::Error { message } => {
                    info.failure.get_or_insert_with(|| message.clone());
                }
                _ => {}
            }
        }
        survey
    }
}

fn section_header(survey: &Survey, options: &ExportOptions) -> SectionHeaderBlock<'static> {
    let mut comment = String::from(
        "WebSocket connections exported by ws-inspector from a capture: the TCP/IP packets \
         are synthesized around the bytes the capture recorded (the handshake heads as on \
         the wire, every frame re-encoded and masked again with its key).",
    );
    if options.real_server_port {
        comment.push_str(
            " The ports are the real ones: if Wireshark does not dissect a connection as \
             HTTP and WebSocket, decode its server port as HTTP.",
        );
    } else {
        let _ = write!(
            comment,
            " The server port is written as {SERVER_PORT}, so that Wireshark dissects HTTP \
             and WebSocket; each SYN's comment has the real addresses."
        );
    }
    if let Some(generator) = &survey.generator {
        let _ = write!(comment, " The capture was written by {generator}.");
    }
    if survey.conns.iter().any(|c| c.tls && c.carries_bytes) {
        let _ = write!(
            comment,
            " Some connections were wss://: their packets carry the {TLS_COMMENT}."
        );
    }
    let unconnected: Vec<&ConnInfo> = survey.conns.iter().filter(|c| !c.carries_bytes).collect();
    for info in unconnected.iter().take(UNCONNECTED_MAX) {
        let _ = write!(
            comment,
            " {} made no TCP connection{}.",
            describe_key(info.key),
            match &info.failure {
                Some(reason) => format!(": {reason}"),
                None => String::new(),
            }
        );
    }
    if unconnected.len() > UNCONNECTED_MAX {
        let _ = write!(
            comment,
            " {} more made no TCP connection.",
            unconnected.len() - UNCONNECTED_MAX
        );
    }
    SectionHeaderBlock {
        endianness: Endianness::native(),
        major_version: 1,
        minor_version: 0,
        section_length: -1,
        options: vec![
            SectionHeaderOption::Comment(Cow::Owned(clip(comment))),
            SectionHeaderOption::UserApplication(Cow::Owned(format!(
                "ws-inspector {}",
                env!("CARGO_PKG_VERSION")
            ))),
        ],
    }
}

/// `connection 3 (client leg)`, `the connection`.
fn describe_key(key: Option<Key>) -> String {
    match key.unwrap_or_default() {
        (None, None) => "the connection".to_owned(),
        (Some(conn), None) => format!("connection {conn}"),
        (None, Some(leg)) => format!("the {} leg", leg.as_str()),
        (Some(conn), Some(leg)) => format!("connection {conn} ({} leg)", leg.as_str()),
    }
}

/// `text`, cut to [`COMMENT_MAX`] bytes at a character boundary.
fn clip(mut text: String) -> String {
    if text.len() > COMMENT_MAX {
        let mut end = COMMENT_MAX - 3;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

fn pcap_error(e: PcapError) -> io::Error {
    match e {
        PcapError::IoError(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

/// Client (0) or server (1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Client = 0,
    Server = 1,
}

impl Side {
    fn other(self) -> Self {
        match self {
            Self::Client => Self::Server,
            Self::Server => Self::Client,
        }
    }
}

/// One TCP connection being written.
#[derive(Debug)]
struct Conn {
    /// The addresses written: client, server.
    addr: [SocketAddr; 2],
    /// What the SYN's comment says.
    syn_comment: String,
    role: Role,
    /// Initial sequence numbers: client, server.
    isn: [u32; 2],
    /// The next sequence number of each side.
    seq: [u32; 2],
    /// The last acknowledgment number each side sent (of the other side's bytes).
    acked: [u32; 2],
    /// The handshake is written and the teardown not yet.
    open: bool,
    /// Times the connection was (re)opened.
    opened: u32,
    /// Comments for the connection's next packet.
    pending: Vec<String>,
    last_time: u64,
    mss: usize,
}

impl Conn {
    fn new(info: &ConnInfo, n: usize, options: &ExportOptions) -> Self {
        let role = info.role.unwrap_or(match info.key.and_then(|k| k.1) {
            // On the client leg the relay is the server; on the server leg the client.
            Some(Leg::Client) => Role::Server,
            _ => Role::Client,
        });
        let mut comment = describe_key(info.key);
        let real = match (info.local, info.peer) {
            (Some(local), Some(peer)) => Some(match role {
                Role::Client => (local, peer),
                Role::Server => (peer, local),
            }),
            _ => None,
        };
        let (client, server) = match real {
            Some((client, server)) => {
                let _ = write!(comment, ": client {client}, server {server}");
                if options.real_server_port {
                    (client, server)
                } else {
                    if server.port() != SERVER_PORT {
                        let _ = write!(
                            comment,
                            " (its port written as {SERVER_PORT}, for Wireshark to dissect \
                             HTTP and WebSocket)"
                        );
                    }
                    (client, SocketAddr::new(server.ip(), SERVER_PORT))
                }
            }
            None => {
                let port = 49152 + (n % 16384) as u16;
                let client = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port);
                let server = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), SERVER_PORT);
                let _ = write!(
                    comment,
                    ": addresses invented ({client} and {server}); the capture has none"
                );
                (client, server)
            }
        };
        if let Some(proxy) = &info.proxy {
            let _ = write!(
                comment,
                ", through the proxy {proxy} (the server is the proxy)"
            );
        }
        let _ = write!(
            comment,
            "; captured at the {}",
            match role {
                Role::Client => "client",
                Role::Server => "server",
            }
        );
        if info.tls {
            let _ = write!(comment, "; {TLS_COMMENT}");
        }
        let (client, server) = same_family(client, server);
        let base = (n as u32).wrapping_mul(0x0101_0000);
        Self {
            addr: [client, server],
            syn_comment: comment,
            role,
            isn: [
                0x1000_0000u32.wrapping_add(base),
                0x8000_0000u32.wrapping_add(base),
            ],
            seq: [0; 2],
            acked: [0; 2],
            open: false,
            opened: 0,
            pending: Vec::new(),
            last_time: 0,
            mss: if client.is_ipv4() { MSS_V4 } else { MSS_V6 },
        }
    }

    /// The side that sent a frame.
    fn sender(&self, frame: &FrameRecord) -> Side {
        match (self.role, frame.incoming) {
            (Role::Client, false) | (Role::Server, true) => Side::Client,
            (Role::Client, true) | (Role::Server, false) => Side::Server,
        }
    }
}

/// Both addresses of one family: IPv4 if both are (v4-mapped IPv6 counts), else IPv6.
fn same_family(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    let v4 = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    };
    match (v4(a.ip()), v4(b.ip())) {
        (Some(x), Some(y)) => (
            SocketAddr::new(x.into(), a.port()),
            SocketAddr::new(y.into(), b.port()),
        ),
        _ => {
            let v6 = |ip: IpAddr| match ip {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            (
                SocketAddr::new(v6(a.ip()).into(), a.port()),
                SocketAddr::new(v6(b.ip()).into(), b.port()),
            )
        }
    }
}

/// TCP flags of one packet.
#[derive(Clone, Copy, Debug, Default)]
struct Flags {
    syn: bool,
    ack: bool,
    psh: bool,
    fin: bool,
}

const ACK: Flags = Flags {
    syn: false,
    ack: true,
    psh: false,
    fin: false,
};

/// The second pass: packets for each line.
struct Exporter<W: Write> {
    out: PcapNgWriter<BufWriter<W>>,
    /// The packet being built.
    packet: Vec<u8>,
    /// The bytes of the frame being written.
    wire: Vec<u8>,
    summary: ExportSummary,
    conns: Vec<Conn>,
}

impl<W: Write> Exporter<W> {
    fn line(&mut self, index: usize, line: &CaptureLine) -> io::Result<()> {
        let time = line.time_ns;
        self.conns[index].last_time = time;
        match &line.record {
            Record::TcpConnected { .. } => self.handshake(index, time),
            Record::RequestSent { raw, .. } | Record::RequestReceived { raw, .. } => {
                self.data(index, Side::Client, raw, time)
            }
            Record::ResponseReceived { raw, .. } | Record::ResponseSent { raw } => {
                self.data(index, Side::Server, raw, time)
            }
            Record::HandshakeFailed {
                reason,
                response,
                body,
            } => {
                let conn = &mut self.conns[index];
                conn.pending
                    .push(format!("the opening handshake failed: {reason}"));
                match response {
                    Some(head) => {
                        conn.pending.push(
                            "this response is rebuilt from its parsed head and body (the \
                             capture keeps no raw bytes of a refusal the client received)"
                                .to_owned(),
                        );
                        let bytes = rebuild_response(head, body.as_deref().unwrap_or_default());
                        self.data(index, Side::Server, &bytes, time)
                    }
                    None => Ok(()),
                }
            }
            Record::Frame(frame) => self.frame(index, frame, time),
            Record::Closed {
                code,
                reason,
                initiator,
                clean,
            } => {
                self.conns[index].pending.push(format!(
                    "closed: code {code}{}, closed by {}, {}",
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!(" {reason:?}")
                    },
                    match initiator {
                        super::InitiatorRecord::Local => "this side",
                        super::InitiatorRecord::Remote => "the peer",
                        super::InitiatorRecord::Nobody => "nobody (the connection was lost)",
                    },
                    if *clean { "cleanly" } else { "not cleanly" }
                ));
                self.teardown(index, time)
            }
            Record::Error { message } => {
                self.conns[index].pending.push(format!("error: {message}"));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn frame(&mut self, index: usize, frame: &FrameRecord, time: u64) -> io::Result<()> {
        let sender = self.conns[index].sender(frame);
        let payload = &frame.payload;
        if frame.payload_len != payload.len() as u64 {
            self.conns[index].pending.push(format!(
                "the capture's header of this frame states {} payload bytes and holds {}: \
                 the length written is the bytes'",
                frame.payload_len,
                payload.len()
            ));
        }
        let mut wire = std::mem::take(&mut self.wire);
        wire.clear();
        encode_frame(frame, &mut wire);
        let result = self.data(index, sender, &wire, time);
        self.wire = wire;
        self.summary.frames += 1;
        result
    }

    /// Writes the SYN, SYN-ACK and ACK, unless the connection is open.
    fn handshake(&mut self, index: usize, time: u64) -> io::Result<()> {
        let conn = &mut self.conns[index];
        if conn.open {
            return Ok(());
        }
        conn.open = true;
        if conn.opened > 0 {
            // Bytes after a teardown: a new connection between the same addresses.
            conn.isn[0] = conn.seq[0].wrapping_add(100_000);
            conn.isn[1] = conn.seq[1].wrapping_add(100_000);
        }
        conn.opened += 1;
        conn.seq = [conn.isn[0].wrapping_add(1), conn.isn[1].wrapping_add(1)];
        conn.acked = [conn.seq[1], conn.seq[0]];
        let mut comment = conn.syn_comment.clone();
        if conn.opened > 1 {
            comment.push_str(" (again, after its teardown)");
        }
        let (isn_c, isn_s) = (conn.isn[0], conn.isn[1]);
        let syn = Flags {
            syn: true,
            ..Flags::default()
        };
        self.summary.connections += 1;
        self.packet(index, Side::Client, syn, isn_c, 0, &[], time, Some(comment))?;
        let syn_ack = Flags {
            syn: true,
            ack: true,
            ..Flags::default()
        };
        let ack_c = isn_c.wrapping_add(1);
        let ack_s = isn_s.wrapping_add(1);
        self.packet(index, Side::Server, syn_ack, isn_s, ack_c, &[], time, None)?;
        self.packet(index, Side::Client, ACK, ack_c, ack_s, &[], time, None)
    }

    /// Writes `bytes` from `sender`, in segments of at most one MSS.
    fn data(&mut self, index: usize, sender: Side, bytes: &[u8], time: u64) -> io::Result<()> {
        self.handshake(index, time)?;
        let (s, r) = (sender as usize, sender.other() as usize);
        let mss = self.conns[index].mss;
        let mut chunks = bytes.chunks(mss).peekable();
        while let Some(chunk) = chunks.next() {
            let conn = &mut self.conns[index];
            let (seq, ack) = (conn.seq[s], conn.seq[r]);
            conn.seq[s] = seq.wrapping_add(chunk.len() as u32);
            conn.acked[s] = ack;
            let flags = Flags {
                psh: chunks.peek().is_none(),
                ..ACK
            };
            self.packet(index, sender, flags, seq, ack, chunk, time, None)?;
            let conn = &mut self.conns[index];
            if conn.seq[s].wrapping_sub(conn.acked[r]) >= ACK_EVERY {
                let (seq, ack) = (conn.seq[r], conn.seq[s]);
                conn.acked[r] = ack;
                self.packet(index, sender.other(), ACK, seq, ack, &[], time, None)?;
            }
        }
        Ok(())
    }

    /// Writes the teardown (the server's FIN, the client's FIN, the last ACK), if the
    /// connection is open.
    fn teardown(&mut self, index: usize, time: u64) -> io::Result<()> {
        let conn = &mut self.conns[index];
        if !conn.open {
            return Ok(());
        }
        conn.open = false;
        let [c, s] = conn.seq;
        conn.seq = [c.wrapping_add(1), s.wrapping_add(1)];
        let fin = Flags { fin: true, ..ACK };
        self.packet(index, Side::Server, fin, s, c, &[], time, None)?;
        self.packet(
            index,
            Side::Client,
            fin,
            c,
            s.wrapping_add(1),
            &[],
            time,
            None,
        )?;
        self.packet(
            index,
            Side::Server,
            ACK,
            s.wrapping_add(1),
            c.wrapping_add(1),
            &[],
            time,
            None,
        )
    }

    /// Writes one packet from `from`, with the connection's pending comments (and
    /// `comment`).
    #[allow(clippy::too_many_arguments)]
    fn packet(
        &mut self,
        index: usize,
        from: Side,
        flags: Flags,
        seq: u32,
        ack: u32,
        payload: &[u8],
        time: u64,
        comment: Option<String>,
    ) -> io::Result<()> {
        let conn = &mut self.conns[index];
        let (src, dst) = match from {
            Side::Client => (conn.addr[0], conn.addr[1]),
            Side::Server => (conn.addr[1], conn.addr[0]),
        };
        let builder = match (src.ip(), dst.ip()) {
            (IpAddr::V4(a), IpAddr::V4(b)) => PacketBuilder::ipv4(a.octets(), b.octets(), HOPS),
            (a, b) => PacketBuilder::ipv6(v6(a).octets(), v6(b).octets(), HOPS),
        };
        let mut tcp = builder.tcp(src.port(), dst.port(), seq, WINDOW);
        if flags.syn {
            tcp = tcp.syn();
        }
        if flags.ack {
            tcp = tcp.ack(ack);
        }
        if flags.psh {
            tcp = tcp.psh();
        }
        if flags.fin {
            tcp = tcp.fin();
        }
        if flags.syn {
            tcp = tcp
                .options(&[TcpOptionElement::MaximumSegmentSize(conn.mss as u16)])
                .map_err(io::Error::other)?;
        }
        self.packet.clear();
        tcp.write(&mut self.packet, payload)
            .map_err(io::Error::other)?;

        let mut options = Vec::new();
        let comments: Vec<String> = comment.into_iter().chain(conn.pending.drain(..)).collect();
        if !comments.is_empty() {
            options.push(EnhancedPacketOption::Comment(Cow::Owned(clip(
                comments.join("; "),
            ))));
        }
        let block = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_nanos(time),
            original_len: self.packet.len() as u32,
            data: Cow::Borrowed(&self.packet),
            options,
        };
        self.out
            .write_block(&Block::EnhancedPacket(block))
            .map_err(pcap_error)?;
        self.summary.packets += 1;
        Ok(())
    }
}

fn v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Appends `frame` as on the wire to `out`: the header (the length in its shortest form)
/// and the payload, masked with the frame's key if it has one.
fn encode_frame(frame: &FrameRecord, out: &mut Vec<u8>) {
    let payload = &frame.payload;
    let len = payload.len();
    out.push(
        (u8::from(frame.fin) << 7)
            | (u8::from(frame.rsv1) << 6)
            | (u8::from(frame.rsv2) << 5)
            | (u8::from(frame.rsv3) << 4)
            | (frame.opcode & 0x0f),
    );
    let mask_bit = if frame.mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match frame.mask {
        Some(key) => {
            out.extend_from_slice(&key);
            let start = out.len();
            out.extend_from_slice(payload);
            for (i, byte) in out[start..].iter_mut().enumerate() {
                *byte ^= key[i & 3];
            }
        }
        None => out.extend_from_slice(payload),
    }
}

/// A response head and body as bytes, from the parsed head (header names as the capture
/// has them, which is lower case).
fn rebuild_response(head: &ResponseHead, body: &[u8]) -> Vec<u8> {
    let reason = StatusCode::from_u16(head.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut text = format!("{} {} {reason}\r\n", head.version, head.status);
    for (name, value) in &head.headers {
        let _ = write!(text, "{name}: {value}\r\n");
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(mask: Option<[u8; 4]>, payload: &[u8]) -> FrameRecord {
        FrameRecord {
            incoming: false,
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: 1,
            mask,
            payload_len: payload.len() as u64,
            payload: payload.to_vec(),
            decompressed_len: None,
            message: None,
        }
    }

    #[test]
    fn frames_are_encoded_as_on_the_wire() {
        // RFC 6455 §5.7: a masked "Hello".
        let mut out = Vec::new();
        encode_frame(&frame(Some([0x37, 0xfa, 0x21, 0x3d]), b"Hello"), &mut out);
        assert_eq!(
            out,
            [
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
            ]
        );
        out.clear();
        encode_frame(&frame(None, b"Hello"), &mut out);
        assert_eq!(out, [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        out.clear();
        encode_frame(&frame(None, &[0; 256]), &mut out);
        assert_eq!(out[..4], [0x81, 0x7e, 0x01, 0x00]);
        out.clear();
        encode_frame(&frame(None, &[0; 65536]), &mut out);
        assert_eq!(out[..10], [0x81, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn addresses_share_a_family() {
        let v4: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.2]:2".parse().unwrap();
        let v6: SocketAddr = "[::1]:3".parse().unwrap();
        let (a, b) = same_family(v4, mapped);
        assert!(a.is_ipv4() && b.is_ipv4());
        let (a, b) = same_family(v4, v6);
        assert_eq!(a, "[::ffff:127.0.0.1]:1".parse().unwrap());
        assert_eq!(b, v6);
    }
}
