//! Intercept and fault injection for a relay: what the UI may do to the messages crossing
//! each relayed client, per direction.
//!
//! - **Intercept.** With a direction paused ([`RelaySettings::paused`]), its text and binary
//!   messages are held in a queue ([`ClientControl::held`]) instead of forwarded; the user
//!   forwards one, edits then forwards it, drops it, or forwards all ([`Release`]). Pings,
//!   pongs and closes are never held (they would stall the connection), and the other
//!   direction goes on. While messages are held, later ones queue behind them, so the order
//!   is kept. A message may also be injected towards either side at any time.
//! - **Faults** ([`Faults`], per direction, for every client of the relay): delay each
//!   message (a fixed time plus a random part), drop a percentage, re-fragment into N frames,
//!   set RSV bits, corrupt a payload byte, stop forwarding pings (so nobody answers them),
//!   delay pongs; and, as actions, close a leg with a chosen code or reset the client's TCP
//!   connection ([`Release::Close`], [`Release::Reset`]).
//!
//! Every fault injected and every message the user dropped is marked in the log of the leg
//! it was meant for (a `fault` event), so the log says why the far side saw what it saw.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use ws_tokio::Outgoing;
use ws_tokio::ws_proto::bytes::Bytes;
use ws_tokio::ws_proto::{CloseCode, FrameHeader, MessageKind, OpCode};

/// Which way a message crosses the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Way {
    /// From the client to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Way {
    /// Both, in the order of the settings' arrays.
    pub const BOTH: [Way; 2] = [Way::ToServer, Way::ToClient];

    /// 0 for [`ToServer`](Self::ToServer), 1 for [`ToClient`](Self::ToClient).
    pub fn index(self) -> usize {
        match self {
            Self::ToServer => 0,
            Self::ToClient => 1,
        }
    }

    /// `client -> server` / `server -> client` (ASCII: the UI font has no arrows).
    pub fn label(self) -> &'static str {
        match self {
            Self::ToServer => "client -> server",
            Self::ToClient => "server -> client",
        }
    }
}

/// The faults injected into one direction (all off by default).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Delay each text and binary message by this many milliseconds…
    pub delay_ms: u64,
    /// …plus a random part from 0 to this many milliseconds.
    pub delay_random_ms: u64,
    /// Drop this percentage of the text and binary messages (0–100).
    pub drop_percent: f32,
    /// Send each text and binary message in this many frames (0 or 1: as it came).
    pub fragments: u32,
    /// Set these RSV bits (4: RSV1, 2: RSV2, 1: RSV3) on each text and binary message's
    /// frame (the far side should fail the connection with 1002).
    pub rsv_bits: u8,
    /// Flip one payload byte of each text and binary message.
    pub corrupt: bool,
    /// Do not forward pings (nobody answers them).
    pub drop_pings: bool,
    /// Delay each pong by this many milliseconds.
    pub pong_delay_ms: u64,
}

impl Faults {
    /// Whether any fault is on.
    pub fn any(&self) -> bool {
        *self != Self::default()
    }

    /// Whether a fault changes, drops or delays text and binary messages (the relay then
    /// takes a fragmented message whole before applying it).
    pub fn changes_messages(&self) -> bool {
        self.delay_ms > 0
            || self.delay_random_ms > 0
            || self.drop_percent > 0.0
            || self.fragments > 1
            || self.rsv_bits != 0
            || self.corrupt
    }
}

/// What the relay does to both directions, for every client.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RelaySettings {
    /// Hold the text and binary messages of a direction (index: [`Way::index`]).
    pub paused: [bool; 2],
    /// The faults of each direction.
    pub faults: [Faults; 2],
}

/// A message held while its direction is paused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// Its number, to release it by.
    pub id: u64,
    /// When it arrived.
    pub at: SystemTime,
    /// The message.
    pub message: Outgoing,
}

/// What the user does in one direction of a relayed client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Release {
    /// Forward the held message.
    Forward(u64),
    /// Forward this instead of the held message (edited).
    Replace(u64, Outgoing),
    /// Drop the held message.
    Drop(u64),
    /// Forward every held message, in order.
    ForwardAll,
    /// Send a message of the user's in this direction.
    Inject(Outgoing),
    /// Close the leg this direction goes to, with this code and reason.
    Close(Option<CloseCode>, String),
    /// Reset the client's TCP connection (and drop the server's).
    Reset,
}

