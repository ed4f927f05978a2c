//! A relay tab: listen on an address (default `127.0.0.1:0`) and forward each accepted
//! client to an upstream URL with a profile's options. Each relayed client shows both legs
//! side by side — client ⇄ inspector on the left, inspector ⇄ server on the right — each
//! with what it negotiated (subprotocol, extensions, compression, readyState, close) and
//! its own frame log.

use egui::{RichText, Ui};
use ws_inspector_core::capture::Leg;
use ws_inspector_core::capture::merge::Part;
use ws_inspector_core::listener;
use ws_inspector_core::profiles::{Profile, ProfileStore, ServerKind, ServerProfile};
use ws_inspector_core::relay::pairing::{PairIndex, Towards};
use ws_inspector_core::relay::{Relay, RelayOptions, RelayedClient};
use ws_inspector_core::{Net, Notify, SessionState};
use ws_tokio::ConnectOptions;
use ws_tokio::ws_proto::ReadyState;

use super::Palette;
use super::bind_guard::{BindChoice, confirm_bind_ui, exposed_warning_ui};
use super::frame_log::{FrameLogView, LogAction, LogSettings};
use super::graphs::graphs_ui;
use super::intercept::InterceptView;
use super::merged_log::MergedLog;
use super::server_side::{TlsChoice, client_row_ui, tls_choice_ui};
use ws_inspector_core::relay::control::{RelaySettings, Way};

/// One relayed client and a log view per leg.
#[derive(Debug)]
struct RelayView {
    client: RelayedClient,
    client_log: FrameLogView,
    server_log: FrameLogView,
    /// Both legs in one log.
    merged: MergedLog,
    /// Each message's ends on both legs, for the pairs.
    pairs: PairIndex,
}

/// A relay tab.
#[derive(Debug)]
pub struct RelayTab {
    /// The address to listen on, as typed.
    pub addr: String,
    /// The upstream URL, as typed.
    pub upstream: String,
    /// The profile whose options the upstream leg uses (none: defaults).
    pub profile: Option<String>,
    /// ws:// or wss:// on the client leg.
    pub tls: TlsChoice,
    relay: Option<Relay>,
    exposed: bool,
    clients: Vec<RelayView>,
    selected: Option<usize>,
    error: Option<String>,
    confirming: bool,
    /// What the selected client shows: the legs' logs, the pairs, the legs' graphs, or
    /// the intercept.
    mode: RelayMode,
    /// The token clients must carry, as typed (empty: none).
    pub token: String,
    /// Each leg answers its pings (pings and pongs are not forwarded).
    pub answer_pings: bool,
    /// Forward whole messages instead of frame for frame.
    pub whole_messages: bool,
    /// Intercept and faults, for every client (the relay's copy is set when they change).
    settings: RelaySettings,
    intercept: InterceptView,
    /// "Save as profile" was pressed: the app saves [`to_profile`](Self::to_profile).
    pub save_requested: bool,
}

/// What a relay tab shows of the selected client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum RelayMode {
    /// Each leg's log, side by side.
    #[default]
    Legs,
    /// Both legs' entries in one log, in time order, with a Leg column.
    OneLog,
    /// Each message on both legs, with the delay the relay added.
    Pairs,
    /// Each leg's graphs, side by side.
    Graphs,
    /// Held messages, injection, faults.
    Intercept,
}

impl Default for RelayTab {
    fn default() -> Self {
        Self {
            addr: listener::bind::DEFAULT_ADDR.to_owned(),
            upstream: String::new(),
            profile: None,
            tls: TlsChoice::default(),
            relay: None,
            exposed: false,
            clients: Vec::new(),
            selected: None,
            error: None,
            confirming: false,
            mode: RelayMode::default(),
            token: String::new(),
            answer_pings: false,
            whole_messages: false,
            settings: RelaySettings::default(),
            intercept: InterceptView::default(),
            save_requested: false,
        }
    }
}

