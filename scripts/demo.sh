#!/usr/bin/env bash
# ferry's main job on the embedded default: resolve a flow against the bundled fixture channel and
# index, push its environments to a local directory store, then run a step in a fresh "pod"
# (an empty FERRY_HOME) that fetches its environment from the store.
set -euo pipefail
BUILD="$(cd "$1" && pwd)"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FERRY="$BUILD/cli/ferry"
DEMO="$BUILD/demo"
FX="$BUILD/fixtures"
rm -rf "$DEMO"
mkdir -p "$DEMO"
cp "$ROOT/examples/flow/train_flow.py" "$DEMO/"

export FERRY_HOME="$DEMO/laptop-home"
export FERRY_STORE="file://$DEMO/store"
export FERRY_CHANNELS="file://$FX/channel"
export FERRY_INDEX_URL="file://$FX/pypi/simple"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$FERRY" resolve "$DEMO/train_flow.py" --platform linux-64 --platform osx-arm64
step "$FERRY" show "$DEMO/ferry.lock"
step "$FERRY" push "$DEMO/ferry.lock"
ENV_ID=$("$FERRY" show "$DEMO/ferry.lock" --step train --json | python3 -c \
  'import json,sys; e=[e for e in json.load(sys.stdin)["environments"] if e["platform"]=="linux-64"][0]; print(e["env_id"])')
step "$FERRY" alias "$ENV_ID" demo-model:v1

# A fresh pod: nothing cached, only the store and the name.
export FERRY_HOME="$DEMO/pod-home"
step "$FERRY" run demo-model:v1 -- python -c \
  'import sys, numpy, pandas; print("python", sys.version.split()[0], "in", sys.prefix); print("numpy", numpy.__version__, "pandas", pandas.__version__)'
step "$FERRY" cache info

# A higher-order flow: an explainer composes its environment from the named model environment
# (kept at its locked versions) plus its own conda and PyPI packages, and publishes it under a
# name that a task fetches at execution time.
export FERRY_HOME="$DEMO/laptop-home" RUN_ID=1
step "$FERRY" compose demo-model:v1 --conda ferrycli --pypi 'ferry-demo[plot]' \
  --name 'explainer/demo-model-@{RUN_ID}' -o "$DEMO/explainer.lock"
export FERRY_HOME="$DEMO/pod2-home"
step "$FERRY" run 'explainer/demo-model-@{RUN_ID}' -- python -c \
  'import numpy, sklearn, ferry_demo; print("model side: numpy", numpy.__version__, "scikit-learn", sklearn.__version__, "| explainer side: ferry-demo", ferry_demo.__version__)'
step "$FERRY" run 'explainer/demo-model-@{RUN_ID}' -- ferry-demo
printf '\nDemo finished: the flow was resolved, pushed to %s, a step ran in a fresh pod, and an\nexplainer environment was composed from the named model environment and ran in another pod.\n' "$FERRY_STORE"
