//! The tap: a stream of timestamped reports of everything a connection does — TCP, TLS, the
//! handshake bytes, every frame both ways, readyState changes, the close and errors.
//!
//! A tap is optional. Without one, frame reporting stays off in the engine and nothing is
//! copied or sent: it costs nothing. With one, the channel is bounded: a consumer that falls
//! behind slows the connection down instead of letting memory grow.
//!
//! Reports are sent in batches, as a connection's step makes them, and a batch that fits in
//! the channel goes in synchronously: no future is boxed, no tap cloned and no semaphore
//! waited on unless the channel is full. A batch's reports carry one time, read once. In a
//! profile of `wsi relay --jsonl` at 16 connections × 1 KiB, handing reports to the tap went
//! from 10.4 % to 8.1 % of the relay's samples.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use ws_proto::bytes::Bytes;
use ws_proto::http::{Request, Response};
use ws_proto::{CloseCode, Frame, ReadyState};

use crate::tls::TlsInfo;

/// Creates a tap and the receiver of its reports. `capacity` bounds the reports in flight.
pub fn channel(capacity: usize) -> (Tap, TapReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (
        Tap {
            tx,
            start: Instant::now(),
        },
        TapReceiver { rx },
    )
}

/// The sending half, given to [`ConnectOptions`](crate::ConnectOptions) or
/// [`ServerOptions`](crate::ServerOptions). Clones report into the same channel.
#[derive(Clone, Debug)]
pub struct Tap {
    tx: mpsc::Sender<TapEvent>,
    start: Instant,
}

impl Tap {
    /// The two times of a report made now. The wall clock is read each time, not derived
    /// from the monotonic one: after a suspend or a clock step the times of every tap still
    /// agree with each other and with the system.
    fn now(&self) -> (SystemTime, Duration) {
        (SystemTime::now(), self.start.elapsed())
    }

    /// Reports `kind`, waiting for room in the channel. A dropped receiver is ignored.
    pub(crate) async fn report(&self, kind: TapKind) {
        let (time, elapsed) = self.now();
        let event = TapEvent {
            time,
            elapsed,
            kind,
        };
        let _ = self.tx.send(event).await;
    }

    /// Sends as many of `reports`, from the first, as the channel has room for now, all with
    /// one time, and removes them; returns whether none is left. With the receiver dropped
    /// they are all dropped (as [`report`](Self::report) does).
    pub(crate) fn try_report_all(&self, reports: &mut Vec<TapKind>) -> bool {
        if reports.is_empty() {
            return true;
        }
        let (time, elapsed) = self.now();
        let event = |kind| TapEvent {
            time,
            elapsed,
            kind,
        };
        match self.tx.try_reserve_many(reports.len()) {
            Ok(permits) => {
                for (permit, kind) in permits.zip(reports.drain(..)) {
                    permit.send(event(kind));
                }
            }
            Err(mpsc::error::TrySendError::Closed(())) => reports.clear(),
            // Room for fewer than all (or more than the channel holds): as many as fit, one
            // by one (rare: the reader is behind).
            Err(mpsc::error::TrySendError::Full(())) => {
                while !reports.is_empty() {
                    match self.tx.try_reserve() {
                        Ok(permit) => permit.send(event(reports.remove(0))),
                        Err(mpsc::error::TrySendError::Full(())) => break,
                        Err(mpsc::error::TrySendError::Closed(())) => reports.clear(),
                    }
                }
            }
        }
        reports.is_empty()
    }
}

/// The receiving half.
#[derive(Debug)]
pub struct TapReceiver {
    rx: mpsc::Receiver<TapEvent>,
}

impl TapReceiver {
    /// The next report; `None` once every [`Tap`] is dropped and the channel is empty.
    pub async fn recv(&mut self) -> Option<TapEvent> {
        self.rx.recv().await
    }

    /// The next report if one is waiting, without blocking (for a UI thread).
    pub fn try_recv(&mut self) -> Option<TapEvent> {
        self.rx.try_recv().ok()
    }

    /// Moves up to `limit` waiting reports to the end of `buffer`, without blocking; returns
    /// how many (0: none waiting, or the channel is finished). One call frees the channel's
    /// room for all of them at once, where [`try_recv`](Self::try_recv) does it per report:
    /// for a thread that polls many receivers.
    pub fn try_recv_many(&mut self, buffer: &mut Vec<TapEvent>, limit: usize) -> usize {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match self.rx.poll_recv_many(&mut cx, buffer, limit) {
            std::task::Poll::Ready(n) => n,
            std::task::Poll::Pending => 0,
        }
    }

    /// A blocking receive, for threads outside the runtime.
    pub fn blocking_recv(&mut self) -> Option<TapEvent> {
        self.rx.blocking_recv()
    }

    /// Whether every [`Tap`] is gone and every report has been taken: nothing more will
    /// come (for a reader that polls many receivers with [`try_recv`](Self::try_recv)).
    pub fn is_finished(&self) -> bool {
        self.rx.is_closed() && self.rx.is_empty()
    }
}

/// One report.
#[derive(Clone, Debug)]
pub struct TapEvent {
    /// Wall-clock time.
    pub time: SystemTime,
    /// Monotonic time since the tap was created.
    pub elapsed: Duration,
    /// What happened.
    pub kind: TapKind,
}

