//! permessage-deflate (RFC 7692): negotiation in both roles, and the per-message compressor
//! and decompressor a [`Connection`](crate::Connection) uses once it is agreed.
//!
//! **Negotiation.** A client offers [`DeflateConfig::offer`] in `Sec-WebSocket-Extensions`
//! (several offers may share the header; the server takes the first it can accept). A server
//! answers with [`negotiate`], which walks the offers in order and declines, as §5 and §7.1
//! require, an offer with an unknown parameter, a duplicate parameter or an invalid value; the
//! element to send back is the [`DeflateParams`]' `Display`. A client checks the answer with
//! [`check_response`]: an answer that is malformed, repeats a parameter, names an unknown one,
//! sets `client_max_window_bits` that was not offered, or grants the server a larger window
//! than was asked for, fails the handshake (§7.1: the client must _Fail the WebSocket
//! Connection_). Every refusal is a [`DeflateProblem`] that names the parameter and the value
//! at fault.
//!
//! **Compression.** Messages are compressed with a `SYNC_FLUSH` and sent without the trailing
//! `00 00 ff ff` (§7.2.1); RSV1 marks only the first frame of a compressed message; control
//! frames are never compressed. The window and context takeover follow what was agreed: a side
//! told `*_no_context_takeover` resets its compressor after every message.
//!
//! **Decompression is bounded while it runs.** Output is produced into a buffer that may grow
//! only up to [`Config::max_message_size`](crate::Config::max_message_size) (plus one byte to
//! see the overflow); the moment a message would go past it, inflating stops and the
//! connection fails with 1009. A few kilobytes that inflate to gigabytes (a "decompression
//! bomb") therefore cost at most the message limit in memory and the work of inflating that
//! much. Corrupt compressed data fails the connection with 1007.
//!
//! Two limits of zlib (and so of zlib-rs, which this uses through `flate2`), and how they are
//! handled:
//! - zlib cannot *compress* with an 8-bit (256-byte) window. When the peer limits our window
//!   to 8 bits, a message of at most 256 bytes is compressed by a fresh 9-bit compressor —
//!   no back-reference in it can reach further than the message, so none is longer than 255
//!   bytes — and a longer message is sent uncompressed, which RFC 7692 allows for any
//!   message. Inflating with a 9-bit window accepts everything an 8-bit peer sends.
//! - A peer may end a message's data with a `BFINAL` block (§7.2.3.4). zlib cannot continue
//!   a stream after its final block, so the decompressor is reset and primed with the last
//!   window of this message's output; a later message that refers further back than this
//!   message (possible only with context takeover and a short message) fails with 1007.

use std::fmt;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use http::header::SEC_WEBSOCKET_EXTENSIONS;
use http::{HeaderMap, HeaderValue, Request, Response};

use crate::connection::Role;
use crate::error::DeflateProblem;
use crate::handshake::header_tokens;

/// The extension's registered name.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The tail every `SYNC_FLUSH` ends with, removed from sent messages and put back before
/// inflating received ones (RFC 7692 §7.2.1, §7.2.2).
pub const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// How this side uses permessage-deflate, in [`Config::deflate`](crate::Config::deflate).
///
/// As a **client** it is the offer: `server_no_context_takeover` and `server_max_window_bits`
/// are requests to the server; `client_no_context_takeover` declares that this client will not
/// keep its context; `client_max_window_bits` tells the server it may limit this client's
/// window (`Some(15)` is sent without a value, as browsers do; a smaller value is a hint).
///
/// As a **server** it is the policy: `server_no_context_takeover` and `server_max_window_bits`
/// limit this server whatever the client asked; `client_no_context_takeover` and
/// `client_max_window_bits` are asked of every client (an offer that does not allow
/// `client_max_window_bits` is declined when a limit below 15 is set).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflateConfig {
    /// See the type's documentation (default off).
    pub server_no_context_takeover: bool,
    /// See the type's documentation (default off).
    pub client_no_context_takeover: bool,
    /// 8–15, or `None` for no limit (default `None`).
    pub server_max_window_bits: Option<u8>,
    /// 8–15, or `None` (default `Some(15)`: a client offers the parameter without a value).
    pub client_max_window_bits: Option<u8>,
    /// The zlib compression level, 0–9 (default 6; 1 is much faster on large messages and
    /// compresses typical JSON nearly as well).
    pub level: u32,
    /// Messages shorter than this are sent uncompressed (default 0: compress all). A few bytes
    /// rarely shrink, and skipping them saves the compressor's time.
    pub min_size: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: Some(15),
            level: 6,
            min_size: 0,
        }
    }
}

