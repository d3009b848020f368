"""Phase 3, as an app of its own: reuses Phase 2's data lake and vault (creating neither), adds a
``gold`` container and a secret, and lets a new identity read silver and write gold.

Built from the installed ``emotion-platform`` wheel (tests/examples/test_phase3_example.py builds the
wheel, installs it in a fresh virtualenv and runs this file):

    python main.py [OUTDIR]          # synthesizes cdktf.out/ (or OUTDIR); no Azure login needed

cdktf is imported first on purpose: the package sets up its Node.js whatever the import order.
"""

from __future__ import annotations

import sys

from cdktf import App, LocalBackend, TerraformOutput, TerraformStack, TerraformVariable
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures
from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from constructs import Construct

from emotion_platform import Principal, SecretsVault, SilverStorage

# Phase 2's prod foundation (config/prod.toml): the names are what Phase 2's outputs print.
RESOURCE_GROUP = "rg-emotion-prod"
LAKE = "stemotionprod01"
VAULT = "kv-emotion-prod-01"


class Phase3Stack(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, analysts_group_id: str) -> None:
        super().__init__(scope, id)
        AzurermProvider(self, "azurerm", features=[AzurermProviderFeatures()], storage_use_azuread=True)
        LocalBackend(self, path="terraform.phase3.tfstate")

        lake = SilverStorage.from_existing(self, "lake", name=LAKE, resource_group_name=RESOURCE_GROUP)
        vault = SecretsVault.from_existing(self, "vault", name=VAULT, resource_group_name=RESOURCE_GROUP)
        silver = lake.container("silver")  # Phase 2's: referenced and verified at plan, never created or destroyed
        gold = lake.add_container("gold", metadata={"layer": "gold"})  # Phase 3's own

        # The value comes from the environment (TF_VAR_reporting_api_token), never from code.
        token_value = TerraformVariable(self, "reporting_api_token", type="string", sensitive=True,
                                        description="API token of the reporting service")
        token = vault.add_secret("reporting-token", name="reporting-api-token", value=token_value.string_value,
                                 content_type="text/plain; reporting service API token")

        reporting = UserAssignedIdentity(self, "reporting", name="id-emotion-reporting",
                                         resource_group_name=RESOURCE_GROUP, location="westeurope")
        lake.grant_read(reporting, container=silver)
        lake.grant_write(reporting, container=gold)
        vault.grant_read(reporting, secret=token)
        lake.grant_read(Principal.group(analysts_group_id), container=gold)

        TerraformOutput(self, "gold_container_name", value=gold.name)
        TerraformOutput(self, "reporting_client_id", value=reporting.client_id)
        TerraformOutput(self, "reporting_token_uri", value=token.versionless_id)


def build(outdir: str = "cdktf.out") -> App:
    app = App(outdir=outdir)
    # An example object id: the Entra ID group of the analysts who may read gold.
    Phase3Stack(app, "phase3", analysts_group_id="7c8d3f0e-1a2b-4c5d-8e9f-0a1b2c3d4e5f")
    return app


if __name__ == "__main__":
    build(sys.argv[1] if len(sys.argv) > 1 else "cdktf.out").synth()
