//! The connection options panel: it edits a [`Profile`] — headers, Origin, subprotocols,
//! TLS, proxy, timeouts, auto-pong, the message size limit, auto-reconnect, keep-alive and
//! the payload decoders (one per direction; auto: from the handshake).

use egui::{RichText, Ui};

use super::path_field::{PathField, PathStatus};
use super::{Palette, heading_ui};
use ws_inspector_core::decode::{Decoder, DirectionalDecoders, ProtoSource};
use ws_inspector_core::profiles::{HeaderRow, Profile};
use ws_inspector_core::workflow::pings::KeepaliveSettings;
use ws_inspector_core::workflow::reconnect::ReconnectSettings;

/// What the options panel asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionsAction {
    /// Save the profile to its file.
    Save,
    /// Throw the edits away.
    Revert,
}

/// Which file field a Browse button is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileField {
    /// The extra CA (PEM).
    CaFile,
    /// The client certificate chain (PEM).
    ClientCert,
    /// The client key (PEM).
    ClientKey,
}

/// The options panel. Stateless apart from the Browse request it hands back and what the
/// app says about a file field.
#[derive(Debug, Default)]
pub struct OptionsView {
    /// A Browse… button was pressed: the app opens a file dialog for this field.
    pub browse: Option<FileField>,
    /// A message for one file field (e.g. that no file dialog can be shown), shown under it
    /// until the field is edited or Browse… is pressed again.
    pub notice: Option<(FileField, String)>,
    /// A protobuf decoder as last loaded to check it, and what loading said (a `.proto`
    /// is compiled once per change, not every frame).
    proto_check: Vec<(Decoder, Result<(), String>)>,
}

