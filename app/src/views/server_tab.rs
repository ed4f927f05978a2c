//! The tabs that listen: a [`ListenTab`] or a [`RelayTab`], side by side with the
//! connection tabs.

use egui::Ui;
use ws_inspector_core::profiles::ProfileStore;
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

    /// Shows the tab.
    pub fn ui(&mut self, ui: &mut Ui, net: &Net, profiles: &ProfileStore, notify: &Notify) {
        match self {
            Self::Listen(tab) => tab.ui(ui, net, notify),
            Self::Relay(tab) => tab.ui(ui, net, profiles, notify),
        }
    }
}
