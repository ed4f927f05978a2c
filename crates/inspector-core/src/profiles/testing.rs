//! Helpers for the profile tests: temporary folders and a sample profile.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::store::to_ron;
use super::{HeaderRow, Profile, ProfileStore};

/// A fresh folder under the system temp folder, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "ws-inspector-profiles-{}-{name}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        Self(path)
    }

    pub(crate) fn profiles(&self) -> PathBuf {
        self.0.join("profiles")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub(crate) fn names(store: &ProfileStore) -> Vec<&str> {
    store.profiles().iter().map(|p| p.name.as_str()).collect()
}

/// A folder with one profile file, so that it is not seeded.
pub(crate) fn store_with(tmp: &TempDir, profile: &Profile) -> ProfileStore {
    let dir = tmp.profiles();
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("first.ron"), to_ron(profile).unwrap()).unwrap();
    ProfileStore::open(dir)
}

pub(crate) fn sample() -> Profile {
    Profile {
        name: "Sample".into(),
        url: "wss://example.com/chat?room=1".into(),
        headers: vec![
            HeaderRow {
                enabled: true,
                name: "Authorization".into(),
                value: "Bearer abc".into(),
            },
            HeaderRow {
                enabled: false,
                name: "X-Off".into(),
                value: "1".into(),
            },
        ],
        origin: "https://example.com".into(),
        subprotocols: "chat, superchat".into(),
        proxy: "env".into(),
        connect_timeout_secs: 2.5,
        auto_pong: false,
        max_message_size: 1234,
        ..Profile::default()
    }
}
