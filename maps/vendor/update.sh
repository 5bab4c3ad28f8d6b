#!/usr/bin/env bash
# Re-vendor the Leaflet files the offline maps inline, from the npm registry (`npm pack`).
# Maintainers only: the files are committed, so installing the toolkit never runs this.
# Usage: bash maps/vendor/update.sh   (then review `git diff maps/vendor` and VENDOR.md)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fetch() {  # fetch NAME VERSION DEST FILE...
  local name="$1" version="$2" dest="$here/$3"; shift 3
  npm pack --silent "$name@$version" >/dev/null
  local tgz; tgz="$(ls -1 ./*.tgz | head -1)"
  echo "$name@$version sha256 $(sha256sum "$tgz" | cut -c1-64)"
  mkdir -p x && tar xzf "$tgz" -C x 2>/dev/null && rm -f "$tgz"
  rm -rf "$dest" && mkdir -p "$dest"
  for f in "$@"; do mkdir -p "$dest/$(dirname "$f")"; cp "x/package/$f" "$dest/$f"; done
  rm -rf x
}
fetch leaflet 1.9.4 leaflet dist/leaflet.js dist/leaflet.css dist/images/layers.png dist/images/layers-2x.png \
  dist/images/marker-icon.png dist/images/marker-icon-2x.png dist/images/marker-shadow.png LICENSE
fetch leaflet.fullscreen 3.0.0 leaflet.fullscreen Control.FullScreen.js Control.FullScreen.css icon-fullscreen.svg LICENSE
fetch leaflet-measure 2.1.7 leaflet-measure dist/leaflet-measure.min.js dist/leaflet-measure.css \
  dist/images/rulers.png dist/images/rulers_@2X.png dist/images/start.png dist/images/start_@2X.png \
  dist/images/cancel.png dist/images/cancel_@2X.png dist/images/check.png dist/images/check_@2X.png \
  dist/images/focus.png dist/images/focus_@2X.png dist/images/trash.png dist/images/trash_@2X.png LICENSE
fetch leaflet-minimap 3.6.1 leaflet-minimap dist/Control.MiniMap.min.js dist/Control.MiniMap.min.css \
  dist/images/toggle.svg dist/images/toggle.png LICENSE.txt
