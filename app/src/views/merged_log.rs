//! A relay's two legs in one log, in time order, with a Leg column: each row is an entry of
//! one leg's log (frame or event). The rows are kept as (leg, global index) and grow as the
//! legs' logs do, so a frame costs 16 bytes here and nothing is copied; an entry a leg's
//! bounded log has evicted shows as such. A click on a row opens it in its leg's own log
//! (payload, hex, every bit).

use egui::{Align, Layout, RichText, Sense, Ui};
use egui_extras::{Column, TableBuilder};
use ws_inspector_core::log::{Item, LogStore};
use ws_inspector_core::session::SessionState;

use super::frame_log::direction_text;
use super::{Palette, format_count, format_time};

/// The leg names, in the order of the legs given to [`MergedLog::ui`].
pub const LEGS: [&str; 2] = ["client <-> inspector", "inspector <-> server"];

/// The merged rows of one relayed client.
#[derive(Debug, Default)]
pub struct MergedLog {
    /// (leg, global index of the entry in that leg's log), in time order.
    rows: Vec<(u8, u64)>,
    /// Per leg, the index of the first entry not yet merged.
    seen: [u64; 2],
}

impl MergedLog {
    /// Shows both legs' logs as one; returns the (leg, index) of a row clicked.
    pub fn ui(&mut self, ui: &mut Ui, legs: [&SessionState; 2]) -> Option<(usize, u64)> {
        self.update([&legs[0].log, &legs[1].log]);
        let palette = Palette::of(ui);
        ui.label(
            RichText::new(format!(
                "{} entries of both legs, in time order · click a row to open it in its leg's log",
                format_count(self.rows.len() as u64)
            ))
            .color(palette.weak),
        );
        let mut clicked = None;
        ui.style_mut().interaction.selectable_labels = false;
        TableBuilder::new(ui)
            .id_salt("merged-log")
            .striped(true)
            .resizable(true)
            .sense(Sense::click())
            .stick_to_bottom(true)
            .cell_layout(Layout::left_to_right(Align::Center))
            .column(Column::initial(92.0).at_least(60.0))
            .column(Column::initial(150.0).at_least(80.0))
            .column(Column::initial(56.0).at_least(40.0))
            .column(Column::initial(84.0).at_least(50.0))
            .column(Column::initial(60.0).at_least(40.0))
            .column(Column::remainder().at_least(80.0))
            .header(22.0, |mut header| {
                for title in ["Time", "Leg", "Dir", "Opcode", "Length", "Preview"] {
                    header.col(|ui| {
                        ui.label(RichText::new(title).strong());
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, self.rows.len(), |mut row| {
                    let Some(&(leg, index)) = self.rows.get(row.index()) else {
                        return;
                    };
                    let log = &legs[usize::from(leg)].log;
                    let Some(entry) = log.by_index(index) else {
                        row.col(|ui| {
                            ui.label(RichText::new("(no longer kept)").color(palette.weak));
                        });
                        return;
                    };
                    row.col(|ui| {
                        ui.label(RichText::new(format_time(entry.time)).monospace());
                    });
                    row.col(|ui| {
                        ui.label(LEGS[usize::from(leg)]);
                    });
                    match &entry.item {
                        Item::Frame(frame) => {
                            let colour = palette.frame(frame.direction, frame.header.opcode);
                            row.col(|ui| {
                                ui.label(
                                    RichText::new(direction_text(frame.direction))
                                        .color(palette.direction(frame.direction)),
                                );
                            });
                            row.col(|ui| {
                                ui.label(
                                    RichText::new(frame.header.opcode.name())
                                        .monospace()
                                        .strong()
                                        .color(colour),
                                );
                            });
                            row.col(|ui| {
                                ui.label(
                                    RichText::new(format_count(frame.header.payload_len))
                                        .monospace(),
                                );
                            });
                            row.col(|ui| {
                                ui.label(
                                    RichText::new(frame.preview(160)).monospace().color(colour),
                                );
                            });
                        }
                        Item::Event(event) => {
                            row.col(|ui| {
                                ui.label(RichText::new("event").color(palette.event));
                            });
                            row.col(|ui| {
                                ui.label(RichText::new(event.name()).strong().color(palette.event));
                            });
                            row.col(|_| {});
                            row.col(|ui| {
                                ui.label(RichText::new(event.summary()).color(palette.event));
                            });
                        }
                    }
                    if row.response().clicked() {
                        clicked = Some((usize::from(leg), index));
                    }
                });
            });
        clicked
    }

    /// Takes in the entries the legs' logs got since the last call, in time order (the
    /// relay tab calls it every frame, whatever it shows).
    pub fn update(&mut self, logs: [&LogStore; 2]) {
        let mut fresh: Vec<(u64, u8, u64)> = Vec::new();
        for (leg, log) in logs.iter().enumerate() {
            let total = log.total_pushed();
            if total < self.seen[leg] {
                // The leg's log was cleared and made anew: start over.
                self.rows.clear();
                self.seen = [0, 0];
                return self.update(logs);
            }
            let from = self.seen[leg].max(log.first_index());
            if let Some(position) = log.position_of(from) {
                for entry in log.iter_from(position) {
                    fresh.push((time_key(&entry), leg as u8, entry.index));
                }
            }
            self.seen[leg] = total;
        }
        fresh.sort_by_key(|(time, _, _)| *time);
        self.rows
            .extend(fresh.into_iter().map(|(_, leg, index)| (leg, index)));
        // Rows whose entries both legs have evicted go, once they are most of the rows.
        let kept = logs[0].len() + logs[1].len();
        if self.rows.len() > 2 * kept.max(1024) {
            self.rows
                .retain(|(leg, index)| logs[usize::from(*leg)].by_index(*index).is_some());
        }
    }
}

/// An entry's wall-clock time, for ordering: nanoseconds since the epoch.
fn time_key(entry: &ws_inspector_core::log::Entry<'_>) -> u64 {
    entry
        .time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
