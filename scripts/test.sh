#!/usr/bin/env bash
# The project's test command (what CI runs): the Rust workspace tests, then the checks that
# need Node: Spectral on the emitted OpenAPI document, and the official MCP conformance suite
# plus the MCP Inspector CLI against the generated server. The Node tools are installed into
# ~/.cache on first use (from the npm registry and PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --locked --no-fail-fast
scripts/spectral.sh
scripts/mcp-conformance.sh
