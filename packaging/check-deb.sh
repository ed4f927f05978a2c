#!/usr/bin/env bash
# Checks a built ws-inspector .deb: its control fields (`dpkg-deb --info`), each part in
# `dpkg-deb --contents`, and the packed desktop entry with desktop-file-validate.
#
#     packaging/check-deb.sh target/debian/ws-inspector_*.deb
set -euo pipefail
deb=${1:?usage: check-deb.sh FILE.deb}

info=$(dpkg-deb --info "$deb")
contents=$(dpkg-deb --contents "$deb")
echo "$info"
echo "$contents"

fail=0
need_info() {
    grep -qE "$1" <<<"$info" || { echo "check-deb: --info lacks $1" >&2; fail=1; }
}
need() {
    grep -qE " \./$1\$" <<<"$contents" || { echo "check-deb: --contents lacks $1" >&2; fail=1; }
}
need_info '^ Package: ws-inspector$'
need_info '^ Depends: .*libc6'
need_info '^ Section: net$'
need usr/bin/ws-inspector
need usr/bin/wsi
need usr/share/applications/ws-inspector.desktop
need usr/share/icons/hicolor/scalable/apps/ws-inspector.svg
for size in 16 22 24 32 48 64 128 256 512; do
    need "usr/share/icons/hicolor/${size}x${size}/apps/ws-inspector.png"
done
need usr/share/man/man1/ws-inspector.1.gz
need usr/share/man/man1/wsi.1.gz
need usr/share/man/man1/wsi-connect.1.gz
need usr/share/bash-completion/completions/wsi
need usr/share/zsh/vendor-completions/_wsi
need usr/share/fish/vendor_completions.d/wsi.fish
need usr/share/doc/ws-inspector/copyright
need usr/share/doc/ws-inspector/LICENSE-MIT
need usr/share/doc/ws-inspector/LICENSE-APACHE

# The desktop entry as packed (not only the one in the tree).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./usr/share/applications/ws-inspector.desktop
desktop-file-validate "$tmp/usr/share/applications/ws-inspector.desktop" || fail=1

if [ "$fail" -ne 0 ]; then
    echo "check-deb: $deb is incomplete" >&2
    exit 1
fi
echo "check-deb: $deb has every part"
