# shellcheck shell=bash
# Helpers shared by the pipeline scripts: repository root, the stack directory of an environment.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export REPO_ROOT

die() { echo "##[error]$*" >&2; exit 1; }

# The environment name must be a config/<env> environment name; the stack is phase2-<env>.
stack_dir_of() {
  local env=$1
  [[ $env =~ ^[a-z][a-z0-9-]{0,15}$ ]] || die "environment '$env' is not a valid environment name (lowercase letters, digits, '-'; at most 16)"
  echo "$REPO_ROOT/cdktf.out/stacks/phase2-$env"
}

# Fails unless the terraform on PATH is the version pinned in .terraform-version.
require_pinned_terraform() {
  local want have
  want=$(tr -d '[:space:]' < "$REPO_ROOT/.terraform-version")
  have=$(terraform version -json | python3 -c 'import json, sys; print(json.load(sys.stdin)["terraform_version"])') \
    || die "terraform not found on PATH (run scripts/install_terraform.sh)"
  [[ $have == "$want" ]] || die "terraform $have on PATH, but .terraform-version pins $want"
}
