#!/usr/bin/env bash
# Build Switchboard.app (LSUIElement: a menu-bar app with no Dock icon) and a .dmg on macOS.
# Run from the repo root after `pip install -e ".[build]"`; used by .github/workflows/installers.yml.
set -euo pipefail
VERSION=$(python -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")
pyinstaller --noconfirm --clean build.spec
STAGE=$(mktemp -d)
cp -R dist/Switchboard.app "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname Switchboard -srcfolder "$STAGE" -ov -format UDZO "dist/Switchboard-$VERSION.dmg"
echo "dmg: dist/Switchboard-$VERSION.dmg"