impl OptionsView {
    /// Shows the editor for `profile`. `saved`: it came from a saved profile; `dirty`: it
    /// differs from that file; `live`: a connection made with it is still open.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        profile: &mut Profile,
        saved: bool,
        dirty: bool,
        live: bool,
    ) -> Option<OptionsAction> {
        let palette = Palette::of(ui);
        let mut action = None;
        ui.horizontal(|ui| {
            ui.label(RichText::new(&profile.name).strong());
            if dirty {
                ui.label(RichText::new("• edited").color(palette.warning));
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if saved {
                    if ui
                        .add_enabled(dirty, egui::Button::new("Save profile"))
                        .on_hover_text("Write these options to the profile file")
                        .clicked()
                    {
                        action = Some(OptionsAction::Save);
                    }
                    if ui.add_enabled(dirty, egui::Button::new("Revert")).clicked() {
                        action = Some(OptionsAction::Revert);
                    }
                } else if ui
                    .button("Save as profile")
                    .on_hover_text("Keep this URL and these options as a new profile")
                    .clicked()
                {
                    action = Some(OptionsAction::Save);
                }
            });
        });
        if live {
            ui.label(RichText::new("Changes apply to the next connection.").color(palette.weak));
        }
        egui::ScrollArea::both()
            .id_salt("options-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                self.fields_ui(ui, profile, &palette);
            });
        action
    }

    fn fields_ui(&mut self, ui: &mut Ui, profile: &mut Profile, palette: &Palette) {
        heading_ui(ui, "Request");
        text_row_ui(
            ui,
            "Origin",
            &mut profile.origin,
            "e.g. https://example.com",
        );
        text_row_ui(
            ui,
            "Subprotocols",
            &mut profile.subprotocols,
            "comma-separated, in order of preference",
        );

        heading_ui(ui, "Headers");
        let mut remove = None;
        for (i, row) in profile.headers.iter_mut().enumerate() {
            if header_row_ui(ui, i, row) {
                remove = Some(i);
            }
        }
        if let Some(i) = remove {
            profile.headers.remove(i);
        }
        if ui.button("+ Add header").clicked() {
            profile.headers.push(HeaderRow {
                enabled: true,
                name: String::new(),
                value: String::new(),
            });
        }

        heading_ui(ui, "TLS (wss://)");
        self.file_row_ui(ui, "Extra CA", &mut profile.ca_file, FileField::CaFile);
        self.file_row_ui(
            ui,
            "Client cert",
            &mut profile.client_cert_file,
            FileField::ClientCert,
        );
        self.file_row_ui(
            ui,
            "Client key",
            &mut profile.client_key_file,
            FileField::ClientKey,
        );
        ui.checkbox(
            &mut profile.accept_invalid_certs,
            "Accept invalid certificates",
        );
        if profile.accept_invalid_certs {
            egui::Frame::new()
                .fill(palette.warning.gamma_multiply(0.15))
                .stroke(egui::Stroke::new(1.0, palette.warning))
                .corner_radius(4.0)
                .inner_margin(6.0)
                .show(ui, |ui| {
                    ui.add(
                        egui::Label::new(
                            RichText::new(
                                "⚠ Certificate checks are OFF: any server can pretend to be \
                                 this one. Use only for testing.",
                            )
                            .color(palette.warning),
                        )
                        .wrap(),
                    );
                });
        }

        heading_ui(ui, "Proxy");
        text_row_ui(
            ui,
            "HTTP proxy",
            &mut profile.proxy,
            "none · env · http://user:pass@host:port · socks5://… · socks5h://…",
        );

        heading_ui(ui, "Timeouts");
        seconds_row_ui(ui, "TCP connect", &mut profile.connect_timeout_secs);
        seconds_row_ui(ui, "TLS handshake", &mut profile.tls_timeout_secs);
        seconds_row_ui(ui, "Opening handshake", &mut profile.handshake_timeout_secs);
        seconds_row_ui(ui, "Closing handshake", &mut profile.close_timeout_secs);

        heading_ui(ui, "Protocol");
        ui.checkbox(
            &mut profile.auto_pong,
            "Answer pings automatically (auto-pong)",
        )
        .on_hover_text("Off: pings stay unanswered unless you send a pong from the composer");
        ui.checkbox(
            &mut profile.offer_compression,
            "Offer compression (permessage-deflate)",
        )
        .on_hover_text(
            "Offer RFC 7692 compression in the upgrade request, as browsers do. The log then \
             shows compressed payloads as on the wire, with their plain sizes.",
        );
        ui.horizontal(|ui| {
            let label = label_cell(ui, "Max message");
            let mut kib = (profile.max_message_size / 1024) as u64;
            let response = ui
                .add(
                    egui::DragValue::new(&mut kib)
                        .range(1..=4 * 1024 * 1024)
                        .speed(64.0)
                        .suffix(" KiB"),
                )
                .labelled_by(label.id)
                .on_hover_text("Larger incoming messages fail the connection with 1009");
            if response.changed() {
                profile.max_message_size = usize::try_from(kib * 1024).unwrap_or(usize::MAX);
            }
        });

        reconnect_ui(ui, &mut profile.reconnect);
        keepalive_ui(ui, &mut profile.keepalive, palette);
        decoding_ui(ui, &mut profile.decoders, &mut self.proto_check, palette);
        ui.add_enabled_ui(profile.speak_protocol, |ui| {
            text_row_ui(
                ui,
                "Namespaces",
                &mut profile.socketio_namespaces,
                "Socket.IO, comma-separated: / /chat (empty: /)",
            );
            text_row_ui(
                ui,
                "Init payload",
                &mut profile.protocol_init_payload,
                "JSON: Socket.IO auth, GraphQL connection_init payload",
            );
        });
        ui.checkbox(
            &mut profile.speak_protocol,
            "Speak Socket.IO / GraphQL by itself",
        )
        .on_hover_text(
            "Join the namespace or send connection_init on open, and answer the application's \
             pings, so the server keeps the connection; each automatic packet is an auto event \
             in the log",
        );
    }

    fn file_row_ui(&mut self, ui: &mut Ui, name: &str, value: &mut String, field: FileField) {
        let mut status = None;
        ui.horizontal(|ui| {
            let label = label_cell(ui, name);
            // Browse… takes about 70 points; the field takes the rest of the row.
            let output = PathField::new(ui, ("options-file", name), value)
                .hint_text("PEM file path (Tab completes)")
                .desired_width(field_width(ui, 76.0))
                .labelled_by(label.id)
                .probe()
                .ui(ui);
            if output.response.changed() && self.notice.as_ref().is_some_and(|(f, _)| *f == field) {
                self.notice = None;
            }
            status = output.status;
            if ui
                .button("Browse…")
                .on_hover_text("Choose the file in a file dialog")
                .clicked()
            {
                self.notice = None;
                self.browse = Some(field);
            }
        });
        let palette = Palette::of(ui);
        let notice = self
            .notice
            .as_ref()
            .filter(|(f, _)| *f == field)
            .map(|(_, text)| text.clone());
        let problem = status.as_ref().and_then(PathStatus::problem_for_reading);
        for text in notice.into_iter().chain(problem) {
            ui.horizontal(|ui| {
                ui.add_space(LABEL_WIDTH + ui.spacing().item_spacing.x);
                ui.add(
                    egui::Label::new(RichText::new(format!("⚠ {text}")).color(palette.error))
                        .wrap(),
                );
            });
        }
    }
}

