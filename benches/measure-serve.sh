#!/usr/bin/env bash
# Measures the generated Prisma server on loopback (release builds): idle RSS of `serve`, and
# requests/second of one REST operation and one MCP tools/call, against the zero-latency
# simulator. Needs `wrk` (Debian package). Prints one line per measurement.
#
#   benches/measure-serve.sh [seconds-per-run]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
cargo build --release --quiet -p prisma-postgres-backups -p prisma-simulator
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release"

pids=()
work="$(mktemp -d)"
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

"$target/prisma-simulator" --port 4811 --token sim-token >/dev/null 2>&1 &
pids+=("$!")
PRISMA_API_KEY=sim-token RUST_LOG=warn "$target/prisma-postgres-backups" serve --rest-port 4812 --mcp-port 4813 \
    --base-uri postgres-management-database-backups=http://127.0.0.1:4811/v1 >/dev/null 2>&1 &
server="$!"
pids+=("$server")
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:4812/healthz >/dev/null && break; sleep 0.1; done
sleep 1
echo "idle RSS of serve: $(awk '/VmRSS/ {print $2, $3}' "/proc/$server/status")"

echo "REST GET /v1/databases/db_123/backups (through the adapter to the simulator):"
wrk -t2 -c32 -d"${duration}s" --latency http://127.0.0.1:4812/v1/databases/db_123/backups | grep -E "Requests/sec|50%|99%"
echo "simulator directly (baseline):"
wrk -t2 -c32 -d"${duration}s" --latency -H "Authorization: Bearer sim-token" http://127.0.0.1:4811/v1/databases/db_123/backups | grep -E "Requests/sec|50%|99%"

# MCP: open a session, then POST tools/call in it.
mcp=http://127.0.0.1:4813/mcp
accept='application/json, text/event-stream'
session="$(curl -s -D - -o /dev/null -X POST "$mcp" -H "content-type: application/json" -H "accept: $accept" \
    -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}' \
    | awk 'tolower($1) == "mcp-session-id:" {print $2}' | tr -d '\r')"
curl -s -o /dev/null -X POST "$mcp" -H "content-type: application/json" -H "accept: $accept" -H "mcp-session-id: $session" \
    -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
cat > "$work/call.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["accept"] = "$accept"
wrk.headers["mcp-session-id"] = "$session"
wrk.body = '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"prisma-list-database-backups","arguments":{"databaseId":"db_123"}}}'
LUA
echo "MCP tools/call prisma-list-database-backups (session $session):"
wrk -t2 -c32 -d"${duration}s" --latency -s "$work/call.lua" "$mcp" | grep -E "Requests/sec|50%|99%|Non-2xx"
echo "RSS of serve after the runs: $(awk '/VmRSS/ {print $2, $3}' "/proc/$server/status")"
