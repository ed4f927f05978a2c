//! The packaging's files, checked without building a package: the icon's PNGs exist at each
//! size and are what the SVG renders to at that size, the window icon decodes, the desktop
//! entry has what the menu needs, and the Debian package's assets list every icon size.
//! (`packaging/build-deb.sh` builds and checks the package itself; CI runs
//! `desktop-file-validate` on the entry.)

use std::path::{Path, PathBuf};

/// The sizes `packaging/render-icons.sh` renders.
const SIZES: [u32; 9] = [16, 22, 24, 32, 48, 64, 128, 256, 512];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The width and height in a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

/// The value of `name="…"` in the SVG's root element.
fn svg_attribute(svg: &str, name: &str) -> String {
    let root = &svg[svg.find("<svg").expect("an <svg> element")..];
    let root = &root[..root.find('>').unwrap()];
    let key = format!(" {name}=\"");
    let start = root.find(&key).unwrap_or_else(|| panic!("no {name}")) + key.len();
    root[start..][..root[start..].find('"').unwrap()].to_owned()
}

#[test]
fn icon_pngs_are_the_svg_at_each_size() {
    let svg = std::fs::read_to_string(repo().join("assets/ws-inspector.svg")).unwrap();
    // A square drawing: each PNG is the SVG rendered to SIZE×SIZE, with no padding added.
    let view_box: Vec<f64> = svg_attribute(&svg, "viewBox")
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(view_box.len(), 4);
    assert_eq!(view_box[2], view_box[3], "the icon's viewBox is square");
    assert_eq!(svg_attribute(&svg, "width"), svg_attribute(&svg, "height"));
    for size in SIZES {
        let path = repo().join(format!("assets/icons/ws-inspector-{size}.png"));
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (packaging/render-icons.sh)", path.display()));
        assert_eq!(png_size(&bytes), (size, size), "{}", path.display());
    }
}

#[test]
fn window_icon_decodes() {
    let bytes = std::fs::read(repo().join("assets/icons/ws-inspector-128.png")).unwrap();
    let icon = eframe::icon_data::from_png_bytes(&bytes).expect("the window icon decodes");
    assert_eq!((icon.width, icon.height), (128, 128));
    // Not blank: the mark is opaque in the middle and transparent in the corner.
    let alpha = |x: u32, y: u32| icon.rgba[((y * icon.width + x) * 4 + 3) as usize];
    assert_eq!(alpha(64, 64), 255);
    assert_eq!(alpha(0, 0), 0);
}

#[test]
fn desktop_entry_has_what_the_menu_needs() {
    let entry = std::fs::read_to_string(repo().join("packaging/ws-inspector.desktop")).unwrap();
    let lines: Vec<&str> = entry.lines().collect();
    assert_eq!(lines[0], "[Desktop Entry]");
    for line in [
        "Type=Application",
        "Name=ws-inspector",
        "Exec=ws-inspector %u",
        "Icon=ws-inspector",
        "Terminal=false",
        "Categories=Development;Network;",
    ] {
        assert!(lines.contains(&line), "the desktop entry lacks {line:?}");
    }
    assert!(lines.iter().any(|l| l.starts_with("Comment=")));
}

#[test]
fn package_assets_list_every_icon_size() {
    let manifest = std::fs::read_to_string(repo().join("app/Cargo.toml")).unwrap();
    for size in SIZES {
        let asset = format!(
            "[\"../assets/icons/ws-inspector-{size}.png\", \
             \"usr/share/icons/hicolor/{size}x{size}/apps/ws-inspector.png\", \"644\"]"
        );
        assert!(manifest.contains(&asset), "app/Cargo.toml lacks {asset}");
    }
    let script = std::fs::read_to_string(repo().join("packaging/render-icons.sh")).unwrap();
    let sizes = SIZES.map(|s| s.to_string()).join(" ");
    assert!(
        script.contains(&format!("SIZES=({sizes})")),
        "render-icons.sh renders other sizes"
    );
}