/// One header: on/off, name, value and remove. The value wraps, so that a long token shows
/// whole; on a narrow panel it gets a line of its own. Returns whether remove was pressed.
fn header_row_ui(ui: &mut Ui, i: usize, row: &mut HeaderRow) -> bool {
    let mut remove = false;
    let wide = ui.available_width() >= 460.0;
    let value_ui = |ui: &mut Ui, row: &mut HeaderRow, width: f32| {
        let response = ui.add(
            egui::TextEdit::multiline(&mut row.value)
                .id_salt(("header-value", i))
                .hint_text("Value")
                .desired_rows(1)
                // Enter adds no line break: a header value is one line.
                .return_key(None)
                .desired_width(width),
        );
        if response.changed() && row.value.contains(['\n', '\r']) {
            // A pasted value keeps its text, not its line breaks.
            row.value = row.value.replace(['\r', '\n'], "");
        }
        response.accessible_name(format!("Header {} value", i + 1));
    };
    ui.horizontal(|ui| {
        ui.checkbox(&mut row.enabled, "on")
            .on_hover_text("Send this header");
        let rest = field_width(ui, 36.0);
        let name_width = if wide {
            (rest * 0.32).clamp(120.0, 240.0)
        } else {
            rest
        };
        ui.add(
            egui::TextEdit::singleline(&mut row.name)
                .id_salt(("header-name", i))
                .hint_text("Name")
                .desired_width(name_width),
        )
        .accessible_name(format!("Header {} name", i + 1));
        if wide {
            value_ui(ui, row, field_width(ui, 36.0));
        }
        remove = ui
            .small_button("✖")
            .on_hover_text("Remove this header")
            .clicked();
    });
    if !wide {
        ui.horizontal(|ui| {
            ui.add_space(24.0);
            value_ui(ui, row, field_width(ui, 0.0));
        });
    }
    remove
}

/// The text width for a field that fills the row, leaving `reserve` points for what follows
/// it. A text field is wider than its text by its margins; a row that overflows would make
/// the panel grow a little every frame.
fn field_width(ui: &Ui, reserve: f32) -> f32 {
    let margins = 2.0 * ui.spacing().button_padding.x + ui.spacing().item_spacing.x;
    (ui.available_width() - reserve - margins).max(60.0)
}

/// Width of the label column of the options panel.
const LABEL_WIDTH: f32 = 112.0;

/// A label in a fixed-width cell, so that the fields of consecutive rows line up.
fn label_cell(ui: &mut Ui, name: &str) -> egui::Response {
    ui.allocate_ui_with_layout(
        egui::vec2(LABEL_WIDTH, ui.spacing().interact_size.y),
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_min_width(LABEL_WIDTH);
            ui.add(egui::Label::new(name).truncate())
        },
    )
    .inner
}

fn text_row_ui(ui: &mut Ui, name: &str, value: &mut String, hint: &str) {
    ui.horizontal(|ui| {
        let label = label_cell(ui, name);
        ui.add(
            egui::TextEdit::singleline(value)
                .hint_text(hint)
                .desired_width(field_width(ui, 0.0)),
        )
        .labelled_by(label.id);
    });
}

/// Auto-reconnect: off by default; the backoff's first and longest delay, jitter, attempts.
fn reconnect_ui(ui: &mut Ui, settings: &mut ReconnectSettings) {
    heading_ui(ui, "Auto-reconnect");
    ui.checkbox(&mut settings.enabled, "Reconnect when the connection ends")
        .on_hover_text(
            "Not after you close, cancel or disconnect. The messages to send on connect are \
             sent again on every connection.",
        );
    ui.add_enabled_ui(settings.enabled, |ui| {
        seconds_row_ui(ui, "First delay", &mut settings.initial_delay_secs);
        seconds_row_ui(ui, "Longest delay", &mut settings.max_delay_secs);
        ui.horizontal(|ui| {
            let label = label_cell(ui, "Jitter");
            ui.add(
                egui::DragValue::new(&mut settings.jitter_percent)
                    .range(0.0..=100.0)
                    .speed(1.0)
                    .max_decimals(0)
                    .prefix("± ")
                    .suffix(" %"),
            )
            .labelled_by(label.id)
            .on_hover_text("Each delay is scaled by a random factor within this range");
        });
        ui.horizontal(|ui| {
            let label = label_cell(ui, "Attempts");
            ui.add(
                egui::DragValue::new(&mut settings.max_attempts)
                    .range(0..=10_000)
                    .speed(0.2)
                    .custom_formatter(|n, _| match n {
                        0.0 => "no limit".to_owned(),
                        n => format!("{n:.0}"),
                    }),
            )
            .labelled_by(label.id)
            .on_hover_text("At most this many attempts after an end (0: no limit); a connection that opens starts the count again");
        });
        ui.checkbox(
            &mut settings.after_normal_close,
            "Also after a normal close (1000) by the server",
        );
    });
}

