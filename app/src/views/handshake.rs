//! The handshake view: the upgrade request as sent and the response as received (header
//! tables and raw text), what was negotiated, TLS details, and for a failed upgrade the
//! status, headers, body and a plain-language reason.

use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};

use super::{Palette, format_datetime, header_table_ui, heading_ui};
use ws_inspector_core::session::{SessionState, header_pairs};

/// The handshake view's settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HandshakeView {
    /// Show raw request and response text under the header tables.
    pub show_raw: bool,
}

impl HandshakeView {
    /// Shows the handshake of `session` (or a hint when there is none yet).
    pub fn ui(&mut self, ui: &mut Ui, session: Option<&SessionState>) {
        let palette = Palette::of(ui);
        let Some(s) = session else {
            ui.add_space(8.0);
            ui.label(
                RichText::new(
                    "Connect to see the upgrade request and response, what was negotiated \
                     and the TLS session.",
                )
                .color(palette.weak),
            );
            return;
        };
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.show_raw, "Raw text");
        });
        // Both ways: long header values and certificates never widen the panel past its
        // size (they pushed it under the log in a small window).
        egui::ScrollArea::both()
            .id_salt("handshake-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                self.contents_ui(ui, s, &palette);
            });
    }

    fn contents_ui(&mut self, ui: &mut Ui, s: &SessionState, palette: &Palette) {
        if let Some(failure) = &s.handshake.failure {
            egui::Frame::new()
                .fill(palette.error.gamma_multiply(0.12))
                .stroke(egui::Stroke::new(1.0, palette.error))
                .corner_radius(4.0)
                .inner_margin(8.0)
                .show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.label(
                        RichText::new("The connection could not be opened")
                            .strong()
                            .color(palette.error),
                    );
                    if !failure.explanation.is_empty() {
                        ui.add(egui::Label::new(failure.explanation.as_str()).wrap());
                    }
                    // The reason as ws-tokio words it, unless the explanation already says it.
                    if !failure.reason.is_empty()
                        && !failure.explanation.contains(failure.reason.as_str())
                    {
                        ui.add(
                            egui::Label::new(
                                RichText::new(failure.reason.as_str()).color(palette.weak),
                            )
                            .wrap(),
                        );
                    }
                });
            if let Some(status) = failure.status {
                heading_ui(ui, "Response (refused)");
                let status_text = format!(
                    "{} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("")
                );
                ui.horizontal(|ui| {
                    ui.label("Status");
                    ui.label(
                        RichText::new(status_text.trim_end())
                            .strong()
                            .monospace()
                            .color(palette.error),
                    );
                });
                header_table_ui(ui, "failed-headers", &failure.headers);
                if self.show_raw {
                    let mut raw = format!("HTTP/1.1 {status_text}\r\n");
                    for (name, value) in &failure.headers {
                        raw.push_str(&format!("{name}: {value}\r\n"));
                    }
                    raw_ui(ui, "failed-raw", &raw);
                }
            }
            if let Some(body) = &failure.body {
                heading_ui(ui, &format!("Body ({} bytes)", body.len()));
                let text = String::from_utf8_lossy(body);
                egui::Frame::new()
                    .fill(ui.visuals().extreme_bg_color)
                    .inner_margin(6.0)
                    .corner_radius(4.0)
                    .show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        ui.add(egui::Label::new(RichText::new(text.as_ref()).monospace()).wrap());
                    });
                if ui.small_button("Copy body").clicked() {
                    ui.ctx().copy_text(text.into_owned());
                }
            }
            ui.separator();
        }

        heading_ui(ui, "Connection");
        egui::Grid::new("conn-grid")
            .num_columns(2)
            .spacing([12.0, 2.0])
            .show(ui, |ui| {
                ui.label("URL");
                ui.label(RichText::new(&s.url).monospace());
                ui.end_row();
                if let Some((local, peer, proxy)) = &s.handshake.tcp {
                    ui.label("TCP");
                    ui.label(RichText::new(format!("{local} → {peer}")).monospace());
                    ui.end_row();
                    if let Some(proxy) = proxy {
                        ui.label("Proxy");
                        ui.label(RichText::new(proxy).monospace());
                        ui.end_row();
                    }
                }
                ui.label("readyState");
                ui.label(RichText::new(s.history_steps()).monospace());
                ui.end_row();
                ui.label("Subprotocol");
                ui.label(
                    RichText::new(s.handshake.protocol.as_deref().unwrap_or("(none)")).monospace(),
                );
                ui.end_row();
                ui.label("Extensions");
                let extensions = if s.handshake.extensions.is_empty() {
                    "(none)".to_owned()
                } else {
                    s.handshake.extensions.join(", ")
                };
                ui.label(RichText::new(extensions).monospace());
                ui.end_row();
                compression_rows_ui(ui, s);
            });

        if let Some((request, raw)) = &s.handshake.request {
            ui.separator();
            heading_ui(
                ui,
                if s.handshake.server_side {
                    "Request (as received)"
                } else {
                    "Request (as sent)"
                },
            );
            let path = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            ui.label(
                RichText::new(format!("GET {path} HTTP/1.1"))
                    .monospace()
                    .strong(),
            );
            header_table_ui(ui, "request-headers", &header_pairs(request.headers()));
            if self.show_raw {
                raw_ui(ui, "request-raw", &String::from_utf8_lossy(raw));
            }
        }
        if let Some((response, raw)) = &s.handshake.response {
            ui.separator();
            heading_ui(
                ui,
                if s.handshake.server_side {
                    "Response (as sent)"
                } else {
                    "Response (as received)"
                },
            );
            let status = response.status();
            ui.label(
                RichText::new(format!(
                    "HTTP/1.1 {} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("")
                ))
                .monospace()
                .strong()
                .color(palette.outgoing),
            );
            header_table_ui(ui, "response-headers", &header_pairs(response.headers()));
            if self.show_raw {
                raw_ui(ui, "response-raw", &String::from_utf8_lossy(raw));
            }
        }
        if let Some(tls) = &s.handshake.tls {
            ui.separator();
            heading_ui(ui, "TLS");
            egui::Grid::new("tls-grid")
                .num_columns(2)
                .spacing([12.0, 2.0])
                .show(ui, |ui| {
                    ui.label("Version");
                    ui.label(RichText::new(&tls.version).monospace());
                    ui.end_row();
                    ui.label("Cipher suite");
                    ui.label(RichText::new(&tls.cipher_suite).monospace());
                    ui.end_row();
                    ui.label("ALPN");
                    ui.label(RichText::new(tls.alpn.as_deref().unwrap_or("(none)")).monospace());
                    ui.end_row();
                    ui.label("Server name");
                    ui.label(RichText::new(&tls.server_name).monospace());
                    ui.end_row();
                });
            for (i, cert) in tls.peer_certificates.iter().enumerate() {
                let title = if i == 0 {
                    "Server certificate".to_owned()
                } else {
                    format!("Chain certificate {i}")
                };
                egui::CollapsingHeader::new(title)
                    .id_salt(("cert", i))
                    .default_open(i == 0)
                    .show(ui, |ui| {
                        egui::Grid::new(("cert-grid", i))
                            .num_columns(2)
                            .spacing([12.0, 2.0])
                            .show(ui, |ui| {
                                ui.label("Subject");
                                ui.add(
                                    egui::Label::new(RichText::new(&cert.subject).monospace())
                                        .wrap(),
                                );
                                ui.end_row();
                                ui.label("Issuer");
                                ui.add(
                                    egui::Label::new(RichText::new(&cert.issuer).monospace())
                                        .wrap(),
                                );
                                ui.end_row();
                                ui.label("Valid from");
                                ui.label(RichText::new(&cert.not_before).monospace());
                                ui.end_row();
                                ui.label("Valid until");
                                ui.label(RichText::new(&cert.not_after).monospace());
                                ui.end_row();
                                if !cert.subject_alt_names.is_empty() {
                                    ui.label("Names");
                                    ui.add(
                                        egui::Label::new(
                                            RichText::new(cert.subject_alt_names.join(", "))
                                                .monospace(),
                                        )
                                        .wrap(),
                                    );
                                    ui.end_row();
                                }
                            });
                    });
            }
        }
        if let Some((since, _)) = s.opened {
            ui.separator();
            ui.label(
                RichText::new(format!("Opened {}", format_datetime(since))).color(palette.weak),
            );
        }
    }
}

