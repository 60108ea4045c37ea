#!/usr/bin/env bash
# Measures the generated Prisma server on loopback (release builds) against hand-written
# baselines (benches/baselines), all in the same run, and prints the results as Markdown:
#
#   REST:   (a) the simulator directly, (b) the generated REST adapter in front of it, (c) the
#           minimal axum+reqwest proxy (`rest-proxy`) in front of it; `oha` at 32 connections
#           (throughput) and at 1 connection (latency without queueing), interleaved a,b,c.
#   MCP:    tools/call prisma-list-database-backups on the generated server vs the minimal rmcp
#           server (`mcp-server`), with `mcp-load` (one rmcp client session per connection).
#   Memory: VmRSS of `serve` idle, sampled every 100 ms under 1,000 concurrent REST
#           connections and 1,000 concurrent MCP sessions (peak, and VmHWM), and after each.
#
#   benches/measure-serve.sh [seconds-per-run] [repetitions]     # default 10 s, 3 repetitions
#
# Every figure is the median of the repetitions. With `taskset` and 2+ CPUs the load generator
# runs on CPU 0 and the servers and the simulator on CPU 1 (BENCH_PIN=0 turns that off), so the
# load generator never takes CPU time from the system it measures; the tokio runtimes follow
# the affinity (one worker thread on one CPU).
#
# Needs python3 and curl. `oha` is used from PATH, else installed once with
# `cargo install oha --locked` into ${CAPGEN_BENCH_CACHE:-~/.cache/capgen-bench}; when that
# fails, `wrk` (Debian package) is used instead.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
reps="${2:-3}"
cache="${CAPGEN_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capgen-bench}"

# The load generator.
oha=""
if command -v oha >/dev/null; then
    oha="$(command -v oha)"
elif [ -x "$cache/bin/oha" ]; then
    oha="$cache/bin/oha"
elif cargo install oha --locked --quiet --root "$cache" >&2; then
    oha="$cache/bin/oha"
elif ! command -v wrk >/dev/null; then
    echo "neither oha (cargo install oha --locked failed) nor wrk (apt-get install wrk) is available" >&2
    exit 1
fi

cargo build --release --quiet -p prisma-postgres-backups -p prisma-simulator -p capgen-baselines
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release"

# 1,000 connections need more than the usual 1,024 descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

