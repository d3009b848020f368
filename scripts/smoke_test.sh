#!/usr/bin/env bash
# Post-deploy smoke test of one environment (runs inside AzureCLI@2): reads the stack's outputs from
# its remote state, then scripts/smoke_test.py calls the generator and checks bronze for the new blob.
#
#   scripts/smoke_test.sh ENV [smoke_test.py options]
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

env=${1:?usage: smoke_test.sh ENV [options]}
shift
stack=$(stack_dir_of "$env")
[[ -d $stack/.terraform ]] || die "$stack is not initialized: run scripts/terraform_apply.sh $env first"
source "$REPO_ROOT/scripts/lib/azure_oidc_env.sh"
exec python3 "$REPO_ROOT/scripts/smoke_test.py" --stack-dir "$stack" "$@"