impl RelayTab {
    /// A tab that relays `addr` to `upstream` at once (`--relay ADDR URL`); a non-loopback
    /// address asks first.
    pub fn relaying(
        addr: &str,
        upstream: &str,
        net: &Net,
        profiles: &ProfileStore,
        notify: Notify,
    ) -> Self {
        let mut tab = Self {
            addr: addr.to_owned(),
            upstream: upstream.to_owned(),
            ..Self::default()
        };
        tab.request_start(net, profiles, notify);
        tab
    }

    /// The tab a saved relay opens: to the profile's URL with its options (relaying at
    /// once; a non-loopback address asks first).
    pub fn from_profile(
        profile: &Profile,
        server: &ServerProfile,
        net: &Net,
        profiles: &ProfileStore,
        notify: Notify,
    ) -> Self {
        let mut tab = Self {
            addr: server.addr.clone(),
            upstream: profile.url.clone(),
            profile: profiles.get(&profile.name).map(|p| p.name.clone()),
            tls: TlsChoice::from_listener_tls(&server.tls),
            token: server.token.clone(),
            answer_pings: server.answer_pings,
            whole_messages: server.whole_messages,
            ..Self::default()
        };
        tab.request_start(net, profiles, notify);
        tab
    }

    /// The relay as a profile named `name`: the upstream profile's options (if one is
    /// chosen), the upstream URL, and the relay's own settings.
    pub fn to_profile(&self, name: &str, profiles: &ProfileStore) -> Profile {
        let base = self
            .profile
            .as_deref()
            .and_then(|p| profiles.get(p))
            .cloned()
            .unwrap_or_default();
        Profile {
            name: name.to_owned(),
            url: self.upstream.trim().to_owned(),
            local_echo: false,
            server: Some(ServerProfile {
                kind: ServerKind::Relay,
                addr: self.addr.trim().to_owned(),
                tls: self.tls.to_listener_tls(),
                token: self.token.trim().to_owned(),
                answer_pings: self.answer_pings,
                whole_messages: self.whole_messages,
                ..ServerProfile::default()
            }),
            ..base
        }
    }

    /// The tab's title.
    pub fn title(&self) -> String {
        match &self.relay {
            Some(r) => format!("Relay :{}", r.local_addr().port()),
            None => "New relay".to_owned(),
        }
    }

    /// The URL clients connect to, once relaying.
    pub fn url(&self) -> Option<String> {
        self.relay.as_ref().map(Relay::url)
    }

    /// Whether a relayed client is connected and not yet closed.
    pub fn live(&self) -> bool {
        self.clients
            .iter()
            .any(|c| c.client.client.state().ready_state() != ReadyState::Closed)
    }

    /// The readyState of the tab's dot: OPEN while relaying.
    pub fn ready_state(&self) -> Option<ReadyState> {
        self.relay.as_ref().map(|_| ReadyState::Open)
    }

    fn request_start(&mut self, net: &Net, profiles: &ProfileStore, notify: Notify) {
        if listener::is_loopback(&self.addr) {
            self.start(net, profiles, notify);
        } else {
            self.confirming = true;
        }
    }

