#!/usr/bin/env bash
# Builds the Debian package: target/debian/ws-inspector_VERSION-1_ARCH.deb, with both
# binaries (ws-inspector, wsi), the desktop entry, the icon in the hicolor sizes, the man
# pages, bash/zsh/fish completions for wsi, and the licences; then checks it.
#
#     packaging/build-deb.sh            # needs cargo-deb: cargo install --locked cargo-deb
#
# The man pages and completions come from wsi itself (`wsi man DIR`, `wsi completions
# SHELL`), run here at package-build time into packaging/generated/ (git-ignored), where the
# assets of [package.metadata.deb] in app/Cargo.toml find them. The check (packaging/check-deb.sh)
# validates the desktop entry and looks for each part in `dpkg-deb --contents`.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-deb >/dev/null || {
    echo "build-deb: cargo-deb is missing (cargo install --locked cargo-deb)" >&2
    exit 1
}
cargo build --release --locked -p ws-inspector -p wsi
wsi="${CARGO_TARGET_DIR:-target}/release/wsi"

gen=packaging/generated
rm -rf "$gen"
mkdir -p "$gen/man" "$gen/completions"
"$wsi" man "$gen/man" >/dev/null
"$wsi" completions bash >"$gen/completions/wsi.bash"
"$wsi" completions zsh >"$gen/completions/_wsi"
"$wsi" completions fish >"$gen/completions/wsi.fish"

# Built above: cargo-deb only packs (and compresses the man pages).
deb=$(cargo deb -p ws-inspector --no-build --no-strip | tail -n 1)
echo "build-deb: $deb"
packaging/check-deb.sh "$deb"
