#!/usr/bin/env bash
# What a newcomer does, outside the workspace, in a temp dir: install the capgen CLI from a git
# URL (and from a checkout), then three `cargo new` projects, one per way of use, each calling
# its generated client against the Prisma simulator:
#   app-cli     `capgen generate` into the project, depended on by path (and its binary run);
#   app-macro   `capgen_macros::include_capability!`;
#   app-build   `capgen::Builder` in build.rs.
# Then `cargo publish --dry-run` of capgen, capgen-runtime and capgen-macros.
#
# The git URL is a `file://` repository of this working tree (the network reaches only package
# registries), and the CLI is built with CAPGEN_REPOSITORY set to it, so that the generated
# crate's default `capgen-runtime` dependency (capgen's repository, at capgen's commit) resolves.
# The three projects share one CARGO_TARGET_DIR so dependencies compile once; their Cargo.lock
# starts from the workspace's, so they build with the versions the workspace is tested with.
#
# Env: NEWCOMER_KEEP=1 keeps the temp dir; NEWCOMER_PUBLISH_VERIFY=0 skips building the
# packaged crates in the publish dry-run (packaging only).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
start=$SECONDS
repo_target=${CARGO_TARGET_DIR:-$repo/target}
work=$(mktemp -d "${TMPDIR:-/tmp}/capgen-newcomer.XXXXXX")
sim_pid=
cleanup() {
    [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
    if [ "${NEWCOMER_KEEP:-0}" = 1 ]; then echo "newcomer: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
step() { echo "newcomer: [$((SECONDS - start))s] $*"; }
fail() { echo "newcomer: FAILED: $*" >&2; exit 1; }
export CARGO_TERM_COLOR=never

# 1. A git repository of the working tree, as a stranger's `git clone` would see it.
step "copying the working tree into a git repository at $work/capgen"
mkdir -p "$work/capgen"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -C "$work/capgen" -xf -
git -C "$work/capgen" init -q
git -C "$work/capgen" add -A
git -C "$work/capgen" -c user.name=newcomer -c user.email=newcomer@example.invalid commit -qm "capgen as a newcomer clones it"
url="file://$work/capgen"
rev=$(git -C "$work/capgen" rev-parse HEAD)

# A fresh target dir, as `cargo install` uses: capgen records its commit when built
# (codegen/build.rs), and a target dir reused across commits can keep an older one.
export CARGO_TARGET_DIR="$work/target"

# 2. Install the CLI: from a git URL (the one used below) and from a checkout.
step "cargo install --git $url capgen"
CAPGEN_REPOSITORY="$url" cargo install --quiet --locked --debug --git "$url" --root "$work/git-install" capgen
step "cargo install --path <checkout>/codegen"
cargo install --quiet --locked --debug --path "$work/capgen/codegen" --root "$work/path-install"
"$work/path-install/bin/capgen" --version
capgen="$work/git-install/bin/capgen"
"$capgen" --version

# 3. The simulator of the Prisma API (a test fixture of the workspace, built there).
step "starting the Prisma simulator"
CARGO_TARGET_DIR="$repo_target" cargo build --quiet --locked --manifest-path "$repo/Cargo.toml" -p prisma-simulator
"$repo_target/debug/prisma-simulator" --port 0 >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
for _ in $(seq 50); do [ -s "$work/sim.out" ] && break; sleep 0.1; done
base=$(head -n1 "$work/sim.out")
[ -n "$base" ] || fail "the simulator did not start: $(cat "$work/sim.err")"
export POSTGRES_MANAGEMENT_DATABASE_BACKUPS_BASE_URI="$base" PRISMA_API_KEY=sim-token

# The seed, as the user's own files.
seed_files() {
    mkdir -p "$1/specs"
    cp -R "$work/capgen/specs/prisma" "$1/specs/"
}
capability=specs/prisma/capabilities/postgres-management-database-backups.yaml
workflow=specs/prisma/arazzo/prisma-postgres-backup-and-restore-workflow.yml
new_project() {
    cargo new --quiet --vcs none "$work/$1"
    cp "$work/capgen/Cargo.lock" "$work/$1/Cargo.lock"
    seed_files "$work/$1"
}
# Each program lists the backups of db_123 (the simulator starts with one).
expect_one_backup() {
    local out
    out=$("$@")
    [ "$out" = "backups of db_123: 1" ] || fail "$* printed: $out"
}
client_main='
    let client = Client::from_env()?; // base URI and PRISMA_API_KEY from the environment
    let list = client.list_database_backups("db_123").await?;
    println!("backups of db_123: {}", list.data.unwrap_or_default().len());
    Ok(())
}'

# 4. The CLI: generate into the project, depend on it by path.
step "app-cli: capgen generate into a cargo new project"
new_project app-cli
(cd "$work/app-cli" && "$capgen" generate "$capability" --arazzo "$workflow" --out prisma-backups \
    --crate-name prisma-postgres-backups) 2>"$work/generate.err" || fail "generate: $(cat "$work/generate.err")"
grep -q "cargo build --manifest-path prisma-backups/Cargo.toml" "$work/generate.err" || fail "generate does not say what to do next"
grep -q "capgen-runtime = { git = \"$url\", rev = \"$rev\"" "$work/app-cli/prisma-backups/Cargo.toml" ||
    fail "the default capgen-runtime is not capgen's repository at its commit"
cat >>"$work/app-cli/Cargo.toml" <<'EOF'
prisma-postgres-backups = { path = "prisma-backups" }
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
EOF
cat >"$work/app-cli/src/main.rs" <<EOF
use prisma_postgres_backups::client::postgres_management_database_backups::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {$client_main
EOF
(cd "$work/app-cli" && cargo build --quiet)
expect_one_backup "$CARGO_TARGET_DIR/debug/app-cli"

step "app-cli: the generated binary"
cp "$work/capgen/Cargo.lock" "$work/app-cli/prisma-backups/Cargo.lock"
cargo build --quiet --manifest-path "$work/app-cli/prisma-backups/Cargo.toml"
bin="$CARGO_TARGET_DIR/debug/prisma-postgres-backups"
help=$("$bin" --help)
for word in postgres-management-database-backups POSTGRES_MANAGEMENT_DATABASE_BACKUPS_BASE_URI PRISMA_API_KEY \
    prisma-list-database-backups backup-and-restore-database; do
    grep -q -- "$word" <<<"$help" || fail "--help does not name $word"
done
"$bin" run --help | grep -q "backup-and-restore-database  apiToken databaseId" || fail "run --help does not list the inputs"
unknown=$(env -u PRISMA_API_KEY "$bin" run no-such-workflow 2>&1 || true)
grep -q "unknown workflow \`no-such-workflow\`; known: backup-and-restore-database" <<<"$unknown" ||
    fail "run <unknown> said: $unknown"
"$bin" call prisma-list-database-backups --arg databaseId=db_123 | grep -q '"databaseId"' || fail "call failed"

# 5. The proc macro.
step "app-macro: include_capability!"
new_project app-macro
cat >>"$work/app-macro/Cargo.toml" <<EOF
capgen-macros = { git = "$url", rev = "$rev" }
capgen-runtime = { git = "$url", rev = "$rev", features = ["mcp"] }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
EOF
cat >"$work/app-macro/src/main.rs" <<EOF
mod prisma {
    capgen_macros::include_capability!(
        "$capability",
        arazzo = ["$workflow"],
    );
}

use prisma::client::postgres_management_database_backups::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {$client_main
EOF
(cd "$work/app-macro" && cargo build 2>"$work/macro.err") || fail "app-macro: $(cat "$work/macro.err")"
grep -q "capgen: $workflow:" "$work/macro.err" || fail "the macro does not show the spec's warnings: $(cat "$work/macro.err")"
! grep -q "is never" "$work/macro.err" || fail "unused parts of the generated API warn: $(cat "$work/macro.err")"
expect_one_backup "$CARGO_TARGET_DIR/debug/app-macro"

# 6. A build script.
step "app-build: capgen::Builder in build.rs"
new_project app-build
cat >>"$work/app-build/Cargo.toml" <<EOF
capgen-runtime = { git = "$url", rev = "$rev", features = ["mcp"] }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }

[build-dependencies]
capgen = { git = "$url", rev = "$rev" }
EOF
cat >"$work/app-build/build.rs" <<EOF
fn main() {
    capgen::Builder::new("$capability").arazzo("$workflow").build_or_exit();
}
EOF
cat >"$work/app-build/src/main.rs" <<EOF
#[allow(dead_code)] // a program using part of the generated API
mod prisma {
    include!(concat!(env!("OUT_DIR"), "/capability.rs"));
}

use prisma::client::postgres_management_database_backups::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {$client_main
EOF
(cd "$work/app-build" && cargo build 2>"$work/build.err") || fail "app-build: $(cat "$work/build.err")"
! grep -q "is never" "$work/build.err" || fail "unused parts of the generated API warn: $(cat "$work/build.err")"
grep -q "warning\[legacy-bare-expression\]" "$work/build.err" || fail "the build script does not show the spec's warnings"
expect_one_backup "$CARGO_TARGET_DIR/debug/app-build"

# 7. The three crates are publishable.
step "cargo publish --dry-run (capgen, capgen-runtime, capgen-macros)"
verify=()
[ "${NEWCOMER_PUBLISH_VERIFY:-1}" = 1 ] || verify=(--no-verify)
(cd "$work/capgen" && cargo publish --quiet --dry-run --locked --workspace "${verify[@]}" 2>"$work/publish.err") ||
    fail "publish dry-run: $(cat "$work/publish.err")"

step "passed in $((SECONDS - start))s"