    fn start(&mut self, net: &Net, profiles: &ProfileStore, notify: Notify) {
        match self.options(profiles).and_then(|o| net.relay(o, notify)) {
            Ok(relay) => {
                self.exposed = !relay.local_addr().ip().is_loopback();
                self.relay = Some(relay);
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    fn options(&self, profiles: &ProfileStore) -> Result<RelayOptions, String> {
        let url = self.upstream.trim();
        ws_inspector_core::url::check_url(url)?;
        let profile = self.profile.as_deref().and_then(|name| profiles.get(name));
        let upstream = match profile {
            Some(profile) => profile.to_connect_options(Some(url))?,
            None => ConnectOptions::new(url),
        };
        let fixed_protocols = !upstream.request.protocols.is_empty();
        let tls = match self.tls.to_listener_tls() {
            listener::ListenerTls::None => None,
            listener::ListenerTls::SelfSigned => Some(listener::tls::self_signed()?),
            listener::ListenerTls::Files { cert, key } => {
                Some(listener::tls::from_files(&cert, &key)?)
            }
        };
        Ok(RelayOptions {
            addr: self.addr.trim().to_owned(),
            upstream,
            fixed_protocols,
            tls,
            token: (!self.token.trim().is_empty()).then(|| self.token.trim().to_owned()),
            answer_pings: self.answer_pings,
            whole_messages: self.whole_messages,
        })
    }

    fn poll(&mut self) {
        let Some(relay) = self.relay.as_mut() else {
            return;
        };
        for client in relay.take_accepted() {
            self.clients.push(RelayView {
                client,
                client_log: FrameLogView::new(LogSettings::default()),
                server_log: FrameLogView::new(LogSettings::default()),
                merged: MergedLog::default(),
                pairs: PairIndex::default(),
            });
            if self.selected.is_none() {
                self.selected = Some(self.clients.len() - 1);
            }
        }
    }

    /// Shows the tab.
    pub fn ui(&mut self, ui: &mut Ui, net: &Net, profiles: &ProfileStore, notify: &Notify) {
        self.poll();
        self.follow_legs();
        egui::Panel::top("relay-bar")
            .frame(
                egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::symmetric(8, 6)),
            )
            .show(ui, |ui| self.bar_ui(ui, net, profiles, notify));
        if self.confirming {
            match confirm_bind_ui(ui, self.addr.trim()) {
                Some(BindChoice::Bind) => {
                    self.confirming = false;
                    self.start(net, profiles, notify.clone());
                }
                Some(BindChoice::Cancel) => self.confirming = false,
                None => {}
            }
        }
        if self.relay.is_none() {
            return;
        }
        egui::Panel::left("relay-clients")
            .resizable(true)
            .default_size(250.0)
            .show(ui, |ui| self.clients_ui(ui));
        let Some(i) = self.selected.filter(|i| *i < self.clients.len()) else {
            egui::CentralPanel::default().show(ui, |ui| {
                let url = self.url().unwrap_or_default();
                ui.label(
                    RichText::new(format!("Waiting for clients: connect to {url}."))
                        .color(Palette::of(ui).weak),
                );
            });
            return;
        };
        let mode = &mut self.mode;
        egui::CentralPanel::default().show(ui, |ui| {
            let view = &mut self.clients[i];
            ui.horizontal(|ui| {
                ui.selectable_value(mode, RelayMode::Legs, "Legs side by side");
                ui.selectable_value(mode, RelayMode::OneLog, "One log")
                    .on_hover_text("Both legs in one log, in time order, with a Leg column");
                ui.selectable_value(mode, RelayMode::Pairs, "Pairs")
                    .on_hover_text("Each message on both legs, with the delay the relay added");
                ui.selectable_value(mode, RelayMode::Graphs, "Graphs")
                    .on_hover_text("Messages, bytes, ping round trips and message sizes, per leg");
                let held = Way::BOTH
                    .iter()
                    .map(|way| view.client.control.held(*way).len())
                    .sum::<usize>();
                let title = match held {
                    0 => "Intercept".to_owned(),
                    n => format!("Intercept ({n} held)"),
                };
                ui.selectable_value(mode, RelayMode::Intercept, title)
                    .on_hover_text("Hold, edit, drop and inject messages; inject faults");
            });
            ui.separator();
            match *mode {
                RelayMode::Legs => {}
                RelayMode::OneLog => {
                    let chosen = {
                        let client = view.client.client.state();
                        let server = view.client.server.state();
                        view.merged.ui(ui, [&client, &server])
                    };
                    if let Some((leg, index)) = chosen {
                        let log = match leg {
                            0 => &mut view.client_log,
                            _ => &mut view.server_log,
                        };
                        log.show_entry(index);
                        *mode = RelayMode::Legs;
                    }
                    return;
                }
                RelayMode::Intercept => {
                    if self
                        .intercept
                        .ui(ui, &mut self.settings, &view.client.control)
                        && let Some(relay) = &self.relay
                    {
                        relay.set_settings(self.settings.clone());
                    }
                    // Held messages arrive without a repaint of their own.
                    ui.ctx()
                        .request_repaint_after(std::time::Duration::from_millis(200));
                    return;
                }
                RelayMode::Pairs => {
                    let client = view.client.client.state();
                    let server = view.client.server.state();
                    pairs_ui(ui, &view.pairs, &client, &server);
                    return;
                }
                RelayMode::Graphs => {
                    let mut chosen = false;
                    ui.columns(2, |columns| {
                        let legs = [
                            (
                                "client-leg-graphs",
                                "Leg: client <-> inspector",
                                &view.client.client,
                                &mut view.client_log,
                            ),
                            (
                                "server-leg-graphs",
                                "Leg: inspector <-> server",
                                &view.client.server,
                                &mut view.server_log,
                            ),
                        ];
                        for ((id, title, session, log), ui) in
                            legs.into_iter().zip(columns.iter_mut())
                        {
                            ui.push_id(id, |ui| {
                                ui.label(RichText::new(title).strong());
                                let state = session.state();
                                if let Some(index) = graphs_ui(ui, &state, log.selected()) {
                                    log.show_entry(index);
                                    chosen = true;
                                }
                            });
                        }
                    });
                    if chosen {
                        // A click on a graph shows its frame in that leg's log.
                        *mode = RelayMode::Legs;
                    }
                    return;
                }
            }
            ui.columns(2, |columns| {
                leg_ui(
                    &mut columns[0],
                    "client-leg",
                    "Leg: client <-> inspector",
                    &view.client.client,
                    &mut view.client_log,
                );
                leg_ui(
                    &mut columns[1],
                    "server-leg",
                    "Leg: inspector <-> server",
                    &view.client.server,
                    &mut view.server_log,
                );
            });
        });
    }

    /// Keeps every client's merged log and pairs up with its legs' logs, whichever view is
    /// shown: each frame takes in only what arrived since the last, so opening One log or
    /// Pairs on a relay that has logged a million frames costs nothing more than any frame
    /// (built on opening instead, it once took 120 ms).
    fn follow_legs(&mut self) {
        for view in &mut self.clients {
            let client = view.client.client.state();
            let server = view.client.server.state();
            view.merged.update([&client.log, &server.log]);
            view.pairs.update(&client, &server);
        }
    }

    /// The first relayed client's two legs' sessions (client ⇄ inspector, inspector ⇄
    /// server), for the relay tab's benchmark and tests.
    pub fn first_client_legs(
        &self,
    ) -> Option<(&ws_inspector_core::Session, &ws_inspector_core::Session)> {
        self.clients
            .first()
            .map(|view| (&view.client.client, &view.client.server))
    }

    /// Both legs of every relayed client, numbered from 1 in the order they connected.
    pub fn capture_parts(&self) -> Vec<Part<'_>> {
        (1..)
            .zip(&self.clients)
            .flat_map(|(conn, view)| {
                [
                    Part {
                        conn,
                        leg: Some(Leg::Client),
                        session: &view.client.client,
                    },
                    Part {
                        conn,
                        leg: Some(Leg::Server),
                        session: &view.client.server,
                    },
                ]
            })
            .collect()
    }

    fn bar_ui(&mut self, ui: &mut Ui, net: &Net, profiles: &ProfileStore, notify: &Notify) {
        let palette = Palette::of(ui);
        let relaying = self.relay.as_ref().map(|r| {
            (
                r.url(),
                r.upstream().to_owned(),
                r.fingerprint().map(str::to_owned),
                r.local_addr(),
            )
        });
        match relaying {
            None => {
                ui.horizontal(|ui| {
                    ui.label(RichText::new("New relay").strong());
                    let label = ui.label("Relay address");
                    ui.add(egui::TextEdit::singleline(&mut self.addr).desired_width(140.0))
                        .labelled_by(label.id);
                    let label = ui.label("Upstream URL");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.upstream)
                            .hint_text("ws://host:port/")
                            .desired_width(240.0),
                    )
                    .labelled_by(label.id);
                    let label = ui.label("Profile");
                    egui::ComboBox::from_id_salt("relay-profile")
                        .selected_text(self.profile.as_deref().unwrap_or("(defaults)"))
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut self.profile, None, "(defaults)");
                            for p in profiles.profiles().iter().filter(|p| !p.local_echo) {
                                ui.selectable_value(
                                    &mut self.profile,
                                    Some(p.name.clone()),
                                    &p.name,
                                );
                            }
                        })
                        .response
                        .labelled_by(label.id);
                    if ui.button("Start relay").clicked() {
                        self.request_start(net, profiles, notify.clone());
                    }
                });
                ui.horizontal(|ui| {
                    tls_choice_ui(ui, &mut self.tls);
                    let label = ui.label("Token");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.token)
                            .hint_text("none: every client is relayed")
                            .desired_width(160.0),
                    )
                    .labelled_by(label.id)
                    .on_hover_text(
                        "Relay only clients with ?token=TOKEN or Authorization: Bearer TOKEN; \
                         others get 401 and nothing is opened upstream",
                    );
                    ui.checkbox(&mut self.answer_pings, "Auto-pong")
                        .on_hover_text(
                            "Each leg answers its pings itself; off: pings and pongs are \
                             forwarded, so their round trip is end to end",
                        );
                    ui.checkbox(&mut self.whole_messages, "Whole messages")
                        .on_hover_text(
                            "Assemble each fragmented message and send it on in one frame; \
                             off: frame for frame, fragments kept as they came",
                        );
                });
                self.tls.files_ui(ui);
                if !listener::is_loopback(&self.addr) {
                    ui.colored_label(
                        palette.warning,
                        "⚠ not a loopback address: other machines could connect (you will be asked)",
                    );
                }
            }
            Some((url, upstream, fingerprint, local_addr)) => {
                ui.horizontal(|ui| {
                    ui.label(RichText::new("Relaying").strong());
                    ui.label(RichText::new(&url).monospace().strong());
                    if ui.button("Copy URL").clicked() {
                        ui.ctx().copy_text(url.clone());
                    }
                    ui.label("->");
                    ui.label(RichText::new(upstream).monospace());
                    if ui
                        .button("Save as profile")
                        .on_hover_text(
                            "Keep this relay (address, upstream and its options, token) in the sidebar",
                        )
                        .clicked()
                    {
                        self.save_requested = true;
                    }
                });
                if let Some(fingerprint) = fingerprint {
                    ui.horizontal(|ui| {
                        ui.label("Certificate SHA-256");
                        ui.label(RichText::new(fingerprint).monospace().small());
                    });
                }
                let forwarding = if self.whole_messages {
                    "Forwarding whole messages (fragments are reassembled); opcodes, pings and \
                     pongs, close codes and reasons pass through."
                } else {
                    "Forwarding frame for frame: fragments, opcodes, pings and pongs, close \
                     codes and reasons pass through as they came."
                };
                ui.label(RichText::new(forwarding).color(palette.weak));
                if self.exposed {
                    exposed_warning_ui(ui, &local_addr.to_string());
                }
            }
        }
        if let Some(error) = &self.error {
            ui.colored_label(palette.error, error);
        }
    }

    fn clients_ui(&mut self, ui: &mut Ui) {
        ui.label(RichText::new(format!("Clients ({})", self.clients.len())).strong());
        ui.separator();
        egui::ScrollArea::vertical()
            .id_salt("relay-clients-scroll")
            .show(ui, |ui| {
                for (i, view) in self.clients.iter().enumerate() {
                    let state = view.client.client.state();
                    let selected = self.selected == Some(i);
                    if client_row_ui(ui, i + 1, view.client.peer, &state, selected) {
                        self.selected = Some(i);
                    }
                }
            });
    }
}

