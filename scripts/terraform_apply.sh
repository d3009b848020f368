#!/usr/bin/env bash
# Apply exactly the saved plan of one environment: the stack directory comes from the tfplan-ENV
# artifact, restored where it was planned. Terraform refuses a plan made against a state that has
# changed since (a stale plan), so nothing else can be applied here. Runs inside AzureCLI@2, so the
# stack's own `az functionapp deployment source config-zip` step runs logged in.
#
#   scripts/terraform_apply.sh ENV
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

env=${1:?usage: terraform_apply.sh ENV}
stack=$(stack_dir_of "$env")
[[ -f $stack/tfplan ]] || die "$stack/tfplan not found: the tfplan-$env artifact was not restored there"
[[ -f $stack/.terraform.lock.hcl ]] || die "$stack/.terraform.lock.hcl missing from the plan artifact"
python3 "$REPO_ROOT/scripts/check_backend.py" "$stack/cdk.tf.json"
python3 "$REPO_ROOT/scripts/check_provider_lock.py" "$stack" --committed "$REPO_ROOT/.terraform.lock.hcl" \
  || die "the plan artifact's provider lock file is not the committed, complete one"

require_pinned_terraform
source "$REPO_ROOT/scripts/lib/azure_oidc_env.sh"

terraform -chdir="$stack" init -input=false -no-color -lockfile=readonly
terraform -chdir="$stack" apply -input=false -no-color -lock-timeout=10m tfplan
