#!/usr/bin/env bash
# Install benchroute and run the quick start on the embedded local models (no API key).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> benchroute run examples/quickstart"
exec .venv/bin/benchroute run examples/quickstart "$@"