/// One leg: its title, what it negotiated, and its log.
fn leg_ui(
    ui: &mut Ui,
    id: &str,
    title: &str,
    session: &ws_inspector_core::Session,
    log: &mut FrameLogView,
) {
    ui.push_id(id, |ui| {
        ui.label(RichText::new(title).strong());
        let action = {
            let state = session.state();
            negotiated_ui(ui, &state);
            ui.separator();
            log.ui(ui, Some(&state))
        };
        if let Some(action) = action {
            let mut state = session.state();
            match action {
                LogAction::Clear => {
                    state.log.clear();
                    log.reset();
                }
                LogAction::SetCapture(on) => state.capture = on,
            }
        }
    });
}

/// What a leg negotiated: readyState, subprotocol, extensions, compression, the close.
fn negotiated_ui(ui: &mut Ui, state: &SessionState) {
    let palette = Palette::of(ui);
    let h = &state.handshake;
    let protocol = h.protocol.as_deref().unwrap_or("none");
    let extensions = if h.extensions.is_empty() {
        "none".to_owned()
    } else {
        h.extensions.join(", ")
    };
    ui.label(
        RichText::new(format!(
            "{} · subprotocol {protocol} · extensions {extensions}",
            state.ready_state()
        ))
        .monospace(),
    );
    if let Some(failure) = &h.failure {
        let status = failure
            .status
            .map(|s| format!("{} ", s.as_u16()))
            .unwrap_or_default();
        ui.colored_label(palette.error, format!("{status}{}", failure.reason));
    }
    if let Some(close) = &state.close {
        ui.label(
            RichText::new(format!("closed {} {:?}", close.code, close.reason)).color(palette.weak),
        );
    }
}

