#!/usr/bin/env bash
# Fuzzes capgen's front end with cargo fuzz (libFuzzer): the targets in fuzz/ are
# `capability_loader` (a capability through load, validate, generate and render),
# `arazzo_loader` (an Arazzo document, its OpenAPI sources resolved, through the same) and
# `expressions` (runtime expressions, templates, conditions, criteria, operationPaths).
#
#   scripts/fuzz.sh [seconds-per-target] [target...]     (default: 30 seconds, every target)
#
# Each target runs for the given time with a 10 s per-input timeout (a hang is a failure) and a
# 2 GiB memory limit; any crash, timeout or out-of-memory fails the script and prints the
# reproducer's path and the commands to replay and minimise it. A long campaign:
# `scripts/fuzz.sh 3600`.
#
# New corpus entries go to $FUZZ_TARGET_DIR/corpus-work/<target> (kept between runs, so later
# runs start from what earlier ones found); the seeds in fuzz/corpus/<target> are only read.
#
# Environment:
#   FUZZ_TARGET_DIR  cargo's target dir for the fuzz build (default fuzz/target)
#   FUZZ_SANITIZER   none (default: capgen is safe Rust, and none is about twice as fast) or
#                    address (needs nightly features, enabled with RUSTC_BOOTSTRAP=1)
#   FUZZ_ARGS        extra libFuzzer flags (e.g. `-fork=2`)
#
# cargo-fuzz is installed from crates.io (`cargo install cargo-fuzz --locked`) when missing.
# It builds with the stable toolchain for FUZZ_SANITIZER=none.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(capability_loader arazzo_loader expressions)
target_dir="${FUZZ_TARGET_DIR:-$root/fuzz/target}"
sanitizer="${FUZZ_SANITIZER:-none}"
if [ "$sanitizer" != none ]; then
    # -Zsanitizer is a nightly flag; this machine has only a stable toolchain.
    export RUSTC_BOOTSTRAP=1
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

cd "$root/fuzz"
build=(-s "$sanitizer" --target-dir "$target_dir")
start=$(date +%s)
cargo fuzz build "${build[@]}"
echo "== fuzz build: $(($(date +%s) - start)) s" >&2

# The loader targets write their input into a temp spec tree per process; keep those here.
scratch="$(mktemp -d "${TMPDIR:-/tmp}/capgen-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

failed=0
for target in "${targets[@]}"; do
    case "$target" in
        expressions) flags=(-dict=expressions.dict -max_len=4096) ;;
        *) flags=(-dict=yaml.dict -max_len=32768) ;;
    esac
    work="$target_dir/corpus-work/$target"
    artifacts="$root/fuzz/artifacts/$target"
    mkdir -p "$work" "$artifacts"
    log="$scratch/$target.log"
    echo "== $target: ${seconds} s" >&2
    status=0
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    TMPDIR="$scratch" cargo fuzz run "${build[@]}" "$target" "$work" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "${flags[@]}" ${FUZZ_ARGS:-} >"$log" 2>&1 || status=$?
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" >&2 || true
    if [ "$status" -ne 0 ]; then
        failed=1
        tail -n 60 "$log" >&2
        reproducer="$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/Test unit written to //')"
        echo "FAILED: $target (exit $status); full log: $log" >&2
        if [ -n "$reproducer" ]; then
            echo "reproducer: $reproducer" >&2
            echo "replay:     (cd fuzz && cargo fuzz run ${build[*]} $target $reproducer)" >&2
            echo "minimise:   (cd fuzz && cargo fuzz tmin ${build[*]} $target $reproducer)" >&2
        fi
        trap - EXIT   # keep the log
    fi
done
exit "$failed"
