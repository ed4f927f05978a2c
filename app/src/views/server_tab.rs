//! The tabs that listen: a [`ListenTab`] or a [`RelayTab`], side by side with the
//! connection tabs.

use egui::Ui;
use ws_inspector_core::capture::merge::Part;
use ws_inspector_core::profiles::{Profile, ProfileStore};
use ws_inspector_core::{Net, Notify};
use ws_tokio::ws_proto::ReadyState;

use super::listener::ListenTab;
use super::relay::RelayTab;

/// A listen or relay tab.
#[derive(Debug)]
pub enum ServerTab {
    /// A listener.
    Listen(Box<ListenTab>),
    /// A relay.
    Relay(Box<RelayTab>),
}

impl ServerTab {
    /// The tab's title.
    pub fn title(&self) -> String {
        match self {
            Self::Listen(tab) => tab.title(),
            Self::Relay(tab) => tab.title(),
        }
    }

    /// The URL clients connect to, once listening.
    pub fn url(&self) -> Option<String> {
        match self {
            Self::Listen(tab) => tab.url(),
            Self::Relay(tab) => tab.url(),
        }
    }

    /// OPEN while listening.
    pub fn ready_state(&self) -> Option<ReadyState> {
        match self {
            Self::Listen(tab) => tab.ready_state(),
            Self::Relay(tab) => tab.ready_state(),
        }
    }

    /// Whether a client is connected.
    pub fn live(&self) -> bool {
        match self {
            Self::Listen(tab) => tab.live(),
            Self::Relay(tab) => tab.live(),
        }
    }

    /// Every session of the tab, numbered as `wsi listen` / `wsi relay` number their
    /// clients (from 1), each relayed client's two legs marked: what Save capture writes.
    pub fn capture_parts(&self) -> Vec<Part<'_>> {
        match self {
            Self::Listen(tab) => tab.capture_parts(),
            Self::Relay(tab) => tab.capture_parts(),
        }
    }

    /// The tab as a profile to save (named after the tab), once "Save as profile" was
    /// pressed; then `None` until it is pressed again.
    pub fn take_profile_to_save(&mut self, profiles: &ProfileStore) -> Option<Profile> {
        match self {
            Self::Listen(tab) => std::mem::take(&mut tab.save_requested).then(|| {
                let at = tab.url().unwrap_or_else(|| tab.addr.clone());
                tab.to_profile(&format!("Listener {at}"))
            }),
            Self::Relay(tab) => std::mem::take(&mut tab.save_requested).then(|| {
                let name = format!("Relay to {}", tab.upstream.trim());
                tab.to_profile(&name, profiles)
            }),
        }
    }

    /// Shows the tab.
    pub fn ui(&mut self, ui: &mut Ui, net: &Net, profiles: &ProfileStore, notify: &Notify) {
        match self {
            Self::Listen(tab) => tab.ui(ui, net, notify),
            Self::Relay(tab) => tab.ui(ui, net, profiles, notify),
        }
    }
}