load_cpu=(); server_cpu=()
if [ "${BENCH_PIN:-1}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    load_cpu=(taskset -c 0); server_cpu=(taskset -c 1)
fi

pids=()
work="$(mktemp -d)"
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

sim_port=4811 rest_port=4812 mcp_port=4813 proxy_port=4814 baseline_mcp_port=4815
upstream="http://127.0.0.1:$sim_port/v1"
export PRISMA_API_KEY=sim-token RUST_LOG=warn
"${server_cpu[@]}" "$target/prisma-simulator" --port "$sim_port" --token sim-token >/dev/null 2>&1 &
pids+=("$!")
"${server_cpu[@]}" "$target/prisma-postgres-backups" serve --rest-port "$rest_port" --mcp-port "$mcp_port" \
    --base-uri "postgres-management-database-backups=$upstream" >/dev/null 2>&1 &
server="$!"
pids+=("$server")
"${server_cpu[@]}" "$target/rest-proxy" --port "$proxy_port" --upstream "$upstream" >/dev/null 2>&1 &
pids+=("$!")
"${server_cpu[@]}" "$target/mcp-server" --port "$baseline_mcp_port" --upstream "$upstream" >/dev/null 2>&1 &
pids+=("$!")
for port in "$sim_port" "$rest_port" "$mcp_port" "$proxy_port" "$baseline_mcp_port"; do
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.1
    done
done
sleep 1
rss() { awk -v f="$2" '$1 == f":" {print $2}' "/proc/$1/status"; }
idle_rss="$(rss "$server" VmRSS)"
# Heap and other private memory, and file-backed pages (the binary's code as it is touched).
idle_split="$(rss "$server" RssAnon) $(rss "$server" RssFile)"

results="$work/results.jsonl"
record() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(json.loads(sys.stdin.read())); print(json.dumps(d))' "$1" >> "$results"; }

# One HTTP load run: URL, connections, seconds, extra header → JSON {rps, p50_us, p99_us, errors}.
# Errors are non-200 answers and failed requests (oha's in-flight requests at the deadline are
# waited for, not counted as errors).
http_load() {
    local url="$1" conns="$2" secs="$3" header="${4:-}"
    if [ -n "$oha" ]; then
        "${load_cpu[@]}" "$oha" --no-tui --output-format json -w -z "${secs}s" -c "$conns" ${header:+-H "$header"} "$url" |
            python3 -c '
import json, sys
d = json.load(sys.stdin)
codes = d.get("statusCodeDistribution") or {}
fails = d.get("errorDistribution") or {}
print(json.dumps({
    "rps": round(d["summary"]["requestsPerSec"], 1),
    "p50_us": round(d["latencyPercentiles"]["p50"] * 1e6),
    "p99_us": round(d["latencyPercentiles"]["p99"] * 1e6),
    "errors": sum(n for c, n in codes.items() if c != "200") + sum(fails.values()),
}))'
    else
        local threads=$(( conns < 2 ? 1 : 2 ))
        "${load_cpu[@]}" wrk -t"$threads" -c"$conns" -d"${secs}s" --latency ${header:+-H "$header"} "$url" |
            python3 -c '
import json, re, sys
text = sys.stdin.read()
def us(v, unit): return float(v) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]
lat = dict((p, us(v, u)) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", text, re.M))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
print(json.dumps({
    "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
    "p50_us": round(lat["50"]), "p99_us": round(lat["99"]),
    "errors": (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0),
}))'
    fi
}

mcp_load() {
    "${load_cpu[@]}" "$target/mcp-load" --url "http://127.0.0.1:$1/mcp" --tool prisma-list-database-backups \
        --args '{"databaseId":"db_123"}' --connections "$2" --duration "$3" --warmup 1
}

path=/v1/databases/db_123/backups
declare -A rest_url=(
    [a]="http://127.0.0.1:$sim_port$path"
    [b]="http://127.0.0.1:$rest_port$path"
    [c]="http://127.0.0.1:$proxy_port$path"
)
declare -A mcp_port_of=([generated]="$mcp_port" [baseline]="$baseline_mcp_port")
latency_secs=$(( duration / 2 > 2 ? duration / 2 : 2 ))

# Warm-up: connection pools, allocator, page cache.
for t in a b c; do
    header=""; [ "$t" = a ] && header="Authorization: Bearer sim-token"
    http_load "${rest_url[$t]}" 32 2 "$header" >/dev/null
done
for t in generated baseline; do mcp_load "${mcp_port_of[$t]}" 8 1 >/dev/null; done

for rep in $(seq 1 "$reps"); do
    for t in a b c; do
        header=""; [ "$t" = a ] && header="Authorization: Bearer sim-token"
        http_load "${rest_url[$t]}" 32 "$duration" "$header" | record "{\"kind\":\"rest\",\"mode\":\"c32\",\"target\":\"$t\"}"
        http_load "${rest_url[$t]}" 1 "$latency_secs" "$header" | record "{\"kind\":\"rest\",\"mode\":\"c1\",\"target\":\"$t\"}"
    done
    for t in generated baseline; do
        mcp_load "${mcp_port_of[$t]}" 32 "$duration" | record "{\"kind\":\"mcp\",\"mode\":\"c32\",\"target\":\"$t\"}"
        mcp_load "${mcp_port_of[$t]}" 1 "$latency_secs" | record "{\"kind\":\"mcp\",\"mode\":\"c1\",\"target\":\"$t\"}"
    done
done

# Memory under 1,000 concurrent connections: sample VmRSS every 100 ms while the load runs.
sample_rss() { while kill -0 "$server" 2>/dev/null; do rss "$server" VmRSS; sleep 0.1; done; }
memory_run() { # name, command...
    local name="$1"; shift
    local before; before="$(rss "$server" VmRSS)"
    sample_rss > "$work/rss-$name" &
    local sampler="$!"
    "$@" > "$work/load-$name"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    sleep 2
    local after_split; after_split="$(rss "$server" RssAnon) $(rss "$server" RssFile)"
    python3 -c '
import json, sys
samples = [int(x) for x in open(sys.argv[1]).read().split()]
print(json.dumps({"before_kb": int(sys.argv[2]), "peak_kb": max(samples), "hwm_kb": int(sys.argv[3]),
                  "after_kb": int(sys.argv[4]), "load": json.loads(open(sys.argv[5]).read()),
                  "after_anon_kb": int(sys.argv[6].split()[0]), "after_file_kb": int(sys.argv[6].split()[1])}))' \
        "$work/rss-$name" "$before" "$(rss "$server" VmHWM)" "$(rss "$server" VmRSS)" "$work/load-$name" "$after_split" |
        record "{\"kind\":\"memory\",\"target\":\"$name\"}"
}
memory_run rest http_load "${rest_url[b]}" 1000 "$duration"
memory_run mcp mcp_load "$mcp_port" 1000 "$duration"

loadgen="wrk (oha could not be installed)"
[ -z "$oha" ] || loadgen="$("$oha" --version)"
pinning="not pinned"
[ "${#load_cpu[@]}" -gt 0 ] && pinning="pinned with taskset: load generator on CPU 0, servers and simulator on CPU 1"
python3 - "$results" "$idle_rss" "$duration" "$reps" "$latency_secs" "$loadgen" "$pinning" "$idle_split" <<'PY'
import json, statistics, sys
from collections import defaultdict

path, idle_rss, duration, reps, latency_secs, loadgen, pinning, idle_split = sys.argv[1:]
idle_anon, idle_file = idle_split.split()
rows = [json.loads(line) for line in open(path)]
runs = defaultdict(list)
for r in rows:
    if r["kind"] != "memory":
        runs[(r["kind"], r["mode"], r["target"])].append(r)

def med(kind, mode, target, field):
    return statistics.median(r[field] for r in runs[(kind, mode, target)])

def spread(kind, mode, target, field):
    values = [r[field] for r in runs[(kind, mode, target)]]
    return f"{min(values):,.0f}–{max(values):,.0f}"

def errors(kind, mode, target):
    return sum(r["errors"] for r in runs[(kind, mode, target)])

def verdict(ok):
    return "**met**" if ok else "**missed**"

print(f"Load generator: {loadgen}; {pinning}. Medians of {reps} repetitions, interleaved; "
      f"throughput runs {duration} s at 32 connections, latency runs {latency_secs} s at 1 connection "
      "(no queueing, so p50 is the per-request cost). Upstream: the simulator (zero added latency), "
      "`GET /v1/databases/db_123/backups` (one backup, 188 bytes).")
print()
print("### REST adapter overhead")
print()
print("| | req/s (32 conns), median (min–max) | p50 / p99 (32 conns) | p50 / p99 (1 conn) | errors |")
print("|---|---:|---:|---:|---:|")
names = {"a": "(a) simulator directly", "b": "(b) generated REST adapter → simulator", "c": "(c) hand-written axum+reqwest proxy → simulator"}
for t in "abc":
    print(f"| {names[t]} | {med('rest','c32',t,'rps'):,.0f} ({spread('rest','c32',t,'rps')}) "
          f"| {med('rest','c32',t,'p50_us'):,.0f} / {med('rest','c32',t,'p99_us'):,.0f} µs "
          f"| {med('rest','c1',t,'p50_us'):,.0f} / {med('rest','c1',t,'p99_us'):,.0f} µs "
          f"| {errors('rest','c32',t) + errors('rest','c1',t)} |")
ratio = med("rest", "c32", "b", "rps") / med("rest", "c32", "c", "rps")
added_b = med("rest", "c1", "b", "p50_us") - med("rest", "c1", "a", "p50_us")
added_c = med("rest", "c1", "c", "p50_us") - med("rest", "c1", "a", "p50_us")
print()
print(f"- Throughput (b)/(c) = **{ratio:.2f}** (target ≥ 0.9: {verdict(ratio >= 0.9)}).")
print(f"- p50 added over (a) at 1 connection: (b) **{added_b:.0f} µs** (target ≤ 100 µs: {verdict(added_b <= 100)}); "
      f"(c) {added_c:.0f} µs for comparison.")
print()
print("### MCP tools/call (`prisma-list-database-backups`)")
print()
print("| | calls/s (32 sessions), median (min–max) | p50 / p99 (32 sessions) | p50 / p99 (1 session) | errors |")
print("|---|---:|---:|---:|---:|")
names = {"generated": "generated server", "baseline": "hand-written rmcp server"}
for t in ("generated", "baseline"):
    print(f"| {names[t]} | {med('mcp','c32',t,'rps'):,.0f} ({spread('mcp','c32',t,'rps')}) "
          f"| {med('mcp','c32',t,'p50_us'):,.0f} / {med('mcp','c32',t,'p99_us'):,.0f} µs "
          f"| {med('mcp','c1',t,'p50_us'):,.0f} / {med('mcp','c1',t,'p99_us'):,.0f} µs "
          f"| {errors('mcp','c32',t) + errors('mcp','c1',t)} |")
ratio = med("mcp", "c32", "generated", "rps") / med("mcp", "c32", "baseline", "rps")
lat = med("mcp", "c1", "generated", "p50_us") - med("mcp", "c1", "baseline", "p50_us")
protocol = runs[("mcp", "c32", "generated")][0].get("protocol", "?")
print()
print(f"- Throughput generated/baseline = **{ratio:.2f}** (target ≥ 0.9: {verdict(ratio >= 0.9)}); "
      f"p50 at 1 session: generated {lat:+.0f} µs over the baseline. Protocol {protocol}, sessions (Streamable HTTP, SSE answers).")
print()
print("### Memory of `serve` (VmRSS)")
print()
print("| | before | peak (sampled every 100 ms) | VmHWM | 2 s after | of which anonymous / file-backed | load |")
print("|---|---:|---:|---:|---:|---:|---|")
mb = lambda kb: f"{int(kb) / 1024:.1f} MB"
print(f"| idle (just started) | {mb(idle_rss)} | | | | {mb(idle_anon)} / {mb(idle_file)} | |")
for r in rows:
    if r["kind"] != "memory":
        continue
    load = r["load"]
    what = ("1,000 concurrent REST connections (oha -c 1000)" if r["target"] == "rest"
            else "1,000 concurrent MCP sessions (mcp-load -c 1000)")
    print(f"| {what} | {mb(r['before_kb'])} | {mb(r['peak_kb'])} | {mb(r['hwm_kb'])} | {mb(r['after_kb'])} "
          f"| {mb(r['after_anon_kb'])} / {mb(r['after_file_kb'])} "
          f"| {load['rps']:,.0f} req/s, p99 {load['p99_us'] / 1000:,.1f} ms, {load['errors']} errors |")
    if r["target"] == "mcp":
        times = int(r["after_kb"]) / int(idle_rss)
        anon_times = int(r["after_anon_kb"]) / int(idle_anon)
        after_mcp = (f"- 2 s after the 1,000 MCP sessions closed: {mb(r['after_kb'])} = **{times:.1f}×** idle "
                     f"(target < 2×: {verdict(times < 2)}). Anonymous memory (heap, stacks) {mb(r['after_anon_kb'])} "
                     f"against {mb(idle_anon)} idle ({anon_times:.0f}×); file-backed pages (the binary's code, mapped as "
                     f"it is first run) {mb(r['after_file_kb'])} against {mb(idle_file)}.")
print()
print(after_mcp)
PY
