//! ws-inspector: the desktop WebSocket inspector. This is only the launcher: it parses the
//! arguments, starts the log, and opens the window with its icon; everything else is in the
//! library.

// A release build on Windows opens no console window.
#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

use ws_inspector::cli::{Args, VERSION};
use ws_inspector::logging::Logger;

/// The window icon: the 128 px render of `assets/ws-inspector.svg`
/// (`packaging/render-icons.sh`).
const ICON_PNG: &[u8] = include_bytes!("../../assets/icons/ws-inspector-128.png");

fn main() -> std::process::ExitCode {
    // `--help` and `--version` print and exit 0; a mistake is said on stderr, exit 2.
    let args = Args::parse(std::env::args().skip(1)).unwrap_or_else(|e| e.exit());
    let state_dir = args.state_dir();
    Logger::new(state_dir.as_deref(), args.verbose).install();
    log::info!(
        "ws-inspector {VERSION} starting; state folder {}",
        state_dir
            .as_deref()
            .map_or("(none)".into(), |d| d.display().to_string())
    );
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("ws-inspector")
        .with_app_id("ws-inspector")
        .with_inner_size([1440.0, 900.0])
        .with_min_inner_size([820.0, 520.0]);
    match eframe::icon_data::from_png_bytes(ICON_PNG) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(e) => log::warn!("the window icon does not decode: {e}"),
    }
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        viewport,
        persist_window: true,
        persistence_path: args.state_file(),
        ..Default::default()
    };
    let result = eframe::run_native(
        "ws-inspector",
        options,
        Box::new(move |cc| Ok(Box::new(ws_inspector::WsInspectorApp::new(cc, args)?))),
    );
    match result {
        Ok(()) => {
            log::info!("ws-inspector closed");
            log::logger().flush();
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            log::error!("{e}");
            log::logger().flush();
            eprintln!("ws-inspector: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