/// Keep-alive pings: interval, pong timeout, payload.
fn keepalive_ui(ui: &mut Ui, settings: &mut KeepaliveSettings, palette: &Palette) {
    heading_ui(ui, "Keep-alive");
    ui.checkbox(&mut settings.enabled, "Send keep-alive pings")
        .on_hover_text(
            "A ping on a timer; the connection fails (closed with 1011) when a pong is late. \
             The round trip of every ping shows on its pong's row and in the status bar.",
        );
    ui.add_enabled_ui(settings.enabled, |ui| {
        seconds_row_ui(ui, "Every", &mut settings.interval_secs);
        ui.horizontal(|ui| {
            let label = label_cell(ui, "Pong within");
            ui.add(
                egui::DragValue::new(&mut settings.timeout_secs)
                    .range(0.0..=3600.0)
                    .speed(0.1)
                    .max_decimals(1)
                    .custom_formatter(|n, _| match n {
                        0.0 => "no limit".to_owned(),
                        n => format!("{n:.1} s"),
                    }),
            )
            .labelled_by(label.id);
        });
        text_row_ui(
            ui,
            "Payload",
            &mut settings.payload,
            "empty: a sequence number per ping",
        );
        if let Err(problem) = settings.keepalive() {
            ui.label(RichText::new(problem).color(palette.error));
        }
    });
}

fn seconds_row_ui(ui: &mut Ui, name: &str, value: &mut f32) {
    ui.horizontal(|ui| {
        let label = label_cell(ui, name);
        ui.add(
            egui::DragValue::new(value)
                .range(0.1..=3600.0)
                .speed(0.1)
                .max_decimals(1)
                .suffix(" s"),
        )
        .labelled_by(label.id);
    });
}

/// The decoder kinds the options offer, in order, with their labels.
const DECODER_CHOICES: [(&str, &str); 7] = [
    ("auto", "Auto (from the handshake)"),
    ("json", "JSON"),
    ("msgpack", "MessagePack"),
    ("cbor", "CBOR"),
    ("protobuf", "Protobuf"),
    ("socketio", "Socket.IO"),
    ("graphql-ws", "GraphQL over WebSocket"),
];

/// Payload decoders, one per direction: auto (Socket.IO from `EIO=` in the URL, GraphQL
/// from the subprotocol agreed; else none), a format, or a protocol; a protobuf decoder's
/// `.proto` file (or compiled descriptor set), message type and import folders.
fn decoding_ui(
    ui: &mut Ui,
    decoders: &mut DirectionalDecoders,
    checks: &mut Vec<(Decoder, Result<(), String>)>,
    palette: &Palette,
) {
    heading_ui(ui, "Decoding");
    ui.label(
        RichText::new(
            "How the log, its filter and the payload pane read payloads. Auto: Socket.IO \
             when the URL has EIO=4, GraphQL when the server agrees to graphql-transport-ws \
             or graphql-ws; else as they are.",
        )
        .color(palette.weak),
    );
    let before = decoders.clone();
    decoder_ui(
        ui,
        "Received",
        "incoming",
        &mut decoders.incoming,
        checks,
        palette,
    );
    decoder_ui(
        ui,
        "Sent",
        "outgoing",
        &mut decoders.outgoing,
        checks,
        palette,
    );
    if decoders.incoming != decoders.outgoing
        && ui
            .small_button("Same both ways")
            .on_hover_text("Decode sent messages with the decoder of received ones")
            .clicked()
    {
        decoders.outgoing = decoders.incoming.clone();
    }
    if *decoders != before {
        checks.retain(|(d, _)| {
            Some(d) == decoders.incoming.as_ref() || Some(d) == decoders.outgoing.as_ref()
        });
    }
}

