#!/usr/bin/env bash
# Regenerate function_app/requirements.txt (the Function's lock file) from function_app/requirements.in:
# every transitive dependency pinned with the sha256 of each of its files on the package index, so the
# Function's remote build installs in pip's hash-checking mode.
#
#   scripts/lock_function_requirements.sh          # after changing requirements.in
#   scripts/lock_function_requirements.sh --upgrade   # also move unpinned transitive deps forward
#
# Run it on Linux with the Python version the Function App runs (python_version in config/*.toml):
# environment markers are resolved for the machine that runs the resolver. Nothing of this machine's
# pip configuration (extra indexes, local wheel folders, constraints) takes part: a locally built
# wheel has other hashes than the index's, and the Function's build sees only the index.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

PIP_TOOLS_VERSION=7.6.2
app_dir=$REPO_ROOT/function_app

[[ $(uname -s) == Linux ]] || die "run this on Linux: the Function App runs on Linux and markers are resolved for this machine"
want=$(sed -n 's/^python_version *= *"\([0-9.]*\)".*/\1/p' "$REPO_ROOT"/config/*.toml | sort -u)
[[ $(wc -l <<< "$want") == 1 && -n $want ]] || die "config/*.toml disagree on python_version: $(echo $want)"
python=${PYTHON:-python$want}
command -v "$python" > /dev/null || die "$python not found: the lock is resolved with the Function's Python ($want)"
have=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[[ $have == "$want" ]] || die "$python is Python $have; the Function App runs Python $want"

# Only the default package index: no config file, no extra index, no find-links, no constraints.
clean_pip=(env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_CONSTRAINT
  -u PIP_NO_INDEX PIP_CONFIG_FILE=/dev/null)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/venv"
"${clean_pip[@]}" "$work/venv/bin/python" -m pip install --quiet "pip-tools==$PIP_TOOLS_VERSION"
cd "$app_dir"
"${clean_pip[@]}" "$work/venv/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
  --no-emit-index-url --no-emit-find-links --output-file=requirements.txt "$@" requirements.in
echo "wrote function_app/requirements.txt ($(grep -c '^[a-z0-9]' requirements.txt) packages," \
  "$(grep -c -- '--hash=sha256:' requirements.txt) hashes)"