impl DeflateConfig {
    /// The client's offer as a `Sec-WebSocket-Extensions` element, e.g.
    /// `permessage-deflate; client_max_window_bits`.
    pub fn offer(&self) -> String {
        let mut out = String::from(EXTENSION_NAME);
        if self.server_no_context_takeover {
            out.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            out.push_str("; client_no_context_takeover");
        }
        if let Some(bits) = self.server_max_window_bits {
            out.push_str(&format!("; server_max_window_bits={}", clamp_bits(bits)));
        }
        match self.client_max_window_bits.map(clamp_bits) {
            Some(15) => out.push_str("; client_max_window_bits"),
            Some(bits) => out.push_str(&format!("; client_max_window_bits={bits}")),
            None => {}
        }
        out
    }
}

fn clamp_bits(bits: u8) -> u8 {
    bits.clamp(8, 15)
}

/// What the handshake agreed: the parameters of the server's answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// The server's compression window, 8–15 (`None`: 15).
    pub server_max_window_bits: Option<u8>,
    /// The client's compression window, 8–15 (`None`: 15, or what the client offered).
    pub client_max_window_bits: Option<u8>,
}

impl fmt::Display for DeflateParams {
    /// The element of the server's `Sec-WebSocket-Extensions` answer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXTENSION_NAME)?;
        if self.server_no_context_takeover {
            f.write_str("; server_no_context_takeover")?;
        }
        if self.client_no_context_takeover {
            f.write_str("; client_no_context_takeover")?;
        }
        if let Some(bits) = self.server_max_window_bits {
            write!(f, "; server_max_window_bits={bits}")?;
        }
        if let Some(bits) = self.client_max_window_bits {
            write!(f, "; client_max_window_bits={bits}")?;
        }
        Ok(())
    }
}

