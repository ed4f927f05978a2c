//! A listen tab: a listener ("New listener" binds an address, default `127.0.0.1:0`), its
//! URL with a copy button and a ready-made `new WebSocket(…)` line, the server choices,
//! the accepted clients in a list (address, path, readyState, counts), and for the selected
//! client its handshake (the request as received, our response), its frame log and a
//! composer that sends to it or to every open client.

use egui::{RichText, Ui};
use ws_inspector_core::listener::{self, Client, Listener, ListenerOptions};
use ws_inspector_core::{Net, Notify};
use ws_tokio::Outgoing;
use ws_tokio::ws_proto::ReadyState;

use super::bind_guard::{BindChoice, confirm_bind_ui, exposed_warning_ui};
use super::composer::Composer;
use super::frame_log::{FrameLogView, LogAction, LogSettings};
use super::{Palette, plural};
use std::sync::Arc;

use ws_inspector_core::capture::merge::Part;
use ws_inspector_core::capture::playback::ServedScript;
use ws_inspector_core::listener::ServerChoices;
use ws_inspector_core::profiles::{Profile, ServerKind, ServerProfile};

use super::graphs::graphs_ui;
use super::handshake::HandshakeView;
use super::server_choices::ChoicesForm;
use super::server_side::{TlsChoice, client_row_ui, tls_choice_ui};

/// One accepted client and its log view.
#[derive(Debug)]
struct ClientView {
    client: Client,
    log: FrameLogView,
}

/// A listen tab.
#[derive(Debug)]
pub struct ListenTab {
    /// The address to bind, as typed.
    pub addr: String,
    /// ws:// or wss://.
    pub tls: TlsChoice,
    /// The server choices.
    pub form: ChoicesForm,
    /// Send to every open client instead of the selected one.
    pub to_all: bool,
    listener: Option<Listener>,
    /// The address bound is not loopback.
    exposed: bool,
    clients: Vec<ClientView>,
    selected: Option<usize>,
    composer: Composer,
    handshake: HandshakeView,
    /// The right panel shows the selected client's graphs instead of its handshake.
    graphs: bool,
    error: Option<String>,
    /// Waiting for the user to agree to a non-loopback bind.
    confirming: bool,
    /// A capture served to each client (File → a capture tab's Serve…).
    script: Option<Arc<ServedScript>>,
    /// "Save as profile" was pressed: the app saves [`to_profile`](Self::to_profile).
    pub save_requested: bool,
}

impl Default for ListenTab {
    fn default() -> Self {
        Self {
            addr: listener::bind::DEFAULT_ADDR.to_owned(),
            tls: TlsChoice::default(),
            form: ChoicesForm::default(),
            to_all: false,
            listener: None,
            exposed: false,
            clients: Vec::new(),
            selected: None,
            composer: Composer::default(),
            handshake: HandshakeView::default(),
            graphs: false,
            error: None,
            confirming: false,
            script: None,
            save_requested: false,
        }
    }
}

impl ListenTab {
    /// A tab that listens on `addr` at once (`--listen ADDR`); a non-loopback address asks
    /// first, as from the form.
    pub fn listening(addr: &str, net: &Net, notify: Notify) -> Self {
        let mut tab = Self {
            addr: addr.to_owned(),
            ..Self::default()
        };
        tab.request_bind(net, notify);
        tab
    }

    /// The tab a saved listener opens (listening at once; a non-loopback address asks
    /// first).
    pub fn from_profile(server: &ServerProfile, net: &Net, notify: Notify) -> Self {
        let mut tab = Self {
            addr: server.addr.clone(),
            tls: TlsChoice::from_listener_tls(&server.tls),
            form: ChoicesForm::from_choices(&server.choices),
            ..Self::default()
        };
        tab.request_bind(net, notify);
        tab
    }

    /// The listener as a profile named `name` (its served capture, if any, is not saved).
    pub fn to_profile(&self, name: &str) -> Profile {
        Profile {
            name: name.to_owned(),
            server: Some(ServerProfile {
                kind: ServerKind::Listen,
                addr: self.addr.trim().to_owned(),
                tls: self.tls.to_listener_tls(),
                choices: self.form.choices(),
                ..ServerProfile::default()
            }),
            ..Profile::default()
        }
    }

    /// A tab that serves `script` to each client on `addr` (a non-loopback address asks
    /// first).
    pub fn serving(addr: &str, script: ServedScript, net: &Net, notify: Notify) -> Self {
        let mut tab = Self {
            addr: addr.to_owned(),
            script: Some(Arc::new(script)),
            ..Self::default()
        };
        tab.request_bind(net, notify);
        tab
    }

    /// What the listener does with each client: the form's choices, and the capture served.
    fn choices(&self) -> ServerChoices {
        let mut choices = self.form.choices();
        if let Some(script) = &self.script {
            // The capture answers: echoing too would answer twice.
            choices.echo = false;
            choices.script = Some(script.clone());
        }
        choices
    }

