"""``DataFactoryStack``: one Terraform stack per environment (``phase2-<env>``) composing the platform."""

from __future__ import annotations

from pathlib import Path

from cdktf import AzurermBackend, Fn, LocalBackend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_azurerm.data_azurerm_client_config import DataAzurermClientConfig
from cdktf_cdktf_provider_azurerm.data_factory import DataFactory, DataFactoryIdentity
from cdktf_cdktf_provider_azurerm.provider import (
    AzurermProvider,
    AzurermProviderFeatures,
    AzurermProviderFeaturesKeyVault,
    AzurermProviderFeaturesResourceGroup,
    AzurermProviderFeaturesStorage,
)
from cdktf_cdktf_provider_time.provider import TimeProvider
from cdktf_cdktf_provider_time.rotating import Rotating
from constructs import Construct

from .diagnostics import to_log_analytics
from .config import EnvironmentConfig
from .foundation import Foundation
from .function_package import FUNCTION_APP_DIR
from .generator_function import GeneratorFunction
from ._moves import add_moved_blocks
from .pipeline_settings import GeneratorCall
from .silver_pipeline import SilverPipeline

# Secret names in the vault: what Phase 3 and the pipeline look up.
BRONZE_CONNECTION_SECRET = "bronze-storage-connection-string"
GENERATOR_KEY_SECRET = "generator-function-key"
# The bronze SAS starts a little before it is minted (clock skew between the runner and Azure).
SAS_CLOCK_SKEW = "-15m"