impl DeflateParams {
    /// Parses an answer element (`permessage-deflate; …`) as a client must (RFC 7692 §7.1):
    /// values are required for the window sizes, nothing may repeat, nothing unknown.
    pub fn parse_response(element: &str) -> Result<Self, DeflateProblem> {
        let parsed = Parsed::parse(element)?;
        if parsed.client_max_window_bits == Some(None) {
            return Err(DeflateProblem::MissingValue {
                name: "client_max_window_bits".into(),
            });
        }
        Ok(Self {
            server_no_context_takeover: parsed.server_no_context_takeover,
            client_no_context_takeover: parsed.client_no_context_takeover,
            server_max_window_bits: parsed.server_max_window_bits,
            client_max_window_bits: parsed.client_max_window_bits.flatten(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Negotiation
// ---------------------------------------------------------------------------------------------

/// Server: the answer to the first acceptable permessage-deflate offer among `offers` (the
/// request's `Sec-WebSocket-Extensions` elements, in order), under `policy`; `None` if no offer
/// is acceptable (then the connection goes on without compression).
pub fn negotiate<S: AsRef<str>>(offers: &[S], policy: &DeflateConfig) -> Option<DeflateParams> {
    offers
        .iter()
        .filter(|o| is_deflate(o.as_ref()))
        .filter_map(|o| Parsed::parse(o.as_ref()).ok())
        .find_map(|offer| accept_offer(&offer, policy))
}

fn accept_offer(offer: &Parsed, policy: &DeflateConfig) -> Option<DeflateParams> {
    let server_max_window_bits = match (
        offer.server_max_window_bits,
        policy.server_max_window_bits.map(clamp_bits),
    ) {
        (Some(asked), Some(ours)) => Some(asked.min(ours)),
        (Some(asked), None) => Some(asked),
        (None, Some(ours)) if ours < 15 => Some(ours),
        (None, _) => None,
    };
    let client_max_window_bits = match (
        offer.client_max_window_bits,
        policy.client_max_window_bits.map(clamp_bits),
    ) {
        // The client cannot be limited unless it said it understands the parameter.
        (None, Some(ours)) if ours < 15 => return None,
        (None, _) => None,
        (Some(hint), Some(ours)) if ours < 15 => Some(hint.unwrap_or(15).min(ours)),
        (Some(hint), _) => hint,
    };
    Some(DeflateParams {
        server_no_context_takeover: offer.server_no_context_takeover
            || policy.server_no_context_takeover,
        client_no_context_takeover: offer.client_no_context_takeover
            || policy.client_no_context_takeover,
        server_max_window_bits,
        client_max_window_bits,
    })
}

/// Client: adds `config`'s offer to the request's `Sec-WebSocket-Extensions` unless the request
/// already offers permessage-deflate. [`Connection::client`](crate::Connection::client) does
/// this when [`Config::deflate`](crate::Config::deflate) is set.
pub fn add_offer(request: &mut Request<()>, config: &DeflateConfig) {
    let headers = request.headers_mut();
    if header_tokens(headers, &SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .any(|e| is_deflate(e))
    {
        return;
    }
    append_element(headers, &config.offer());
}

/// Server: negotiates the request's `offers` under `policy` and, if one is accepted and the
/// response has no permessage-deflate answer yet, appends the answer to the response's
/// `Sec-WebSocket-Extensions`. Returns what the response now agrees to.
/// [`Connection::accept`](crate::Connection::accept) does this when
/// [`Config::deflate`](crate::Config::deflate) is set.
pub fn add_answer<S: AsRef<str>>(
    response: &mut Response<()>,
    offers: &[S],
    policy: &DeflateConfig,
) -> Option<DeflateParams> {
    let headers = response.headers_mut();
    if let Some(existing) = header_tokens(headers, &SEC_WEBSOCKET_EXTENSIONS)
        .into_iter()
        .find(|e| is_deflate(e))
    {
        return DeflateParams::parse_response(existing).ok();
    }
    let params = negotiate(offers, policy)?;
    append_element(headers, &params.to_string());
    Some(params)
}

/// Adds an element to `Sec-WebSocket-Extensions`, after any already there.
fn append_element(headers: &mut HeaderMap, element: &str) {
    let joined = match headers.get(SEC_WEBSOCKET_EXTENSIONS).map(|v| v.to_str()) {
        Some(Ok(existing)) if !existing.trim().is_empty() => format!("{existing}, {element}"),
        _ => element.to_owned(),
    };
    // Elements are built from ASCII tokens, so the value is valid.
    if let Ok(value) = HeaderValue::from_str(&joined) {
        headers.insert(SEC_WEBSOCKET_EXTENSIONS, value);
    }
}

/// Client: checks the server's permessage-deflate answer element against the offers that were
/// sent (RFC 7692 §7.1). The answer must fit one of the offers: `client_max_window_bits` only
/// if that offer had it, and `server_no_context_takeover` / `server_max_window_bits` (no larger
/// than asked) if that offer asked for them. When the answer fits none of several offers, the
/// problem reported is its mismatch with the first.
pub fn check_response<S: AsRef<str>>(
    element: &str,
    offers: &[S],
) -> Result<DeflateParams, DeflateProblem> {
    let mut params = DeflateParams::parse_response(element)?;
    let mut first_mismatch = None;
    for offer in offers
        .iter()
        .filter(|o| is_deflate(o.as_ref()))
        .filter_map(|o| Parsed::parse(o.as_ref()).ok())
    {
        match mismatch(&params, &offer) {
            Some(problem) => {
                first_mismatch.get_or_insert(problem);
            }
            None => {
                // A value offered for our own window is a promise: keep to it even if the
                // answer leaves the parameter out.
                if let (None, Some(Some(hint))) =
                    (params.client_max_window_bits, offer.client_max_window_bits)
                {
                    params.client_max_window_bits = Some(hint);
                }
                return Ok(params);
            }
        }
    }
    Err(first_mismatch.unwrap_or(DeflateProblem::NotOffered))
}

/// Why the answer `params` does not fit `offer`, if it does not.
fn mismatch(params: &DeflateParams, offer: &Parsed) -> Option<DeflateProblem> {
    if let (Some(value), None) = (params.client_max_window_bits, offer.client_max_window_bits) {
        return Some(DeflateProblem::ClientWindowBitsNotOffered { value });
    }
    if offer.server_no_context_takeover && !params.server_no_context_takeover {
        return Some(DeflateProblem::ServerNoContextTakeoverIgnored);
    }
    match (offer.server_max_window_bits, params.server_max_window_bits) {
        (Some(asked), None) => Some(DeflateProblem::ServerWindowBitsMissing { asked }),
        (Some(asked), Some(got)) if got > asked => {
            Some(DeflateProblem::ServerWindowBitsTooLarge { asked, got })
        }
        _ => None,
    }
}

/// Whether a header element names permessage-deflate.
pub fn is_deflate(element: &str) -> bool {
    element
        .split(';')
        .next()
        .is_some_and(|name| name.trim().eq_ignore_ascii_case(EXTENSION_NAME))
}

/// The parameters of one permessage-deflate element, checked for RFC 7692's rules on names,
/// duplicates and values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Parsed {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// Present or not, and its value, which is optional in an offer.
    client_max_window_bits: Option<Option<u8>>,
}

impl Parsed {
    fn parse(element: &str) -> Result<Self, DeflateProblem> {
        let mut parts = element.split(';');
        let name = parts.next().unwrap_or("").trim();
        if !name.eq_ignore_ascii_case(EXTENSION_NAME) {
            return Err(DeflateProblem::NotDeflate {
                name: name.to_owned(),
            });
        }
        let mut out = Self::default();
        let mut seen: Vec<String> = Vec::new();
        for part in parts {
            let (key, value) = match part.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (part.trim(), None),
            };
            if key.is_empty() {
                return Err(DeflateProblem::EmptyParameter);
            }
            let key = key.to_ascii_lowercase();
            let value = value.map(|v| unquote(&key, v)).transpose()?;
            if seen.contains(&key) {
                return Err(DeflateProblem::DuplicateParameter { name: key });
            }
            match key.as_str() {
                "server_no_context_takeover" | "client_no_context_takeover" => {
                    if value.is_some() {
                        return Err(DeflateProblem::UnexpectedValue { name: key });
                    }
                    if key.starts_with("server") {
                        out.server_no_context_takeover = true;
                    } else {
                        out.client_no_context_takeover = true;
                    }
                }
                "server_max_window_bits" => {
                    let Some(value) = value else {
                        return Err(DeflateProblem::MissingValue { name: key });
                    };
                    out.server_max_window_bits = Some(window_bits(&key, value)?);
                }
                "client_max_window_bits" => {
                    let bits = value.map(|v| window_bits(&key, v)).transpose()?;
                    out.client_max_window_bits = Some(bits);
                }
                _ => return Err(DeflateProblem::UnknownParameter { name: key }),
            }
            seen.push(key);
        }
        Ok(out)
    }
}

/// A window size: a decimal 8–15 without leading zeros (RFC 7692 §7.1.2).
fn window_bits(name: &str, value: String) -> Result<u8, DeflateProblem> {
    const VALID: [&str; 8] = ["8", "9", "10", "11", "12", "13", "14", "15"];
    (8..=15)
        .zip(VALID)
        .find_map(|(bits, text)| (text == value).then_some(bits))
        .ok_or_else(|| DeflateProblem::InvalidWindowBits {
            name: name.to_owned(),
            value,
        })
}

/// The value of the parameter `name`: a token or a quoted-string (RFC 7230 §3.2.6) without its
/// quotes and escapes.
fn unquote(name: &str, value: &str) -> Result<String, DeflateProblem> {
    let malformed = || DeflateProblem::MalformedValue {
        name: name.to_owned(),
        value: value.to_owned(),
    };
    let Some(inner) = value.strip_prefix('"') else {
        if value.is_empty() || value.contains('"') || value.contains(char::is_whitespace) {
            return Err(malformed());
        }
        return Ok(value.to_owned());
    };
    let inner = inner.strip_suffix('"').ok_or_else(malformed)?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or_else(malformed)?),
            '"' => return Err(malformed()),
            c => out.push(c),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The codec a connection uses
// ---------------------------------------------------------------------------------------------

/// The agreed extension at work in a connection: this side's compressor and decompressor,
/// created when first needed.
pub(crate) struct Codec {
    params: DeflateParams,
    level: u32,
    min_size: usize,
    /// Our compression window (8–15) and whether we reset after each message.
    send_bits: u8,
    send_reset: bool,
    /// The peer's window and whether it resets after each message.
    recv_bits: u8,
    recv_reset: bool,
    compressor: Option<Compress>,
    decompressor: Option<Decompress>,
    /// Whether outgoing messages are compressed at all (the caller may turn it off).
    pub(crate) enabled: bool,
    /// Scratch space for compressed output, kept between messages.
    pub(crate) scratch: Vec<u8>,
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Codec")
            .field("params", &self.params)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// Why inflating a message stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The output would pass the limit.
    TooLarge,
    /// The compressed data is corrupt.
    Corrupt(String),
}

impl Codec {
    pub(crate) fn new(role: Role, params: DeflateParams, config: Option<&DeflateConfig>) -> Self {
        let defaults = DeflateConfig::default();
        let config = config.unwrap_or(&defaults);
        let server_bits = params.server_max_window_bits.unwrap_or(15);
        let client_bits = params.client_max_window_bits.unwrap_or(15);
        let (send_bits, send_reset, recv_bits, recv_reset) = match role {
            Role::Server => (
                server_bits,
                params.server_no_context_takeover || config.server_no_context_takeover,
                client_bits,
                params.client_no_context_takeover,
            ),
            Role::Client => (
                client_bits,
                params.client_no_context_takeover || config.client_no_context_takeover,
                server_bits,
                params.server_no_context_takeover,
            ),
        };
        Self {
            params,
            level: config.level.min(9),
            min_size: config.min_size,
            send_bits,
            send_reset,
            recv_bits,
            recv_reset,
            compressor: None,
            decompressor: None,
            enabled: true,
            scratch: Vec::new(),
        }
    }

    pub(crate) fn params(&self) -> &DeflateParams {
        &self.params
    }

    /// Whether a whole message of `len` bytes is to be compressed.
    pub(crate) fn compresses(&self, len: usize) -> bool {
        self.enabled && len >= self.min_size && (self.send_bits > 8 || len <= 256)
    }

    /// Whether a fragmented message (length unknown) is to be compressed.
    pub(crate) fn compresses_fragments(&self) -> bool {
        self.enabled && self.send_bits > 8
    }

    /// Compresses one piece of a message into `out`. With `last`, the message ends here: the
    /// sync tail is removed and, without context takeover, the compressor is reset.
    pub(crate) fn compress(&mut self, data: &[u8], last: bool, out: &mut Vec<u8>) {
        let fresh = self.send_bits == 8;
        let bits = self.send_bits.max(9);
        let level = self.level;
        let compressor = self.compressor.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(level), false, bits)
        });
        out.reserve(data.len() / 2 + 64);
        let start_in = compressor.total_in();
        loop {
            let consumed = (compressor.total_in() - start_in) as usize;
            let before_out = out.len();
            if compressor
                .compress_vec(&data[consumed..], out, FlushCompress::Sync)
                .is_err()
            {
                break;
            }
            // A sync flush writes everything: once all input is in and the output had room to
            // spare (or nothing more came out), nothing is left inside the compressor.
            let all_in = (compressor.total_in() - start_in) as usize == data.len();
            if all_in && (out.len() < out.capacity() || out.len() == before_out) {
                break;
            }
            out.reserve(out.capacity().max(64));
        }
        if last {
            if out.ends_with(&SYNC_TAIL) {
                out.truncate(out.len() - SYNC_TAIL.len());
            } else if out.is_empty() {
                // Nothing came out: the input was empty and the compressor had flushed
                // already (an earlier fragment's sync flush, or the last message's), so it
                // refuses a second flush. The receiver still appends `00 00 ff ff` to this
                // frame (RFC 7692 §7.2.2), which completes a stored block only after a block
                // header: send that header, `0x00` (not final, stored, padding), as zlib's
                // own empty flush would. Without it the receiver read `00 00 ff ff` as a
                // header and a bogus length, and lost the stream.
                out.push(0x00);
            }
            if self.send_reset || fresh {
                compressor.reset();
            }
        }
    }

    /// Inflates one frame's compressed payload, appending to `out`, which may hold at most
    /// `limit` bytes in all. With `last`, the sync tail is fed after it and, if the peer does
    /// not keep its context, the decompressor is reset afterwards.
    pub(crate) fn decompress(
        &mut self,
        data: &[u8],
        last: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let bits = self.recv_bits.max(9);
        let decompressor = self
            .decompressor
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, bits));
        let result = inflate_into(decompressor, data, out, limit, bits).and_then(|()| {
            if last {
                inflate_into(decompressor, &SYNC_TAIL, out, limit, bits)
            } else {
                Ok(())
            }
        });
        if result.is_err() || (last && self.recv_reset) {
            decompressor.reset(false);
        }
        result
    }
}