fn decoder_ui(
    ui: &mut Ui,
    name: &str,
    salt: &str,
    decoder: &mut Option<Decoder>,
    checks: &mut Vec<(Decoder, Result<(), String>)>,
    palette: &Palette,
) {
    let current = decoder.as_ref().map_or("auto", Decoder::name);
    let mut chosen = current;
    ui.horizontal(|ui| {
        let label = label_cell(ui, name);
        let text = DECODER_CHOICES
            .iter()
            .find(|(key, _)| *key == current)
            .map_or("Auto", |(_, text)| *text);
        egui::ComboBox::from_id_salt(("decoder", salt))
            .selected_text(text)
            .width(200.0)
            .show_ui(ui, |ui| {
                for (key, text) in DECODER_CHOICES {
                    ui.selectable_value(&mut chosen, key, text);
                }
            })
            .response
            .labelled_by(label.id);
    });
    if chosen != current {
        *decoder = match chosen {
            "auto" => None,
            "protobuf" => Some(Decoder::Protobuf {
                source: ProtoSource::Proto {
                    file: Default::default(),
                    imports: Vec::new(),
                },
                message_type: String::new(),
            }),
            spec => Decoder::parse(spec).ok(),
        };
    }
    let Some(Decoder::Protobuf {
        source,
        message_type,
    }) = decoder
    else {
        return;
    };
    let (file, imports) = match source {
        ProtoSource::Proto { file, imports } => (file.clone(), imports.clone()),
        ProtoSource::DescriptorSet { file } => (file.clone(), Vec::new()),
    };
    let mut file_text = file.display().to_string();
    let mut imports_text = imports
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let mut changed = false;
    ui.horizontal(|ui| {
        let label = label_cell(ui, "  Schema");
        changed |= ui
            .add(
                egui::TextEdit::singleline(&mut file_text)
                    .id_salt(("proto-file", salt))
                    .hint_text(".proto file, or a compiled descriptor set")
                    .desired_width(field_width(ui, 0.0)),
            )
            .labelled_by(label.id)
            .changed();
    });
    ui.horizontal(|ui| {
        let label = label_cell(ui, "  Message type");
        ui.add(
            egui::TextEdit::singleline(message_type)
                .id_salt(("proto-type", salt))
                .hint_text("package.Message")
                .desired_width(field_width(ui, 0.0)),
        )
        .labelled_by(label.id);
    });
    ui.horizontal(|ui| {
        let label = label_cell(ui, "  Import folders");
        changed |= ui
            .add(
                egui::TextEdit::multiline(&mut imports_text)
                    .id_salt(("proto-imports", salt))
                    .hint_text("one per line (the file's own folder is searched last)")
                    .desired_rows(1)
                    .desired_width(field_width(ui, 0.0)),
            )
            .labelled_by(label.id)
            .changed();
    });
    if changed {
        let file = std::path::PathBuf::from(file_text.trim());
        *source = if file.extension().and_then(|e| e.to_str()) == Some("proto")
            || file.as_os_str().is_empty()
        {
            ProtoSource::Proto {
                file,
                imports: imports_text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(std::path::PathBuf::from)
                    .collect(),
            }
        } else {
            ProtoSource::DescriptorSet { file }
        };
    }
    let decoder = Decoder::Protobuf {
        source: source.clone(),
        message_type: message_type.clone(),
    };
    let file_given = match source {
        ProtoSource::Proto { file, .. } | ProtoSource::DescriptorSet { file } => {
            !file.as_os_str().is_empty()
        }
    };
    if !file_given || message_type.is_empty() {
        ui.label(RichText::new("Give the schema and the message type.").color(palette.warning));
        return;
    }
    // Loaded (the .proto compiled) once per change: a mistake shows with its file, line and
    // column.
    if !checks.iter().any(|(d, _)| *d == decoder) {
        let result = decoder.load().map(|_| ()).map_err(|e| e.to_string());
        checks.push((decoder.clone(), result));
        if checks.len() > 8 {
            let _ = checks.remove(0);
        }
    }
    match checks.iter().find(|(d, _)| *d == decoder).map(|(_, r)| r) {
        Some(Err(problem)) => {
            ui.add(
                egui::Label::new(RichText::new(format!("⚠ {problem}")).color(palette.error)).wrap(),
            );
        }
        Some(Ok(())) => {
            ui.label(RichText::new("Schema loaded.").color(palette.weak));
        }
        None => {}
    }
}