/// One relayed client's intercept: the held messages each way, and the channels to its
/// forwarding tasks.
#[derive(Debug)]
pub struct ClientControl {
    settings: Arc<Mutex<RelaySettings>>,
    held: [Mutex<VecDeque<Held>>; 2],
    releases: [mpsc::UnboundedSender<Release>; 2],
}

/// The receiving ends of a client's releases, for its two forwarding tasks.
pub(crate) type Releases = [mpsc::UnboundedReceiver<Release>; 2];

impl ClientControl {
    /// A client's control under the relay's `settings`.
    pub(crate) fn new(settings: Arc<Mutex<RelaySettings>>) -> (Arc<Self>, Releases) {
        let (to_server, to_server_rx) = mpsc::unbounded_channel();
        let (to_client, to_client_rx) = mpsc::unbounded_channel();
        let control = Self {
            settings,
            held: [Mutex::default(), Mutex::default()],
            releases: [to_server, to_client],
        };
        (Arc::new(control), [to_server_rx, to_client_rx])
    }

    /// The messages held in `way`, oldest first.
    pub fn held(&self, way: Way) -> Vec<Held> {
        self.held_queue(way).iter().cloned().collect()
    }

    /// Asks `way`'s forwarding task to do `release`. Errors when the connection has ended.
    pub fn release(&self, way: Way, release: Release) -> Result<(), String> {
        self.releases[way.index()]
            .send(release)
            .map_err(|_| "the relayed connection has ended".to_owned())
    }

    pub(crate) fn settings(&self) -> RelaySettings {
        lock(&self.settings).clone()
    }

    pub(crate) fn held_queue(&self, way: Way) -> MutexGuard<'_, VecDeque<Held>> {
        self.held[way.index()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Locks the relay's settings (a panic while held leaves them as they were).
pub fn lock(settings: &Mutex<RelaySettings>) -> MutexGuard<'_, RelaySettings> {
    settings.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A random number from 0 to `n` (both included).
fn random_upto(n: u64) -> u64 {
    match n {
        0 => 0,
        n => getrandom::u64().unwrap_or(0) % (n + 1),
    }
}

/// Whether a message falls to a `percent` drop.
pub(crate) fn dropped(percent: f32) -> bool {
    if percent <= 0.0 {
        return false;
    }
    let roll = (getrandom::u64().unwrap_or(0) % 10_000) as f32 / 100.0;
    roll < percent
}

/// The delay the faults give a text or binary message.
pub(crate) fn message_delay(faults: &Faults) -> Duration {
    Duration::from_millis(faults.delay_ms + random_upto(faults.delay_random_ms))
}

/// The frames a text or binary message goes out as under `faults` (re-fragmented, RSV bits
/// set, a byte corrupted), and what was done, for the log. `masked`: this side is the
/// client of the leg (its frames must be masked). `None`: send it as it is.
pub(crate) fn faulty_frames(
    message: &Outgoing,
    faults: &Faults,
    masked: bool,
) -> Option<(Vec<Outgoing>, Vec<String>)> {
    let (kind, data) = match message {
        Outgoing::Text(text) => (MessageKind::Text, Bytes::from(text.clone().into_bytes())),
        Outgoing::Binary(data) => (MessageKind::Binary, data.clone()),
        _ => return None,
    };
    if faults.fragments <= 1 && faults.rsv_bits == 0 && !faults.corrupt {
        return None;
    }
    let mut said = Vec::new();
    let mut data = data.to_vec();
    if faults.corrupt && !data.is_empty() {
        let at = random_upto(data.len() as u64 - 1) as usize;
        data[at] ^= 0xFF;
        said.push(format!("byte {at} of the payload flipped"));
    }
    let pieces = split(&data, faults.fragments.max(1) as usize);
    if pieces.len() > 1 {
        said.push(format!("sent in {} frames", pieces.len()));
    }
    let raw = faults.rsv_bits != 0 || faults.corrupt;
    if faults.rsv_bits != 0 {
        said.push(format!("RSV bits {:03b} set", faults.rsv_bits & 0b111));
    }
    let count = pieces.len();
    let frames = pieces
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let fin = i + 1 == count;
            if raw {
                // Raw frames: the engine would refuse RSV bits and invalid UTF-8.
                let opcode = match (i, kind) {
                    (0, MessageKind::Text) => OpCode::Text,
                    (0, MessageKind::Binary) => OpCode::Binary,
                    _ => OpCode::Continuation,
                };
                let header = FrameHeader {
                    fin,
                    rsv1: faults.rsv_bits & 0b100 != 0,
                    rsv2: faults.rsv_bits & 0b010 != 0,
                    rsv3: faults.rsv_bits & 0b001 != 0,
                    opcode,
                    mask: masked.then(|| getrandom::u32().unwrap_or(0x5a5a_5a5a).to_be_bytes()),
                    payload_len: piece.len() as u64,
                };
                Outgoing::Raw(header, Bytes::from(piece))
            } else {
                Outgoing::Fragment {
                    kind,
                    data: Bytes::from(piece),
                    fin,
                }
            }
        })
        .collect();
    Some((frames, said))
}

