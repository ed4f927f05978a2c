//! The accept loop and one client's task: the server side of the opening handshake, as
//! the listener's [`ServerChoices`] say, then the open connection run like a client
//! session's (the UI's commands in, the tap's reports to the client's own state).

use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use ws_tokio::ws_proto::UpgradeRequest;
use ws_tokio::ws_proto::http::{HeaderMap, StatusCode};
use ws_tokio::{Decision, Outgoing};

use super::{Client, ServerChoices};
use crate::notify::Notify;
use crate::session::Tasks;
use crate::session::state::lock;
use crate::session::task::{ListenerFaults, MarkFinished, Open, run_open, start};

/// What the accept loop works with.
pub(super) struct Accepting {
    pub(super) listener: TcpListener,
    pub(super) tls: Option<Arc<ws_tokio::rustls::ServerConfig>>,
    pub(super) choices: Arc<Mutex<ServerChoices>>,
    pub(super) found: mpsc::UnboundedSender<Client>,
    pub(super) notify: Notify,
    pub(super) tasks: Tasks,
}

/// Accepts clients until the listener is dropped (the task is aborted then) or nobody
/// takes the clients any more.
pub(super) async fn accept_loop(accepting: Accepting) {
    let Accepting {
        listener,
        tls,
        choices,
        found,
        notify,
        tasks,
    } = accepting;
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: try again shortly.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let choices = choices
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let local = tcp.local_addr().ok();
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        let label = match local {
            Some(local) => format!("{scheme}://{local}/ from {peer}"),
            None => format!("{scheme}:// from {peer}"),
        };
        let started = start(&tasks, &label, &notify);
        // A served capture watches what the client sends, and sends through the commands.
        let (observer, player) = match &choices.script {
            Some(script) => {
                let (observer, observed) = mpsc::unbounded_channel();
                let play = script
                    .clone()
                    .play(started.session.commands.downgrade(), observed);
                (Some(observer), Some(play))
            }
            None => (None, None),
        };
        let mut options = choices.server_options();
        options.tls = tls.clone();
        options.tap = Some(started.tap);
        let open = Open {
            shared: started.session.shared.clone(),
            notify: notify.clone(),
            // A served capture answers instead of the echo.
            echo: (choices.echo && choices.script.is_none())
                .then(|| started.session.commands.downgrade()),
            commands: started.commands,
            drain: started.drain,
            tasks: tasks.clone(),
            queued: choices
                .on_connect
                .iter()
                .map(|text| Outgoing::Text(text.clone()))
                .collect(),
            keepalive: None,
            observer,
            faults: Some(ListenerFaults {
                faults: choices.faults.clone(),
                socket: None,
                commands: started.session.commands.downgrade(),
            }),
        };
        if let Some(player) = player {
            tasks.spawn("served capture", player);
        }
        tasks.spawn("listener client", serve(tcp, options, choices, open));
        let client = Client {
            peer,
            session: started.session,
        };
        if found.send(client).is_err() {
            return;
        }
        notify.now();
    }
}

/// One client, from its upgrade request to the end.
async fn serve(
    tcp: TcpStream,
    options: ws_tokio::ServerOptions,
    choices: ServerChoices,
    open: Open,
) {
    let _finished = MarkFinished {
        shared: open.shared.clone(),
        notify: open.notify.clone(),
    };
    let mut open = open;
    // A second handle on the socket, for a reset (and the faults, when there are any).
    let (tcp, socket) = match crate::listener::bind::second_handle(tcp) {
        Ok(pair) => pair,
        Err(_) => return,
    };
    if let Some(faults) = &mut open.faults {
        faults.socket = socket;
    }
    let result = ws_tokio::accept(tcp, &options, |request| decide(&choices, request)).await;
    // The options hold a tap: the drain task ends only once every tap is dropped.
    drop(options);
    match result {
        Ok(ws) => run_open(ws.into_driven(), open).await,
        Err(error) => {
            let Open { shared, drain, .. } = open;
            let _ = drain.await;
            lock(&shared).fail(&error);
        }
    }
}

/// Our answer to `request`, as chosen.
fn decide(choices: &ServerChoices, request: &UpgradeRequest) -> Decision {
    let refused = choices
        .token
        .as_deref()
        .and_then(|token| super::token_refusal(token, request));
    if let Some((status, body)) = refused.as_ref().or(choices.reject.as_ref()) {
        let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::FORBIDDEN);
        return Decision::Reject {
            status,
            body: body.clone(),
        };
    }
    Decision::Accept {
        protocol: choices.pick_protocol(&request.protocols),
        headers: HeaderMap::new(),
    }
}
