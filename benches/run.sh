#!/usr/bin/env bash
# Runs every benchmark and writes BENCHMARKS.md (machine, command, medians, ratios):
# codegen, the generated server against hand-written baselines (benches/measure-serve.sh:
# REST adapter overhead, MCP tools/call, memory under 1,000 connections) and the workflow benches
# (the compiled seed workflow vs the same calls by hand, and vs Redocly CLI `respect`).
#   benches/run.sh [seconds-per-run] [repetitions] [workflow-rounds]   # default 10 s, 3, 10 (about 15 min)
# Needs python3, curl, GNU time (/usr/bin/time); measure-serve.sh installs `oha` with cargo on
# first use (or uses wrk). Run it on an otherwise idle machine: the load average at the start
# is written down with the results.
set -euo pipefail
cd "$(dirname "$0")/.."
out="BENCHMARKS.md"
serve_seconds="${1:-10}"
serve_reps="${2:-3}"
workflow_rounds="${3:-10}"
command="benches/run.sh${1:+ $1}${2:+ $2}${3:+ $3}"
work="$(mktemp -d)"
# The hand-written analysis (from "## How this was run" on) is kept across runs.
notes="$(sed -n '/^## How this was run/,$p' "$out" 2>/dev/null || true)"
trap 'rm -rf "$work"' EXIT
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
# The CLI as shipped (mimalloc) and the same build on the system allocator, compared in the run.
cargo build --release --quiet -p capgen --no-default-features
cp "$target/release/capgen" "$work/capgen-system-malloc"
cargo build --release --quiet -p capgen
cp "$target/release/capgen" "$work/capgen-mimalloc"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
spread() { sort -n | awk '{a[NR]=$1} END {print a[1] "–" a[NR]}'; }

{
    echo "# Benchmarks"
    echo
    echo "Written by \`$command\` on $(date -u +%Y-%m-%d)."
    echo
    echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores ($(lscpu | sed -n 's/^Thread(s) per core: *//p') thread(s) per core), $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m), Linux $(uname -r); $(rustc --version). Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "## Codegen (\`capgen generate\`, release; 5 runs each, the two allocators interleaved; median (min–max); synthetic capabilities from \`benches/synth_capability.py N 100\`: N operations, N REST operations, N MCP tools, 100 workflows)"
    echo
    echo "| operations | allocator | wall time (s) | peak RSS (MB) |"
    echo "|---:|---|---:|---:|"
} > "$out"
declare -A seconds
for n in 100 1000 5000; do
    python3 benches/synth_capability.py "$n" 100 "$work/specs"
    declare -A times=() mems=()
    for _ in 1 2 3 4 5; do
        for allocator in mimalloc system-malloc; do
            /usr/bin/time -f "%e %M" -o "$work/time" "$work/capgen-$allocator" generate "$work/specs/capabilities/synth-$n.yaml" \
                --arazzo "$work/specs/arazzo/synth-$n.yml" --out "$work/out-$n" >/dev/null 2>&1
            read -r t m < "$work/time"
            times[$allocator]+="$t "; mems[$allocator]+="$((m / 1024)) "
        done
    done
    for allocator in mimalloc system-malloc; do
        t="$(printf '%s\n' ${times[$allocator]} | median)"; m="$(printf '%s\n' ${mems[$allocator]} | median)"
        [ "$allocator" = mimalloc ] && seconds[$n]="$t"
        label="$allocator"; [ "$allocator" = mimalloc ] && label="mimalloc (shipped)"
        echo "| $n | $label | $t ($(printf '%s\n' ${times[$allocator]} | spread)) | $m ($(printf '%s\n' ${mems[$allocator]} | spread)) |" >> "$out"
    done
done
{
    echo
    echo "Ratios (mimalloc): 1k/100 = $(python3 -c "print(round(${seconds[1000]}/${seconds[100]}, 2))"), 5k/1k = $(python3 -c "print(round(${seconds[5000]}/${seconds[1000]}, 2))")."
    echo
    echo "## Generated server against hand-written baselines (\`benches/measure-serve.sh $serve_seconds $serve_reps\`)"
    echo
    benches/measure-serve.sh "$serve_seconds" "$serve_reps"
    echo
    echo "## Workflow"
    echo
    echo "### Compiled workflow vs the same calls by hand (\`cargo bench -p capgen-baselines --bench workflow_overhead\`)"
    echo
    echo '```'
    cargo bench --quiet -p capgen-baselines --bench workflow_overhead 2>/dev/null
    echo '```'
    echo
    echo "### Compiled workflow vs Redocly CLI \`respect\` (\`benches/workflow-vs-respect.sh $workflow_rounds\`)"
    echo
    benches/workflow-vs-respect.sh "$workflow_rounds"
} >> "$out"
[ -z "$notes" ] || printf '\n%s\n' "$notes" >> "$out"
echo "wrote $out"
