#!/usr/bin/env bash
# Renders the icon's PNGs from the SVG: assets/ws-inspector.svg to
# assets/icons/ws-inspector-SIZE.png at each size the hicolor theme and the window use.
# The renderer is resvg (`cargo install --locked resvg`), or librsvg's rsvg-convert
# (Debian's librsvg2-bin) where resvg is missing; both are deterministic, so a re-run with
# the same renderer and an unchanged SVG changes no file. The PNGs are committed: neither
# the build nor the package needs a renderer.
set -euo pipefail
cd "$(dirname "$0")/.."

# The sizes: keep in step with app/tests/packaging.rs and [package.metadata.deb] in
# app/Cargo.toml.
SIZES=(16 22 24 32 48 64 128 256 512)

render() { # SIZE OUT.png
    if command -v resvg >/dev/null; then
        resvg --width "$1" --height "$1" assets/ws-inspector.svg "$2"
    elif command -v rsvg-convert >/dev/null; then
        rsvg-convert --width "$1" --height "$1" --output "$2" assets/ws-inspector.svg
    else
        echo "render-icons: no renderer (cargo install --locked resvg)" >&2
        exit 1
    fi
}
mkdir -p assets/icons
for size in "${SIZES[@]}"; do
    render "$size" "assets/icons/ws-inspector-$size.png"
done
ls -l assets/icons/
