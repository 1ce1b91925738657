#!/usr/bin/env bash
# macOS: build "Ingest Desk.app" with packaging/ingest-desk.spec, self-test it, wrap it in a .dmg,
# and sign/notarise/staple when the signing variables are set (each step says when it skips).
#
#   packaging/macos/build.sh            -> dist/Ingest Desk.app, dist/IngestDesk-<version>-macos-<arch>.dmg
#
# Signing (all optional; see packaging/README.md):
#   MACOS_SIGN_IDENTITY          "Developer ID Application: Example Corp (TEAMID1234)"
#   MACOS_CERTIFICATE_P12_BASE64 + MACOS_CERTIFICATE_PASSWORD
#                                import that identity into a throwaway keychain first (CI)
#   Notarisation, one of:
#     MACOS_NOTARY_PROFILE       a profile saved with `xcrun notarytool store-credentials`
#     MACOS_NOTARY_KEY_PATH + MACOS_NOTARY_KEY_ID + MACOS_NOTARY_ISSUER   App Store Connect API key
#     MACOS_NOTARY_APPLE_ID + MACOS_NOTARY_TEAM_ID + MACOS_NOTARY_PASSWORD (app-specific password)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

if [[ "$(uname -s)" != Darwin ]]; then
    echo "error: packaging/macos/build.sh runs on macOS (iconutil, codesign, hdiutil)" >&2
    exit 2
fi
"$PYTHON" -c "import PyInstaller" 2>/dev/null || "$PYTHON" -m pip install --quiet "pyinstaller>=6"

VERSION="$("$PYTHON" -c 'import app; print(app.__version__)')"
ARCH="$(uname -m)"
APP="dist/Ingest Desk.app"
DMG="dist/IngestDesk-${VERSION}-macos-${ARCH}.dmg"

echo "== icons (.icns via iconutil)"
"$PYTHON" packaging/make_icons.py

echo "== PyInstaller"
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/ingest-desk.spec
plutil -lint "$APP/Contents/Info.plist"

echo "== self-test of the frozen app"
# The windowed executable inside the .app still writes to the terminal it is started from.
QT_QPA_PLATFORM=offscreen "$APP/Contents/MacOS/ingest-desk" --self-test

# --- signing ----------------------------------------------------------------------------------
KEYCHAIN=""
cleanup() { [[ -n "$KEYCHAIN" ]] && security delete-keychain "$KEYCHAIN" 2>/dev/null || true; }
trap cleanup EXIT

if [[ -n "${MACOS_CERTIFICATE_P12_BASE64:-}" ]]; then
    echo "== importing the signing certificate into a temporary keychain"
    KEYCHAIN="${TMPDIR:-/tmp}/ingest-desk-signing.keychain-db"
    KEYCHAIN_PASSWORD="$(uuidgen)"
    P12="$(mktemp -t ingest-desk-cert).p12"
    echo "$MACOS_CERTIFICATE_P12_BASE64" | base64 --decode > "$P12"
    security create-keychain -p "$KEYCHAIN_PASSWORD" "$KEYCHAIN"
    security set-keychain-settings -lut 21600 "$KEYCHAIN"
    security unlock-keychain -p "$KEYCHAIN_PASSWORD" "$KEYCHAIN"
    security import "$P12" -P "${MACOS_CERTIFICATE_PASSWORD:-}" -A -t cert -f pkcs12 -k "$KEYCHAIN"
    security set-key-partition-list -S apple-tool:,apple: -s -k "$KEYCHAIN_PASSWORD" "$KEYCHAIN"
    security list-keychains -d user -s "$KEYCHAIN" $(security list-keychains -d user | tr -d '"')
    rm -f "$P12"
fi

SIGNED=0
if [[ -n "${MACOS_SIGN_IDENTITY:-}" ]]; then
    echo "== codesign (hardened runtime, secure timestamp)"
    # PyInstaller 6 lays the .app out so that every nested Mach-O can be signed in place;
    # --deep signs them all with the same identity, entitlements and runtime flag.
    codesign --force --deep --timestamp --options runtime \
        --entitlements packaging/macos/entitlements.plist \
        --sign "$MACOS_SIGN_IDENTITY" "$APP"
    codesign --verify --deep --strict --verbose=2 "$APP"
    SIGNED=1
else
    echo "skipping code signing: MACOS_SIGN_IDENTITY is not set (the app stays ad-hoc signed;"
    echo "Gatekeeper will ask users to confirm the first start)"
fi

echo "== dmg"
STAGING="$(mktemp -d)"
cp -R "$APP" "$STAGING/"
ln -s /Applications "$STAGING/Applications"
rm -f "$DMG"
hdiutil create -volname "Ingest Desk" -srcfolder "$STAGING" -fs HFS+ -format UDZO -ov "$DMG"
rm -rf "$STAGING"
if [[ "$SIGNED" == 1 ]]; then
    codesign --force --timestamp --sign "$MACOS_SIGN_IDENTITY" "$DMG"
fi

# --- notarisation -----------------------------------------------------------------------------
NOTARY=()
if [[ -n "${MACOS_NOTARY_PROFILE:-}" ]]; then
    NOTARY=(--keychain-profile "$MACOS_NOTARY_PROFILE")
elif [[ -n "${MACOS_NOTARY_KEY_PATH:-}" && -n "${MACOS_NOTARY_KEY_ID:-}" && -n "${MACOS_NOTARY_ISSUER:-}" ]]; then
    NOTARY=(--key "$MACOS_NOTARY_KEY_PATH" --key-id "$MACOS_NOTARY_KEY_ID" --issuer "$MACOS_NOTARY_ISSUER")
elif [[ -n "${MACOS_NOTARY_APPLE_ID:-}" && -n "${MACOS_NOTARY_TEAM_ID:-}" && -n "${MACOS_NOTARY_PASSWORD:-}" ]]; then
    NOTARY=(--apple-id "$MACOS_NOTARY_APPLE_ID" --team-id "$MACOS_NOTARY_TEAM_ID"
            --password "$MACOS_NOTARY_PASSWORD")
fi

if [[ "$SIGNED" == 1 && ${#NOTARY[@]} -gt 0 ]]; then
    echo "== notarytool submit (waits for Apple's verdict)"
    xcrun notarytool submit "$DMG" "${NOTARY[@]}" --wait --timeout 45m
    echo "== stapler"
    # The ticket goes on the .dmg (offline Gatekeeper checks); the same ticket covers the nested
    # .app, so dist/'s copy is stapled too for anyone shipping it zipped instead.
    xcrun stapler staple "$DMG"
    xcrun stapler staple "$APP" || echo "note: could not staple $APP (the .dmg is stapled)"
    xcrun stapler validate "$DMG"
    spctl --assess --type open --context context:primary-signature --verbose "$DMG" || true
elif [[ "$SIGNED" == 1 ]]; then
    echo "skipping notarisation: set MACOS_NOTARY_PROFILE, the MACOS_NOTARY_KEY_* trio or"
    echo "MACOS_NOTARY_APPLE_ID/TEAM_ID/PASSWORD"
else
    echo "skipping notarisation: the app is not signed"
fi

echo "built $APP and $DMG ($(du -sh "$APP" | cut -f1) app, $(du -h "$DMG" | cut -f1) dmg)"