class DataFactoryStack(TerraformStack):
    """The Phase 2 platform for one environment.

    Foundation (standalone or Phase 1's), the generator Function, an Azure Data Factory with a
    system-assigned identity and diagnostics to Log Analytics, the secrets the seed needs in Key Vault,
    least-privilege RBAC for the Function and Factory identities, the silver pipeline, and outputs for
    Phase 3. Tenant, subscription and deployer come from the Azure login, never from code or config.

    What an environment does not use, it does not create: the bronze secret exists in
    connection-string mode only, and holds a container SAS (create + write on bronze, renewed by
    ``sas_rotation``), never the account key; the function key, its grant to the factory, the host-keys
    read and the factory's Key Vault linked service exist only with ``pipeline.call_generator``; the
    deployer's Key Vault role only when something is written.

    Escape hatches: ``client``, ``foundation``, ``function``, ``factory``, ``secrets`` (name -> VaultSecret),
    ``factory_grants`` (the silver pipeline's), ``deployer_grants``, ``bronze_sas`` and ``sas_rotation``
    (None in identity mode), ``silver`` (the SilverPipeline).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: EnvironmentConfig,
        function_code_path: Path = FUNCTION_APP_DIR,
        staging_dir: Path | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.config = config
        self._backend(config)
        # azurerm 4.x takes the subscription from ARM_SUBSCRIPTION_ID (or the az CLI login); nothing here.
        AzurermProvider(
            self,
            "azurerm",
            features=[
                AzurermProviderFeatures(
                    key_vault=[
                        AzurermProviderFeaturesKeyVault(
                            # Purging fails on a purge-protected vault (provider #15678).
                            purge_soft_delete_on_destroy=not config.key_vault.purge_protection,
                            recover_soft_deleted_key_vaults=True,
                        )
                    ],
                    resource_group=[AzurermProviderFeaturesResourceGroup(prevent_deletion_if_contains_resources=True)],
                    # Containers go through the management plane (storage_account_id), so the provider
                    # never needs data-plane access - which keyless accounts would refuse.
                    storage=[AzurermProviderFeaturesStorage(data_plane_available=False)],
                )
            ],
            storage_use_azuread=True,
        )
        TimeProvider(self, "time")
        self.client = DataAzurermClientConfig(self, "client")

        self.foundation = Foundation(
            self,
            "foundation",
            config=config,
            tenant_id=self.client.tenant_id,
            subscription_id=self.client.subscription_id,
            deployer_object_id=self.client.object_id,
        )
        storage, vault = self.foundation.storage, self.foundation.vault
        rg, location, tags = self.foundation.resource_group_name, config.location, dict(config.tags)

        # --- the bronze secret (connection-string design only; identity mode has no keys) ----------
        # A container SAS, create + write on bronze only, valid sas_valid_days from its start; the
        # time_rotating turns over at half that, so any apply in the second half mints a fresh one.
        self.secrets = {}
        self.bronze_sas = self.sas_rotation = None
        bronze_secret = None
        if config.function.storage_mode == "connection_string":
            days = config.function.sas_valid_days
            self.sas_rotation = Rotating(self, "bronze-sas-rotation", rotation_days=max(1, days // 2))
            start = Fn.timeadd(self.sas_rotation.rfc3339, SAS_CLOCK_SKEW)
            expiry = Fn.timeadd(self.sas_rotation.rfc3339, f"{days * 24}h")
            self.bronze_sas = storage.container_write_sas(
                "bronze-write-sas", container=self.foundation.bronze, start=start, expiry=expiry
            )
            bronze_secret = vault.add_secret(
                "bronze-connection-string",
                name=BRONZE_CONNECTION_SECRET,
                value=storage.sas_connection_string(self.bronze_sas),
                content_type="text/plain; storage connection string with a container SAS (bronze: create, write)",
                expiration_date=expiry,
            )
            self.secrets[BRONZE_CONNECTION_SECRET] = bronze_secret

        fn = config.function
        self.function = GeneratorFunction(
            self,
            "generator",
            name=fn.name,
            resource_group_name=rg,
            location=location,
            subscription_id=self.client.subscription_id,
            log_analytics_workspace_id=self.foundation.workspace_id,
            runtime_storage_account_name=fn.storage_account_name,
            bronze=self.foundation.bronze,
            storage_mode=fn.storage_mode,
            vault=vault,
            bronze_connection_secret=bronze_secret,
            python_version=fn.python_version,
            instance_memory_mb=fn.instance_memory_mb,
            maximum_instance_count=fn.maximum_instance_count,
            schedule=fn.schedule,
            batch_rows=fn.batch_rows,
            dirty_ratio=fn.dirty_ratio,
            max_rows=fn.max_rows,
            code_path=function_code_path,
            staging_dir=staging_dir,
            deploy_code=fn.deploy_code,
            rbac_propagation_wait=config.key_vault.rbac_propagation_wait,
            tags=tags,
        )
        if config.pipeline.call_generator:  # the factory's Azure Function activity is the key's only user
            self.secrets[GENERATOR_KEY_SECRET] = vault.add_secret(
                "generator-function-key",
                name=GENERATOR_KEY_SECRET,
                value=self.function.default_function_key,
                content_type="text/plain; Azure Functions function key (generator)",
            )

        # --- Data Factory ---------------------------------------------------------------------------
        self.factory = DataFactory(
            self,
            "data-factory",
            name=config.data_factory.name,
            resource_group_name=rg,
            location=location,
            identity=DataFactoryIdentity(type="SystemAssigned"),
            public_network_enabled=config.data_factory.public_network_enabled,
            tags=tags,
        )
        to_log_analytics(
            self,
            "data-factory-diagnostics",
            target_resource_id=self.factory.id,
            workspace_id=self.foundation.workspace_id,
            destination_type="Dedicated",
        )
        # The deployer (a developer, or the pipeline's service connection) may list what landed in bronze:
        # the post-deploy smoke test proves a new blob appeared, keylessly (`--auth-mode login`).
        self.deployer_grants = [
            storage.grant_read(
                self.foundation.deployer,
                container=self.foundation.bronze,
                description="Smoke test and operators: list and read bronze blobs with Entra ID.",
            )
        ]

        self.silver = self._silver_pipeline(config)
        self.factory_grants = self.silver.grants  # read bronze, write silver and quarantine, read the function key
        self._outputs(storage, vault)
        add_moved_blocks(self)

    # --- pieces ---------------------------------------------------------------------------------

    def _backend(self, config: EnvironmentConfig) -> None:
        state = config.state
        if state.backend == "azurerm":
            AzurermBackend(
                self,
                resource_group_name=state.resource_group_name,
                storage_account_name=state.storage_account_name,
                container_name=state.container_name,
                key=state.key,
                use_azuread_auth=True,  # Entra ID to the state blob: no storage keys anywhere
            )
        else:
            # Next to the repository, outside cdktf.out/ (which every synth replaces); relative to the
            # stack directory cdktf.out/stacks/<stack>/ where Terraform runs.
            LocalBackend(self, path=f"../../../terraform.{config.stack_name}.tfstate")

    def _silver_pipeline(self, config: EnvironmentConfig) -> SilverPipeline:
        generator = None
        if config.pipeline.call_generator:
            generator = GeneratorCall(
                function_app_url=self.function.url,
                key_secret=self.secrets[GENERATOR_KEY_SECRET],
                rows=config.pipeline.generator_rows,
            )
        f = self.foundation
        return SilverPipeline(
            self,
            "silver",
            name="silver",
            factory=self.factory,
            bronze=f.bronze,
            silver=f.silver,
            quarantine=f.quarantine,
            compute=config.pipeline.compute,
            schedule=config.pipeline.schedule,
            generator=generator,
        )

    def _outputs(self, storage, vault) -> None:
        out = {
            "resource_group_name": self.foundation.resource_group_name,
            "location": self.config.location,
            "storage_account_name": storage.account_name,
            "storage_account_id": storage.account_id,
            "storage_dfs_endpoint": storage.dfs_endpoint,
            "storage_blob_endpoint": storage.blob_endpoint,
            "bronze_container_name": self.foundation.bronze.name,
            "silver_container_name": self.foundation.silver.name,
            "quarantine_container_name": self.foundation.quarantine.name,
            "key_vault_name": vault.vault_name,
            "key_vault_id": vault.vault_id,
            "key_vault_uri": vault.vault_uri,
            "log_analytics_workspace_id": self.foundation.workspace_id,
            "data_factory_name": self.factory.name,
            "data_factory_id": self.factory.id,
            "data_factory_principal_id": self.factory.identity.principal_id,
            "function_app_name": self.function.app.name,
            "function_app_url": self.function.url,
            "function_principal_id": self.function.principal_id,
            "function_workload_principal_id": self.function.workload_principal_id,
            "function_workload_client_id": self.function.identity.client_id,
        }
        for name, value in out.items():
            TerraformOutput(self, name, value=value)
        # Secret-bearing values: marked sensitive, so plans and logs show them redacted.
        TerraformOutput(
            self, "application_insights_connection_string", value=self.function.insights.connection_string, sensitive=True
        )
        # Where the secrets are (not what they hold): versionless URIs for Key Vault references.
        TerraformOutput(self, "secret_uris", value={name: secret.versionless_id for name, secret in sorted(self.secrets.items())})