/// Raw HTTP text in a read-only, selectable monospace box with a copy button.
fn raw_ui(ui: &mut Ui, id: &str, raw: &str) {
    let shown = raw.replace("\r\n", "\n");
    let mut text = shown.as_str();
    ui.add(
        egui::TextEdit::multiline(&mut text)
            .id_salt(id)
            .code_editor()
            .desired_width(f32::INFINITY)
            .desired_rows(4),
    );
    if ui.small_button("Copy raw").clicked() {
        ui.ctx().copy_text(raw.to_owned());
    }
}

/// The "Compression" rows of the connection grid: whether permessage-deflate was offered and
/// agreed, and the parameters agreed (RFC 7692 §7.1).
fn compression_rows_ui(ui: &mut Ui, s: &SessionState) {
    let handshake = &s.handshake;
    ui.label("Compression");
    let summary = match (&handshake.deflate, handshake.deflate_offered) {
        (Some(_), _) => "permessage-deflate".to_owned(),
        (None, false) => "off (not offered)".to_owned(),
        (None, true) if handshake.response.is_some() => "offered, declined by the server".into(),
        (None, true) => "offered".to_owned(),
    };
    ui.label(RichText::new(summary).monospace());
    ui.end_row();
    let Some(params) = &handshake.deflate else {
        return;
    };
    let window = |bits: Option<u8>| match bits {
        Some(bits) => format!("{bits} bits ({} KiB)", (1u32 << bits) / 1024),
        None => "15 bits (32 KiB)".to_owned(),
    };
    let takeover = |off: bool| {
        if off {
            "no context takeover (reset after each message)"
        } else {
            "context takeover"
        }
    };
    for (name, value) in [
        ("  server window", window(params.server_max_window_bits)),
        ("  client window", window(params.client_max_window_bits)),
        (
            "  server",
            takeover(params.server_no_context_takeover).to_owned(),
        ),
        (
            "  client",
            takeover(params.client_no_context_takeover).to_owned(),
        ),
        ("  agreed", params.to_string()),
    ] {
        ui.label(name);
        ui.label(RichText::new(value).monospace());
        ui.end_row();
    }
}
