#!/usr/bin/env bash
# Screenshots of the built site's front page and API page, in headless Chromium,
# to look at the site as a browser draws it (for review; not part of CI).
#
#   sphinx-build -W --keep-going -b html docs docs/_build/html
#   docs/screenshots.sh [OUTDIR]        # default OUTDIR: /tmp
#
# Needs a chromium (Debian: apt-get install chromium). Writes OUTDIR/nnopt-index.png
# and OUTDIR/nnopt-api.png, 1280 x 1600.
set -euo pipefail
cd "$(dirname "$0")"
html="$PWD/_build/html"
out="${1:-/tmp}"
mkdir -p "$out"
[ -f "$html/index.html" ] || { echo "no $html/index.html: build the docs first" >&2; exit 2; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
for page in index api; do
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --window-size=1280,1600 \
        --screenshot="$out/nnopt-$page.png" "file://$html/$page.html"
done
ls -l "$out"/nnopt-index.png "$out"/nnopt-api.png
