#!/usr/bin/env bash
# Renders a timeline page to PNG in headless Chromium (installed from Debian's packages if it
# is missing) and checks that the picture is not empty.
#
#   scripts/screenshot.sh PAGE.html OUT.png
set -euo pipefail
page=$1 out=$2
if ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1240,440 \
  --screenshot="$out" "file://$(realpath "$page")" 2>/dev/null
size=$(stat -c %s "$out")
if [ "$size" -lt 10000 ]; then
  echo "$out is only $size bytes: the page did not render" >&2
  exit 1
fi
echo "$out: $size bytes"
