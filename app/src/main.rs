//! ws-inspector: the desktop WebSocket inspector. This is only the launcher: it parses the
//! arguments and opens the window; everything else is in the library.

use ws_inspector::cli::{Args, USAGE};

fn main() -> std::process::ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("ws-inspector: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if args.help {
        print!("{USAGE}");
        return std::process::ExitCode::SUCCESS;
    }
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        viewport: egui::ViewportBuilder::default()
            .with_title("ws-inspector")
            .with_app_id("ws-inspector")
            .with_inner_size([1440.0, 900.0])
            .with_min_inner_size([820.0, 520.0]),
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
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ws-inspector: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