/// Who closed a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiator {
    /// This side sent the first close frame (or failed the connection).
    Local,
    /// The peer sent the first close frame.
    Remote,
    /// No close frame: the connection was lost.
    Nobody,
}

/// What a tap reports.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub enum TapKind {
    /// The readyState changed.
    State(ReadyState),
    /// TCP is connected (to the proxy, if one is used).
    TcpConnected {
        /// Our address.
        local: SocketAddr,
        /// The peer's (or the proxy's) address.
        peer: SocketAddr,
        /// The proxy in between, as `host:port`.
        proxy: Option<String>,
    },
    /// TLS is established.
    TlsEstablished(Box<TlsInfo>),
    /// Client: the upgrade request was sent.
    RequestSent {
        /// The request head.
        request: Box<Request<()>>,
        /// Its bytes exactly as written.
        raw: Bytes,
    },
    /// Client: the server's 101 answer arrived.
    ResponseReceived {
        /// The response head.
        response: Box<Response<()>>,
        /// Its bytes exactly as received.
        raw: Bytes,
    },
    /// Server: the client's upgrade request arrived.
    RequestReceived {
        /// The request head.
        request: Box<Request<()>>,
        /// Its bytes exactly as received.
        raw: Bytes,
    },
    /// Server: the answer was sent (101, or a refusal).
    ResponseSent {
        /// The bytes written.
        raw: Bytes,
    },
    /// The connection is open: what the opening handshake settled (the request and the 101,
    /// subprotocol, extensions, permessage-deflate parameters, TLS, addresses), reported
    /// just before [`State`](Self::State)`(Open)`, so that a reader need not work any of it
    /// out again from the headers.
    Opened(Box<crate::HandshakeInfo>),
    /// The opening handshake failed.
    HandshakeFailed {
        /// In plain words.
        reason: String,
        /// The peer's HTTP answer, if one came.
        response: Option<Box<Response<()>>>,
        /// Its body.
        body: Option<Bytes>,
    },
    /// A frame, either direction, with its header, unmasked payload and place in its message
    /// as the engine numbered it ([`Frame::message`](ws_proto::Frame::message)): which
    /// message, which fragment, the message's type and its bytes before this frame. A reader
    /// takes message boundaries from there, never from the opcodes again.
    Frame(Frame),
    /// The plain (inflated) content of a compressed message received, reported right after
    /// the frame that ended it. A [`Frame`] of a compressed message carries the bytes as on
    /// the wire; this is what the engine made of them, so that a tap's reader can show and
    /// search the text without inflating it a second time. Messages that were not
    /// compressed are not reported: their frames already hold their content.
    Inflated(crate::Message),
    /// The connection ended.
    Closed {
        /// The connection close code (1005 without a code, 1006 if lost).
        code: CloseCode,
        /// The close reason.
        reason: String,
        /// Who started the close.
        initiator: Initiator,
        /// Whether the close handshake completed.
        clean: bool,
    },
    /// An error, in plain words.
    Error(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(n: usize) -> Vec<TapKind> {
        (0..n).map(|_| TapKind::State(ReadyState::Open)).collect()
    }

    #[test]
    fn a_batch_that_fits_goes_in_whole_with_one_time() {
        let (tap, mut rx) = channel(8);
        let mut reports = states(3);
        assert!(tap.try_report_all(&mut reports));
        assert!(reports.is_empty());
        let times: Vec<_> = std::iter::from_fn(|| rx.try_recv())
            .map(|e| (e.time, e.elapsed))
            .collect();
        assert_eq!(times.len(), 3);
        assert!(times.iter().all(|t| *t == times[0]));
    }

    #[test]
    fn a_full_channel_takes_what_fits_and_keeps_the_rest_in_order() {
        let (tap, mut rx) = channel(2);
        let mut reports = vec![
            TapKind::Error("1".into()),
            TapKind::Error("2".into()),
            TapKind::Error("3".into()),
        ];
        assert!(!tap.try_report_all(&mut reports));
        assert!(matches!(&reports[..], [TapKind::Error(e)] if e == "3"));
        let sent: Vec<_> = std::iter::from_fn(|| rx.try_recv())
            .map(|e| match e.kind {
                TapKind::Error(e) => e,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(sent, ["1", "2"]);
    }

    #[test]
    fn try_recv_many_takes_what_waits_up_to_the_limit_and_frees_the_room() {
        let (tap, mut rx) = channel(3);
        let mut reports = states(3);
        assert!(tap.try_report_all(&mut reports));
        let mut taken = Vec::new();
        assert_eq!(rx.try_recv_many(&mut taken, 2), 2);
        assert_eq!(rx.try_recv_many(&mut taken, 2), 1);
        assert_eq!(rx.try_recv_many(&mut taken, 2), 0);
        assert_eq!(taken.len(), 3);
        // All three places are free again.
        let mut reports = states(3);
        assert!(tap.try_report_all(&mut reports));
        drop(tap);
        assert_eq!(rx.try_recv_many(&mut taken, 8), 3);
        assert_eq!(rx.try_recv_many(&mut taken, 8), 0);
        assert!(rx.is_finished());
    }

    #[test]
    fn without_a_receiver_reports_are_dropped() {
        let (tap, rx) = channel(1);
        drop(rx);
        let mut reports = states(4);
        assert!(tap.try_report_all(&mut reports));
        assert!(reports.is_empty());
    }
}