    /// The tab's title.
    pub fn title(&self) -> String {
        match &self.listener {
            Some(l) => format!("Listen :{}", l.local_addr().port()),
            None => "New listener".to_owned(),
        }
    }

    /// The URL clients connect to, once listening.
    pub fn url(&self) -> Option<String> {
        self.listener.as_ref().map(Listener::url)
    }

    /// Whether a client is connected and not yet closed.
    pub fn live(&self) -> bool {
        self.clients
            .iter()
            .any(|c| c.client.session.state().ready_state() != ReadyState::Closed)
    }

    /// The readyState of the tab's dot: OPEN while listening.
    pub fn ready_state(&self) -> Option<ReadyState> {
        self.listener.as_ref().map(|_| ReadyState::Open)
    }

    /// The number of clients accepted.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    fn request_bind(&mut self, net: &Net, notify: Notify) {
        if listener::is_loopback(&self.addr) {
            self.bind(net, notify);
        } else {
            self.confirming = true;
        }
    }

    fn bind(&mut self, net: &Net, notify: Notify) {
        let options = ListenerOptions {
            addr: self.addr.trim().to_owned(),
            tls: self.tls.to_listener_tls(),
            choices: self.choices(),
        };
        match net.listen(&options, notify) {
            Ok(listener) => {
                self.exposed = !listener.local_addr().ip().is_loopback();
                self.listener = Some(listener);
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Takes the clients accepted since the last frame.
    fn poll(&mut self) {
        let Some(listener) = self.listener.as_mut() else {
            return;
        };
        for client in listener.take_accepted() {
            self.clients.push(ClientView {
                client,
                log: FrameLogView::new(LogSettings::default()),
            });
            if self.selected.is_none() {
                self.selected = Some(self.clients.len() - 1);
            }
        }
    }

    /// Shows the tab.
    pub fn ui(&mut self, ui: &mut Ui, net: &Net, notify: &Notify) {
        self.poll();
        egui::Panel::top("listener-bar")
            .frame(
                egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::symmetric(8, 6)),
            )
            .show(ui, |ui| self.bar_ui(ui, net, notify));
        if self.confirming {
            match confirm_bind_ui(ui, self.addr.trim()) {
                Some(BindChoice::Bind) => {
                    self.confirming = false;
                    self.bind(net, notify.clone());
                }
                Some(BindChoice::Cancel) => self.confirming = false,
                None => {}
            }
        }
        if self.listener.is_none() {
            return;
        }
        egui::Panel::left("listener-clients")
            .resizable(true)
            .default_size(260.0)
            .show(ui, |ui| self.clients_ui(ui));
        let Some(i) = self.selected.filter(|i| *i < self.clients.len()) else {
            egui::CentralPanel::default().show(ui, |ui| {
                let url = self.url().unwrap_or_default();
                ui.label(
                    RichText::new(format!(
                        "Waiting for clients: connect to {url} (or paste the \
                         new WebSocket line into a browser's console)."
                    ))
                    .color(Palette::of(ui).weak),
                );
            });
            return;
        };
        egui::Panel::right("listener-handshake")
            .resizable(true)
            .default_size(320.0)
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut self.graphs, false, "Handshake");
                    ui.selectable_value(&mut self.graphs, true, "Graphs");
                });
                ui.separator();
                let view = &mut self.clients[i];
                let state = view.client.session.state();
                if self.graphs {
                    if let Some(index) = graphs_ui(ui, &state, view.log.selected()) {
                        view.log.show_entry(index);
                    }
                } else {
                    self.handshake.ui(ui, Some(&state));
                }
            });
        self.composer_ui(ui, i);
        let mut action = None;
        egui::CentralPanel::default().show(ui, |ui| {
            let view = &mut self.clients[i];
            let state = view.client.session.state();
            action = view.log.ui(ui, Some(&state));
        });
        if let Some(action) = action {
            let view = &mut self.clients[i];
            let mut state = view.client.session.state();
            match action {
                LogAction::Clear => {
                    state.log.clear();
                    view.log.reset();
                }
                LogAction::SetCapture(on) => state.capture = on,
            }
        }
    }

    fn bar_ui(&mut self, ui: &mut Ui, net: &Net, notify: &Notify) {
        let palette = Palette::of(ui);
        let listening = self.listener.as_ref().map(|l| {
            (
                l.url(),
                l.js_snippet(),
                l.fingerprint().map(str::to_owned),
                l.local_addr(),
            )
        });
        match listening {
            None => {
                ui.horizontal(|ui| {
                    ui.label(RichText::new("New listener").strong());
                    let label = ui.label("Listen address");
                    ui.add(egui::TextEdit::singleline(&mut self.addr).desired_width(160.0))
                        .labelled_by(label.id);
                    tls_choice_ui(ui, &mut self.tls);
                    if ui.button("Listen").clicked() {
                        self.request_bind(net, notify.clone());
                    }
                });
                self.tls.files_ui(ui);
                if !listener::is_loopback(&self.addr) {
                    ui.colored_label(
                        palette.warning,
                        "⚠ not a loopback address: other machines could connect (you will be asked)",
                    );
                }
            }
            Some((url, snippet, fingerprint, local_addr)) => {
                ui.horizontal(|ui| {
                    ui.label(RichText::new("Listening on").strong());
                    ui.label(RichText::new(&url).monospace().strong());
                    if ui.button("Copy URL").clicked() {
                        ui.ctx().copy_text(url.clone());
                    }
                    if ui
                        .button("Save as profile")
                        .on_hover_text(
                            "Keep this listener (address, wss://, server choices) in the sidebar",
                        )
                        .clicked()
                    {
                        self.save_requested = true;
                    }
                    ui.separator();
                    ui.label(RichText::new(&snippet).monospace());
                    if ui
                        .button("Copy JS")
                        .on_hover_text("Copy the new WebSocket line")
                        .clicked()
                    {
                        ui.ctx().copy_text(snippet.clone());
                    }
                });
                if let Some(fingerprint) = fingerprint {
                    ui.horizontal(|ui| {
                        ui.label("Certificate SHA-256");
                        ui.label(RichText::new(fingerprint).monospace().small());
                    });
                }
                if self.exposed {
                    exposed_warning_ui(ui, &local_addr.to_string());
                }
            }
        }
        if let Some(script) = &self.script {
            let how = match script.original_timing {
                true => "on the capture's timing",
                false => "each after the client's message before it in the capture",
            };
            ui.label(
                RichText::new(format!(
                    "Serving {}: {} to each client, {how}",
                    script.source,
                    plural(script.cues.len() as u64, "message", "messages")
                ))
                .color(palette.event),
            );
        }
        egui::CollapsingHeader::new("Server choices")
            .default_open(self.listener.is_none())
            .show(ui, |ui| {
                if self.form.ui(ui)
                    && let Some(listener) = &self.listener
                {
                    listener.set_choices(self.choices());
                }
                if self.listener.is_some() {
                    ui.label(
                        RichText::new("Changes apply to the next clients.").color(palette.weak),
                    );
                }
            });
        if let Some(error) = &self.error {
            ui.colored_label(palette.error, error);
        }
    }

    /// Every client's session, numbered from 1 in the order they connected.
    pub fn capture_parts(&self) -> Vec<Part<'_>> {
        (1..)
            .zip(&self.clients)
            .map(|(conn, view)| Part {
                conn,
                leg: None,
                session: &view.client.session,
            })
            .collect()
    }

    fn clients_ui(&mut self, ui: &mut Ui) {
        ui.label(RichText::new(format!("Clients ({})", self.clients.len())).strong());
        ui.separator();
        egui::ScrollArea::vertical()
            .id_salt("listener-clients-scroll")
            .show(ui, |ui| {
                for (i, view) in self.clients.iter().enumerate() {
                    let state = view.client.session.state();
                    let selected = self.selected == Some(i);
                    if client_row_ui(ui, i + 1, view.client.peer, &state, selected) {
                        self.selected = Some(i);
                    }
                }
            });
    }

    fn composer_ui(&mut self, ui: &mut Ui, i: usize) {
        let open =
            |view: &ClientView| view.client.session.state().ready_state() == ReadyState::Open;
        let any_open = self.clients.iter().any(open);
        let selected_open = open(&self.clients[i]);
        let mut to_send: Option<Vec<Outgoing>> = None;
        egui::Panel::bottom("listener-composer")
            .resizable(true)
            .default_size(150.0)
            .frame(
                egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::symmetric(8, 6)),
            )
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label("Send to");
                    ui.radio_value(&mut self.to_all, false, format!("client #{}", i + 1));
                    ui.radio_value(&mut self.to_all, true, "all open clients");
                    ui.separator();
                    if ui
                        .add_enabled(selected_open, egui::Button::new("Reset TCP"))
                        .on_hover_text(
                            "Abort this client's TCP connection with an RST (no close frame)",
                        )
                        .clicked()
                        && let Err(e) = self.clients[i].client.session.reset()
                    {
                        self.composer.error = Some(e);
                    }
                });
                let can_send = if self.to_all { any_open } else { selected_open };
                to_send = self.composer.ui(ui, can_send);
            });
        let Some(frames) = to_send else {
            return;
        };
        if self.to_all {
            for view in self.clients.iter().filter(|v| open(v)) {
                let _ = view.client.session.send(frames.clone());
            }
        } else if let Err(e) = self.clients[i].client.session.send(frames) {
            self.composer.error = Some(e);
        }
    }
}
