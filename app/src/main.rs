//! ws-inspector: the desktop WebSocket debugger. The window lands with the inspector work.

fn main() {
    eprintln!("ws-inspector: the desktop window is not built yet; see README.md");
    std::process::exit(2);
}