/// Each message on both legs: which way, its kind and preview, and the delay the relay
/// added (from its last frame's arrival on one leg to its sending on the other).
fn pairs_ui(ui: &mut Ui, index: &PairIndex, client: &SessionState, server: &SessionState) {
    let palette = Palette::of(ui);
    let pairs = index.pairs(client, server, 500);
    if pairs.is_empty() {
        ui.label(RichText::new("No messages yet.").color(palette.weak));
        return;
    }
    // A table: only the rows on screen are laid out.
    egui_extras::TableBuilder::new(ui)
        .id_salt("relay-pairs")
        .striped(true)
        .resizable(true)
        .stick_to_bottom(true)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(egui_extras::Column::initial(130.0).at_least(90.0))
        .column(egui_extras::Column::initial(90.0).at_least(60.0))
        .column(egui_extras::Column::remainder().at_least(120.0))
        .column(egui_extras::Column::initial(110.0).at_least(80.0))
        .header(20.0, |mut header| {
            for heading in ["Way", "Opcode", "Message", "Relay delay"] {
                header.col(|ui| {
                    ui.label(RichText::new(heading).strong());
                });
            }
        })
        .body(|body| {
            body.rows(18.0, pairs.len(), |mut row| {
                let Some(pair) = pairs.get(row.index()) else {
                    return;
                };
                let (way, colour) = match pair.towards {
                    Towards::Server => ("client -> server", palette.outgoing),
                    Towards::Client => ("server -> client", palette.incoming),
                };
                row.col(|ui| {
                    ui.colored_label(colour, way);
                });
                row.col(|ui| {
                    ui.label(RichText::new(format!("{:?}", pair.opcode)).monospace());
                });
                row.col(|ui| {
                    ui.label(RichText::new(&pair.preview).monospace());
                });
                row.col(|ui| {
                    match pair.delay() {
                        Some(delay) => ui.label(
                            RichText::new(format!("{:.3} ms", delay.as_secs_f64() * 1e3))
                                .monospace(),
                        ),
                        None => ui.colored_label(palette.weak, "not forwarded"),
                    };
                });
            });
        });
}
