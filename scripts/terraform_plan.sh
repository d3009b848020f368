#!/usr/bin/env bash
# terraform init + plan -out for one environment's synthesized stack, then stage the stack directory
# (cdk.tf.json, assets, provider lock file, the saved plan and its text rendering) for publishing.
# Runs inside AzureCLI@2 (see scripts/lib/azure_oidc_env.sh).
#
#   scripts/terraform_plan.sh ENV STAGING_DIR
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

env=${1:?usage: terraform_plan.sh ENV STAGING_DIR}
staging=${2:?usage: terraform_plan.sh ENV STAGING_DIR}
stack=$(stack_dir_of "$env")
[[ -f $stack/cdk.tf.json ]] || die "$stack/cdk.tf.json not found: download the cdktf-out artifact (or ./dev.sh synth) first"
python3 "$REPO_ROOT/scripts/check_backend.py" "$stack/cdk.tf.json"
# The committed provider lock, complete, before anything talks to the registry or Azure.
python3 "$REPO_ROOT/scripts/check_provider_lock.py" "$stack" --committed "$REPO_ROOT/.terraform.lock.hcl" \
  || die "the provider lock file is incomplete: terraform init -lockfile=readonly would fail (docs/cicd.md, \"Provider lock file\")"

require_pinned_terraform
source "$REPO_ROOT/scripts/lib/azure_oidc_env.sh"

terraform -chdir="$stack" init -input=false -no-color -lockfile=readonly
terraform -chdir="$stack" plan -input=false -no-color -lock-timeout=10m -out=tfplan
terraform -chdir="$stack" show -no-color tfplan > "$stack/tfplan.txt"

# Everything apply needs, except the provider binaries (.terraform/) which apply re-installs, verified
# against the same .terraform.lock.hcl.
mkdir -p "$staging"
tar -C "$stack" --exclude=./.terraform -cf - . | tar -C "$staging" -xf -
echo "saved plan for $env staged in $staging"
