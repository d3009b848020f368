# shellcheck shell=bash
# Sourced by the Terraform steps, which run inside AzureCLI@2 (addSpnToEnvironment: true) on a
# workload-identity-federation service connection. Exports what azurerm needs, for both the provider
# and the state backend, to authenticate with OIDC and no client secret:
#  - preferred: ID-token refresh through the pipeline's OIDC endpoint (ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID
#    + System.AccessToken + System.OidcRequestUri; azurerm 4.x, Terraform >= 1.11.2 for the backend), so a
#    long apply or a late approval does not outlive the ~10 minute ID token;
#  - fallback: the task's one-shot ID token ($idToken), with a warning.
# A service connection that hands out a client secret is refused.

_oidc_fail() { echo "##[error]$*" >&2; return 1; }

if [[ -n ${servicePrincipalKey:-} ]]; then
  _oidc_fail "the service connection authenticates with a client secret; use workload identity federation (docs/cicd.md)" || return 1
fi
if [[ -z ${servicePrincipalId:-} || -z ${tenantId:-} ]]; then
  _oidc_fail "servicePrincipalId/tenantId missing: run inside AzureCLI@2 with addSpnToEnvironment: true" || return 1
fi

export ARM_CLIENT_ID=$servicePrincipalId
export ARM_TENANT_ID=$tenantId
if [[ -z ${ARM_SUBSCRIPTION_ID:-} ]]; then
  ARM_SUBSCRIPTION_ID=$(az account show --query id --output tsv) || { _oidc_fail "az account show failed"; return 1; }
fi
export ARM_SUBSCRIPTION_ID
export ARM_USE_OIDC=true
export ARM_USE_CLI=false
unset ARM_CLIENT_SECRET ARM_CLIENT_CERTIFICATE_PATH ARM_ACCESS_KEY

if [[ -n ${AZURESUBSCRIPTION_SERVICE_CONNECTION_ID:-} && -n ${SYSTEM_ACCESSTOKEN:-} && -n ${SYSTEM_OIDCREQUESTURI:-} ]]; then
  export ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID=$AZURESUBSCRIPTION_SERVICE_CONNECTION_ID
  export ARM_OIDC_AZURE_SERVICE_CONNECTION_ID=$AZURESUBSCRIPTION_SERVICE_CONNECTION_ID
  export ARM_OIDC_REQUEST_TOKEN=$SYSTEM_ACCESSTOKEN
  export ARM_OIDC_REQUEST_URL=$SYSTEM_OIDCREQUESTURI
  unset ARM_OIDC_TOKEN
  echo "azure_oidc_env: OIDC with ID-token refresh (service connection $ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID)" >&2
elif [[ -n ${idToken:-} ]]; then
  export ARM_OIDC_TOKEN=$idToken
  echo "##[warning]azure_oidc_env: no ID-token refresh (map SYSTEM_ACCESSTOKEN: \$(System.AccessToken) into the step); using the task's short-lived ID token" >&2
else
  _oidc_fail "no federated token: the service connection must use workload identity federation" || return 1
fi

export TF_IN_AUTOMATION=1
export TF_INPUT=0
