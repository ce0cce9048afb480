#!/usr/bin/env bash
# Build Switchboard's Linux installers from source: the one-folder app (PyInstaller), a tarball
# and a .deb. Output in dist/. Usage: bash packaging/build-linux.sh   (after bash .ci/setup)
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=$(.venv/bin/python -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
DIST=dist
BUILD=build/pyinstaller

for tool in readelf strip as ld; do   # binutils: PyInstaller strips with it; build.spec rebuilds ICU's data with it
  command -v "$tool" >/dev/null || { echo "build-linux.sh: '$tool' not found: install binutils" >&2; exit 1; }
done
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[build]" 2> >(grep -v "is ignored: it is neither" >&2)
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath "$DIST" --workpath "$BUILD" build.spec \
  2> >(grep -v "required via ctypes not found" >&2)
SIZE_MB=$(du -sm "$DIST/switchboard" | cut -f1)   # MiB, rounded up
echo "app: $DIST/switchboard ($SIZE_MB MB unpacked; budget 120)"
if [ "$SIZE_MB" -gt 120 ]; then
  echo "build-linux.sh: over the 120 MB size budget; see build.spec for what is trimmed and why" >&2
  exit 1
fi

tar czf "$DIST/switchboard-$VERSION-linux-$(uname -m).tar.gz" -C "$DIST" switchboard
echo "tarball: $DIST/switchboard-$VERSION-linux-$(uname -m).tar.gz ($(du -sm "$DIST"/switchboard-*.tar.gz | cut -f1) MB)"

# .deb: the app in /opt/switchboard, `switchboard` on PATH, a desktop entry and icons.
# Removing the package leaves the user's config, log and keychain entries alone (they live in
# the user's home and keychain, which the package never touches).
PKG=$(mktemp -d)
trap 'rm -rf "$PKG"' EXIT
mkdir -p "$PKG/opt" "$PKG/usr/bin" "$PKG/usr/share/applications" "$PKG/DEBIAN"
cp -a "$DIST/switchboard" "$PKG/opt/switchboard"
ln -s /opt/switchboard/switchboard "$PKG/usr/bin/switchboard"
for size in 16 32 64 256; do
  dir="$PKG/usr/share/icons/hicolor/${size}x${size}/apps"
  mkdir -p "$dir"
  src=resources/icons/switchboard-$size.png
  [ "$size" = 64 ] && src=resources/icons/switchboard.png
  cp "$src" "$dir/switchboard.png"
done
cat > "$PKG/usr/share/applications/switchboard.desktop" <<DESKTOP
[Desktop Entry]
Type=Application
Name=Switchboard
GenericName=AI model gateway
Comment=Your own AI model gateway on localhost
Exec=switchboard
Icon=switchboard
Terminal=false
Categories=Development;
Keywords=AI;LLM;OpenAI;Anthropic;proxy;gateway;
StartupNotify=false
DESKTOP
cat > "$PKG/DEBIAN/control" <<CONTROL
Package: switchboard
Version: $VERSION
Architecture: $ARCH
Maintainer: Switchboard developers <dev@switchboard.invalid>
Depends: libc6 (>= 2.34), libegl1, libgl1, libfontconfig1, libxkbcommon0, libdbus-1-3
Recommends: gnome-keyring | kwalletmanager
Section: devel
Priority: optional
Installed-Size: $(du -sk "$PKG" | cut -f1)
Description: Your own AI model gateway, in the system tray
 A local OpenAI- and Anthropic-compatible endpoint that routes requests to the
 providers you configure, with keys kept in the OS keychain and every request
 logged on your machine.
CONTROL
dpkg-deb --build --root-owner-group -Zgzip "$PKG" "$DIST/switchboard_${VERSION}_$ARCH.deb" >/dev/null
echo "deb: $DIST/switchboard_${VERSION}_$ARCH.deb ($(du -sm "$DIST/switchboard_${VERSION}_$ARCH.deb" | cut -f1) MB)"