/// `data` in `n` pieces as even as can be (never an empty piece unless `data` is empty).
fn split(data: &[u8], n: usize) -> Vec<Vec<u8>> {
    let n = n.clamp(1, data.len().max(1));
    let size = data.len().div_ceil(n).max(1);
    if data.is_empty() {
        return vec![Vec::new()];
    }
    data.chunks(size).map(<[u8]>::to_vec).collect()
}

/// A message in a few words, for the log.
pub fn describe(message: &Outgoing) -> String {
    match message {
        Outgoing::Text(text) => format!("text message ({} B)", text.len()),
        Outgoing::Binary(data) => format!("binary message ({} B)", data.len()),
        Outgoing::Ping(_) => "ping".to_owned(),
        Outgoing::Pong(_) => "pong".to_owned(),
        Outgoing::Close(code, _) => match code {
            Some(code) => format!("close {code}"),
            None => "close".to_owned(),
        },
        Outgoing::Fragment { .. } => "fragment".to_owned(),
        Outgoing::Raw(..) => "raw frame".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_split_into_the_frames_asked_for() {
        assert_eq!(
            split(b"abcdefg", 3),
            vec![b"abc".to_vec(), b"def".to_vec(), b"g".to_vec()]
        );
        assert_eq!(split(b"ab", 5).len(), 2, "no empty frames");
        assert_eq!(split(b"", 4), vec![Vec::<u8>::new()]);
        let faults = Faults {
            fragments: 3,
            ..Faults::default()
        };
        let (frames, said) =
            faulty_frames(&Outgoing::Text("hello world".into()), &faults, false).expect("faulty");
        assert_eq!(frames.len(), 3);
        assert!(matches!(frames[2], Outgoing::Fragment { fin: true, .. }));
        assert!(matches!(
            frames[0],
            Outgoing::Fragment {
                fin: false,
                kind: MessageKind::Text,
                ..
            }
        ));
        assert_eq!(said, ["sent in 3 frames"]);
        assert!(faulty_frames(&Outgoing::Text("x".into()), &Faults::default(), false).is_none());
        assert!(faulty_frames(&Outgoing::Ping(Bytes::new()), &faults, false).is_none());
    }

    #[test]
    fn rsv_bits_and_corruption_make_raw_frames_masked_as_the_leg_needs() {
        let faults = Faults {
            rsv_bits: 0b100,
            corrupt: true,
            ..Faults::default()
        };
        let (frames, said) = faulty_frames(
            &Outgoing::Binary(Bytes::from_static(&[1, 2, 3])),
            &faults,
            true,
        )
        .expect("faulty");
        let [Outgoing::Raw(header, data)] = &frames[..] else {
            panic!("one raw frame: {frames:?}");
        };
        assert!(header.rsv1 && !header.rsv2 && header.fin);
        assert_eq!(header.opcode, OpCode::Binary);
        assert!(header.mask.is_some(), "the relay is the upstream's client");
        assert_eq!(data.len(), 3);
        assert_ne!(&data[..], &[1, 2, 3], "one byte flipped");
        assert_eq!(said.len(), 2, "{said:?}");
        let (frames, _) =
            faulty_frames(&Outgoing::Text("é".into()), &faults, false).expect("faulty");
        assert!(matches!(&frames[0], Outgoing::Raw(h, _) if h.mask.is_none()));
    }

    #[test]
    fn drops_and_delays_stay_in_their_ranges() {
        assert!(!dropped(0.0));
        assert!((0..100).all(|_| dropped(100.0)));
        let faults = Faults {
            delay_ms: 10,
            delay_random_ms: 5,
            ..Faults::default()
        };
        for _ in 0..100 {
            let d = message_delay(&faults);
            assert!(
                d >= Duration::from_millis(10) && d <= Duration::from_millis(15),
                "{d:?}"
            );
        }
        assert!(!Faults::default().any());
        assert!(faults.any());
    }
}