/// Runs `input` through the decompressor into `out` (the message so far), growing `out` only
/// up to `limit + 1` bytes so that an overflow is seen without ever holding more.
fn inflate_into(
    d: &mut Decompress,
    input: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    bits: u8,
) -> Result<(), InflateError> {
    // Input consumed before the current stream (a BFINAL block ends a stream; more may follow).
    let mut offset = 0;
    let mut start_in = d.total_in();
    loop {
        let consumed = offset + (d.total_in() - start_in) as usize;
        if out.len() == out.capacity() {
            if out.len() > limit {
                return Err(InflateError::TooLarge);
            }
            let grow = out.capacity().max(input.len() * 2).max(4096);
            out.reserve_exact((limit + 1 - out.len()).min(grow));
        }
        let before = (out.len(), consumed);
        let status = d
            .decompress_vec(&input[consumed..], out, FlushDecompress::Sync)
            .map_err(|e| InflateError::Corrupt(e.message().unwrap_or("invalid data").to_owned()))?;
        if out.len() > limit {
            return Err(InflateError::TooLarge);
        }
        let consumed = offset + (d.total_in() - start_in) as usize;
        let room_left = out.len() < out.capacity();
        match status {
            Status::StreamEnd => {
                // A BFINAL block: zlib takes no more after it, so start over, primed with the
                // message's last window, and go on with what is left (padding, usually).
                d.reset(false);
                let tail = &out[out.len().saturating_sub(1 << bits)..];
                if !tail.is_empty() {
                    d.set_dictionary(tail)
                        .map_err(|e| InflateError::Corrupt(e.to_string()))?;
                }
                offset = consumed;
                start_in = d.total_in();
                if consumed == input.len() {
                    return Ok(());
                }
            }
            Status::Ok | Status::BufError => {
                let progress = (out.len(), consumed) != before;
                if consumed == input.len() && (room_left || !progress) {
                    return Ok(());
                }
                if !progress && room_left {
                    // No progress with room to spare and input left: the data cannot go on.
                    return Err(InflateError::Corrupt("the compressed data stalls".into()));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_are_written_as_browsers_write_them() {
        assert_eq!(
            DeflateConfig::default().offer(),
            "permessage-deflate; client_max_window_bits"
        );
        let all = DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(9),
            ..DeflateConfig::default()
        };
        assert_eq!(
            all.offer(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=9"
        );
    }

    #[test]
    fn parameters_follow_rfc_7692_rules() {
        assert!(Parsed::parse("permessage-deflate").is_ok());
        assert!(Parsed::parse("Permessage-Deflate ; client_max_window_bits").is_ok());
        assert_eq!(
            Parsed::parse("permessage-deflate; server_max_window_bits=\"10\"")
                .unwrap()
                .server_max_window_bits,
            Some(10)
        );
        for bad in [
            "permessage-deflate; foo",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=08",
            "permessage-deflate; client_max_window_bits=abc",
            "permessage-deflate; client_max_window_bits=\"10",
            "permessage-deflate; ;",
            "x-webkit-deflate-frame",
        ] {
            assert!(Parsed::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn refusals_name_the_parameter_and_value() {
        let problem = |element: &str| Parsed::parse(element).unwrap_err();
        assert_eq!(
            problem("permessage-deflate; Foo"),
            DeflateProblem::UnknownParameter { name: "foo".into() }
        );
        assert_eq!(
            problem("permessage-deflate; client_max_window_bits=8; client_max_window_bits=9"),
            DeflateProblem::DuplicateParameter {
                name: "client_max_window_bits".into()
            }
        );
        assert_eq!(
            problem("permessage-deflate; server_max_window_bits=\"16\""),
            DeflateProblem::InvalidWindowBits {
                name: "server_max_window_bits".into(),
                value: "16".into()
            }
        );
        assert_eq!(
            problem("permessage-deflate; client_max_window_bits=\"1\\\""),
            DeflateProblem::MalformedValue {
                name: "client_max_window_bits".into(),
                value: "\"1\\\"".into()
            }
        );
        assert_eq!(
            problem("permessage-deflate; ;"),
            DeflateProblem::EmptyParameter
        );
        assert_eq!(
            problem("x-webkit-deflate-frame"),
            DeflateProblem::NotDeflate {
                name: "x-webkit-deflate-frame".into()
            }
        );
        assert_eq!(
            DeflateParams::parse_response("permessage-deflate; client_max_window_bits"),
            Err(DeflateProblem::MissingValue {
                name: "client_max_window_bits".into()
            })
        );
        assert_eq!(
            problem("permessage-deflate; foo").to_string(),
            "unknown parameter \"foo\""
        );
    }

    #[test]
    fn a_server_takes_the_first_acceptable_offer() {
        let policy = DeflateConfig::default();
        let offers = [
            "permessage-deflate; foo=1",
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits",
            "permessage-deflate",
        ];
        let params = negotiate(&offers, &policy).unwrap();
        assert_eq!(params.server_max_window_bits, Some(10));
        assert_eq!(params.client_max_window_bits, None);
        assert_eq!(
            params.to_string(),
            "permessage-deflate; server_max_window_bits=10"
        );
        assert_eq!(negotiate(&["permessage-deflate; bar"], &policy), None);
        assert_eq!(negotiate(&["x-other"], &policy), None);
    }

    #[test]
    fn a_server_limiting_the_client_needs_the_clients_consent() {
        let policy = DeflateConfig {
            client_max_window_bits: Some(10),
            client_no_context_takeover: true,
            ..DeflateConfig::default()
        };
        assert_eq!(negotiate(&["permessage-deflate"], &policy), None);
        let params = negotiate(
            &[
                "permessage-deflate",
                "permessage-deflate; client_max_window_bits=12",
            ],
            &policy,
        )
        .unwrap();
        assert_eq!(
            params.to_string(),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits=10"
        );
    }

    #[test]
    fn a_client_refuses_answers_that_do_not_fit_its_offer() {
        let offer = ["permessage-deflate; client_max_window_bits"];
        assert!(check_response("permessage-deflate", &offer).is_ok());
        assert!(check_response("permessage-deflate; client_max_window_bits=10", &offer).is_ok());
        let plain = ["permessage-deflate"];
        assert!(check_response("permessage-deflate; client_max_window_bits=10", &plain).is_err());
        assert!(check_response("permessage-deflate; client_max_window_bits", &offer).is_err());
        let asks = ["permessage-deflate; server_max_window_bits=10"];
        assert!(check_response("permessage-deflate; server_max_window_bits=11", &asks).is_err());
        assert!(check_response("permessage-deflate", &asks).is_err());
        assert!(check_response("permessage-deflate; server_max_window_bits=9", &asks).is_ok());
        let nct = ["permessage-deflate; server_no_context_takeover"];
        assert!(check_response("permessage-deflate", &nct).is_err());
        assert!(check_response("permessage-deflate; unknown", &offer).is_err());
        assert!(check_response("permessage-deflate", &["x-other"]).is_err());
        // What is wrong, typed; with several offers, the mismatch with the first.
        assert_eq!(
            check_response("permessage-deflate", &["x-other"]),
            Err(DeflateProblem::NotOffered)
        );
        assert_eq!(
            check_response("permessage-deflate; client_max_window_bits=10", &plain),
            Err(DeflateProblem::ClientWindowBitsNotOffered { value: 10 })
        );
        assert_eq!(
            check_response("permessage-deflate", &[asks[0], nct[0]]),
            Err(DeflateProblem::ServerWindowBitsMissing { asked: 10 })
        );
        assert_eq!(
            check_response("permessage-deflate", &[nct[0], asks[0]]),
            Err(DeflateProblem::ServerNoContextTakeoverIgnored)
        );
        assert_eq!(
            check_response("permessage-deflate; server_max_window_bits=12", &asks),
            Err(DeflateProblem::ServerWindowBitsTooLarge { asked: 10, got: 12 })
        );
        // An answer that fits the second offer is accepted.
        assert!(check_response("permessage-deflate", &[asks[0], offer[0]]).is_ok());
    }

    fn codec(role: Role, params: DeflateParams) -> Codec {
        Codec::new(role, params, None)
    }

    #[test]
    fn hello_compresses_to_the_rfc_bytes() {
        let mut c = codec(Role::Server, DeflateParams::default());
        let mut out = Vec::new();
        c.compress(b"Hello", true, &mut out);
        assert_eq!(out, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        // With context takeover the second "Hello" refers back to the first (§7.2.3.2).
        let mut second = Vec::new();
        c.compress(b"Hello", true, &mut second);
        assert_eq!(second, [0xf2, 0x00, 0x11, 0x00, 0x00]);
        let mut reset = codec(
            Role::Server,
            DeflateParams {
                server_no_context_takeover: true,
                ..DeflateParams::default()
            },
        );
        for _ in 0..2 {
            let mut out = Vec::new();
            reset.compress(b"Hello", true, &mut out);
            assert_eq!(out, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        }
    }

    #[test]
    fn inflating_stops_at_the_limit() {
        let mut c = codec(Role::Client, DeflateParams::default());
        let mut compressed = Vec::new();
        c.compress(&vec![0u8; 1 << 20], true, &mut compressed);
        assert!(compressed.len() < 2048, "{}", compressed.len());
        let mut d = codec(Role::Server, DeflateParams::default());
        let mut out = Vec::new();
        assert_eq!(
            d.decompress(&compressed, true, &mut out, 64 * 1024),
            Err(InflateError::TooLarge)
        );
        assert!(out.capacity() <= 64 * 1024 + 1, "{}", out.capacity());
        let mut d = codec(Role::Server, DeflateParams::default());
        let mut out = Vec::new();
        d.decompress(&compressed, true, &mut out, 1 << 20).unwrap();
        assert_eq!(out.len(), 1 << 20);
    }
}
