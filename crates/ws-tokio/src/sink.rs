//! [`WsStream`] as a `futures` [`Stream`] of messages and a [`Sink`] of [`Outgoing`], so that
//! `futures::StreamExt` and `SinkExt` (`next`, `forward`, `split`, …) work on it as on
//! tokio-tungstenite's stream. Both run on the same poll functions as
//! [`recv`](WsStream::recv) and [`send`](WsStream::send), and wake each other's task when
//! one finishes a write the other waits for (the halves of `StreamExt::split` may be polled
//! by two tasks, and the socket wakes only the last).

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::{FusedStream, Stream};
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};
use ws_proto::{CloseCode, ReadyState};

use crate::error::Error;
use crate::message::{Message, Outgoing};
use crate::stream::{HIGH_WATER, WsStream};

/// The messages [`recv`](WsStream::recv) returns: messages, then at most one error, then the
/// end. Pings are answered and the close handshake completed while it is polled.
impl<S> Stream for WsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let poll = this.poll_recv(cx);
        this.share_write_wakeups(cx, poll)
    }
}

impl<S> FusedStream for WsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn is_terminated(&self) -> bool {
        self.is_done()
    }
}

/// Sends [`Outgoing`] messages: `start_send` queues a message in the engine, `poll_flush`
/// writes what is queued; `poll_ready` writes first only once 64 KiB or more waits, so a
/// burst goes out in few writes. `poll_close` sends a close frame with code 1000 (unless one
/// was sent or the connection is closing) and flushes; the [`Stream`] must still be read to
/// its end to complete the close handshake. Once the stream has ended, `poll_ready` and
/// `start_send` fail and `poll_flush` and `poll_close` have nothing to do.
impl<S> Sink<Outgoing> for WsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if !this.is_running() {
            return Poll::Ready(Err(Error::closed()));
        }
        if this.queued() >= HIGH_WATER {
            let poll = this.poll_settle(cx);
            ready!(this.share_write_wakeups(cx, poll))?;
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: Outgoing) -> Result<(), Error> {
        self.get_mut().queue(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if !this.is_running() {
            return Poll::Ready(Ok(()));
        }
        let poll = this.poll_settle(cx);
        this.share_write_wakeups(cx, poll)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if !this.is_running() {
            return Poll::Ready(Ok(()));
        }
        if this.state() == ReadyState::Open {
            this.queue(Outgoing::Close(Some(CloseCode::NORMAL), String::new()))?;
        }
        let poll = this.poll_settle(cx);
        this.share_write_wakeups(cx, poll)
    }
}
