"""``GeneratorFunction``: the event generator as a Python Function App on Flex Consumption."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Mapping

from cdktf import AssetType, DataResource, LocalExecProvisioner, Postcondition, TerraformAsset, TerraformResourceLifecycle
from cdktf_cdktf_provider_azurerm.application_insights import ApplicationInsights
from cdktf_cdktf_provider_azurerm.data_azurerm_function_app_host_keys import DataAzurermFunctionAppHostKeys
from cdktf_cdktf_provider_azurerm.function_app_flex_consumption import (
    FunctionAppFlexConsumption,
    FunctionAppFlexConsumptionIdentity,
    FunctionAppFlexConsumptionSiteConfig,
)
from cdktf_cdktf_provider_azurerm.service_plan import ServicePlan
from cdktf_cdktf_provider_azurerm.storage_container import StorageContainer
from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from cdktf_cdktf_provider_time.sleep import Sleep
from constructs import Construct
from emotion_events import app_settings as settings

from . import roles, validation
from ._secure_storage import secure_storage_account
from .diagnostics import to_log_analytics
from .function_package import FUNCTION_APP_DIR, archive_for
from .roles import Principal
from .secrets_vault import SecretsVaultBase, VaultSecret
from .silver_storage import BlobContainer

StorageMode = Literal["connection_string", "identity"]

# The Functions host reads these to reach its own storage with a managed identity instead of a key.
HOST_STORAGE = "AzureWebJobsStorage"

# Runs where Terraform runs (laptop or pipeline agent): needs the az CLI, logged in, and coreutils
# `timeout`. Flex Consumption deploys through OneDeploy; azurerm's zip_deploy_file calls the wrong
# endpoint on Flex (provider #29630). On every update of the app azurerm 4.55 re-injects
# `AzureWebJobsStorage` and `DEPLOYMENT_STORAGE_CONNECTION_STRING` as connection strings with an empty
# key (provider #29149, #29693, #30732): they would shadow the identity-based `AzureWebJobsStorage__*`
# settings, so both are removed first. For Flex, `config-zip` ends with a host-health poll that never
# gives up (azure-cli `check_flex_app_after_deployment`; `--timeout` bounds only the deployment-status
# poll) and local-exec has no timeout: `timeout` bounds the whole step so an unhealthy host fails the
# apply with a pointer to what to check instead of hanging it.
DEPLOY_SCRIPT = """set -eu
TIMEOUT_CMD=$(command -v timeout || command -v gtimeout || true)
if [ -z "$TIMEOUT_CMD" ]; then
  echo "error: the code deployment needs coreutils 'timeout' on PATH (macOS: brew install coreutils)" >&2
  exit 127
fi
echo "deploying $SRC to function app $APP (remote build, at most $DEPLOY_TIMEOUT s)"
az functionapp config appsettings delete --subscription "$SUBSCRIPTION" --resource-group "$RG" --name "$APP" \\
  --setting-names AzureWebJobsStorage DEPLOYMENT_STORAGE_CONNECTION_STRING --output none
status=0
"$TIMEOUT_CMD" --kill-after=30 "$DEPLOY_TIMEOUT" \\
  az functionapp deployment source config-zip --subscription "$SUBSCRIPTION" --resource-group "$RG" --name "$APP" \\
  --src "$SRC" --build-remote true --timeout 900 --output none || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "error: deploying the code to $APP did not finish within $DEPLOY_TIMEOUT s; the Functions host most likely" >&2
  echo "never became healthy. Look at: the app's Application Insights (traces and exceptions of the host)," >&2
  echo "its app settings (AzureWebJobsStorage__* present, no AzureWebJobsStorage or DEPLOYMENT_STORAGE_CONNECTION_STRING)," >&2
  echo "its Key Vault references (portal: Environment variables) and the role assignments of its identities." >&2
  echo "Then re-run the apply: the step runs again until it succeeds." >&2
  exit 124
fi
exit "$status"
"""
# Terraform condition on data.azurerm_function_app_host_keys (`self` is the data source).
HOST_KEY_PRESENT = '${self.default_function_key != null && self.default_function_key != ""}'
# The whole deployment (upload, remote build, host start) may take at most this long by default.
DEFAULT_DEPLOY_TIMEOUT_SECONDS = 1800


class GeneratorFunction(Construct):
    """A Flex Consumption (FC1) Function App running ``function_app/``, secure by default.

    - Identities: a user-assigned identity, created and authorized *before* the app, for everything the
      host needs at start (its own storage, deployment package, Application Insights with Entra ID auth,
      and bronze in ``identity`` mode); the app's system-assigned identity resolves Key Vault references
      (the Flex resource cannot name another identity for them), granted Secrets User on each secret.
    - Host storage is keyless: a dedicated account with shared keys disabled, ``AzureWebJobsStorage__*``
      identity settings, deployment package container authenticated with the user-assigned identity.
    - ``storage_mode="connection_string"``: bronze arrives as a Key Vault reference
      (``BRONZE_STORAGE_CONNECTION_STRING``); ``"identity"``: only ``BRONZE_STORAGE_ACCOUNT_URL`` and the
      identity's client id, and the identity gets Storage Blob Data Contributor on the bronze container.
    - HTTPS only, TLS 1.2 minimum (site and SCM), remote debugging off, basic-auth publishing off (Flex has
      no FTP endpoint at all), workspace-based Application Insights with local auth disabled.
    - Code: ``function_app/`` without what ``.funcignore`` lists, zipped reproducibly at synth into a
      ``TerraformAsset`` (the archive lands next to the stack in cdktf.out) and deployed in the same
      apply by ``deploy`` (a ``terraform_data`` whose local-exec runs ``az functionapp deployment source
      config-zip --build-remote true``), re-run when the archive's hash changes, ordered after every role
      assignment has propagated, bounded by ``deploy_timeout_seconds`` (default 1800) so a host that never
      becomes healthy fails the apply with a message instead of hanging it. Deploying restarts the host,
      which then resolves the Key Vault references with the by-then authorized identity.
    - ``rbac_wait`` (a ``time_sleep``) is replaced, and so waits again, whenever a role assignment it waits
      for is replaced; ``host_keys`` fails the apply (postcondition) when the host has no default key.

    - Host keys are read (``data.azurerm_function_app_host_keys``, which stores the master key in state
      too) only when ``default_function_key`` is used, after the code is deployed.
    - Diagnostics: the app's logs and metrics and the runtime account's blob service logs go to the
      ``log_analytics_workspace_id`` workspace (keyless diagnostic settings).

    Properties (checked with :mod:`emotion_platform.validation`, the rules config files are checked with):

    :param name: the Function App (2-32 letters, digits, hyphens); also names ``id-``, ``appi-``, ``asp-<name>``,
        so two generators need two names. Required.
    :param resource_group_name: required. :param location: required. :param subscription_id: required
        (the deploy step's ``az`` calls).
    :param log_analytics_workspace_id: where logs, metrics and Application Insights go. Required.
    :param runtime_storage_account_name: the host's own account (keyless). Required.
    :param bronze: the container the generator writes (``lake.container(...)``). Required.
    :param storage_mode: ``"identity"`` (default: keyless, no shared key or connection string anywhere) or
        ``"connection_string"`` (then ``vault`` and ``bronze_connection_secret`` are required; a secret given
        in identity mode is refused, not ignored).
    :param vault: the vault of ``bronze_connection_secret``. Required in connection-string mode. Default None.
    :param bronze_connection_secret: a ``VaultSecret`` holding the bronze connection string. Default None.
    :param python_version: ``3.10``, ``3.11`` (default) or ``3.12``.
    :param instance_memory_mb: 512, 2048 (default) or 4096. :param maximum_instance_count: 40-1000, default 40.
    :param schedule: NCRONTAB of the timer, default hourly. :param batch_rows: rows per timer batch, default
        10000. :param dirty_ratio: 0-0.5, default 0.05. :param max_rows: largest HTTP request, default 5,000,000.
    :param code_path: the Functions project deployed. Default the packaged ``function_app/``.
    :param staging_dir: where the archive is built. Default a temporary folder.
    :param deploy_code: deploy in the same apply. Default True. :param deploy_timeout_seconds: 60-7200, default 1800.
    :param rbac_propagation_wait: default ``"60s"``. :param tags: default none.

    Grantee: ``principal`` is the workload (user-assigned) identity, ``app_principal`` the system-assigned one.

    Escape hatches: ``app``, ``plan``, ``identity``, ``runtime_storage``, ``package_container``,
    ``insights``, ``asset``, ``deploy`` (None when ``deploy_code=False``), ``host_keys`` (None until
    ``default_function_key`` is used), ``rbac_wait``, ``diagnostics`` (name -> setting).
    """

    RULES: Mapping[str, validation.Rule]  # prop -> rule (emotion_platform.validation), set below the class

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        resource_group_name: str,
        location: str,
        subscription_id: str,
        log_analytics_workspace_id: str,
        runtime_storage_account_name: str,
        bronze: BlobContainer,
        storage_mode: StorageMode = "identity",
        vault: SecretsVaultBase | None = None,
        bronze_connection_secret: VaultSecret | None = None,
        python_version: str = "3.11",
        instance_memory_mb: int = 2048,
        maximum_instance_count: int = 40,
        schedule: str = settings.DEFAULTS[settings.SCHEDULE],
        batch_rows: int = int(settings.DEFAULTS[settings.BATCH_ROWS]),
        dirty_ratio: float = float(settings.DEFAULTS[settings.DIRTY_RATIO]),
        max_rows: int = int(settings.DEFAULTS[settings.MAX_ROWS]),
        code_path: Path = FUNCTION_APP_DIR,
        staging_dir: Path | None = None,
        deploy_code: bool = True,
        deploy_timeout_seconds: int = DEFAULT_DEPLOY_TIMEOUT_SECONDS,
        rbac_propagation_wait: str = "60s",
        tags: Mapping[str, str] | None = None,
    ) -> None:
        _validate(locals())
        super().__init__(scope, id)
        tags = dict(tags or {})
        self.storage_mode = storage_mode

        self.runtime_storage = secure_storage_account(
            self,
            "runtime-storage",
            name=runtime_storage_account_name,
            resource_group_name=resource_group_name,
            location=location,
            hierarchical_namespace=False,
            shared_access_key_enabled=False,
            tags=tags,
        )
        self.package_container = StorageContainer(
            self,
            "package-container",
            name="app-package",
            storage_account_id=self.runtime_storage.id,
            container_access_type="private",
        )
        self.identity = UserAssignedIdentity(
            self, "identity", name=f"id-{name}", resource_group_name=resource_group_name, location=location, tags=tags
        )
        self.insights = ApplicationInsights(
            self,
            "insights",
            name=f"appi-{name}",
            resource_group_name=resource_group_name,
            location=location,
            application_type="web",
            workspace_id=log_analytics_workspace_id,
            local_authentication_disabled=True,
            tags=tags,
        )
        self.plan = ServicePlan(
            self,
            "plan",
            name=f"asp-{name}",
            resource_group_name=resource_group_name,
            location=location,
            os_type="Linux",
            sku_name="FC1",
            tags=tags,
        )

        uai = self.identity.principal_id
        # Trigger labels of the RBAC wait (stable, whatever the grants' construct ids are).
        labelled = [
            (
                "host-storage-owner",
                roles.grant(
                    self,
                    grantee=self.identity,
                    role=roles.BLOB_DATA_OWNER,
                    on=self.runtime_storage.id,
                    target="runtime-storage",
                    id="host-storage-owner",
                ),
            ),
            (
                "insights-publisher",
                roles.grant(
                    self,
                    grantee=self.identity,
                    role=roles.MONITORING_METRICS_PUBLISHER,
                    on=self.insights.id,
                    target="insights",
                    id="insights-publisher",
                ),
            ),
        ]
        if storage_mode == "identity":  # on the lake, its construct id derived from this identity: generators never collide
            labelled.append(("bronze-writer", bronze.lake.grant_write(self.identity, container=bronze)))
        host_grants = [grant for _, grant in labelled]

        app_settings = {
            f"{HOST_STORAGE}__accountName": self.runtime_storage.name,
            f"{HOST_STORAGE}__credential": "managedidentity",
            f"{HOST_STORAGE}__clientId": self.identity.client_id,
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": f"ClientId={self.identity.client_id};Authorization=AAD",
            settings.BRONZE_ACCOUNT_URL: bronze.lake.blob_endpoint,
            settings.MANAGED_IDENTITY_CLIENT_ID: self.identity.client_id,
            settings.BRONZE_CONTAINER: bronze.name,
            settings.SCHEDULE: schedule,
            settings.BATCH_ROWS: str(batch_rows),
            settings.DIRTY_RATIO: str(dirty_ratio),
            settings.MAX_ROWS: str(max_rows),
        }
        if storage_mode == "connection_string":
            assert bronze_connection_secret is not None  # _validate
            app_settings[settings.BRONZE_CONNECTION_STRING] = bronze_connection_secret.reference

        self.app = FunctionAppFlexConsumption(
            self,
            "app",
            name=name,
            resource_group_name=resource_group_name,
            location=location,
            service_plan_id=self.plan.id,
            runtime_name="python",
            runtime_version=python_version,
            instance_memory_in_mb=instance_memory_mb,
            maximum_instance_count=maximum_instance_count,
            storage_container_type="blobContainer",
            storage_container_endpoint=f"{self.runtime_storage.primary_blob_endpoint}{self.package_container.name}",
            storage_authentication_type="UserAssignedIdentity",
            storage_user_assigned_identity_id=self.identity.id,
            identity=FunctionAppFlexConsumptionIdentity(type="SystemAssigned, UserAssigned", identity_ids=[self.identity.id]),
            https_only=True,
            public_network_access_enabled=True,
            webdeploy_publish_basic_authentication_enabled=False,
            client_certificate_mode="Optional",
            site_config=FunctionAppFlexConsumptionSiteConfig(
                application_insights_connection_string=self.insights.connection_string,
                minimum_tls_version="1.2",
                scm_minimum_tls_version="1.2",
                remote_debugging_enabled=False,
                http2_enabled=True,
            ),
            app_settings=app_settings,
            tags=tags,
            depends_on=host_grants,
        )

        # Application Insights is workspace-based already (its telemetry lands in the same workspace);
        # a diagnostic setting on it would only ingest the same data twice.
        self.diagnostics = {
            "app": to_log_analytics(
                self, "app-diagnostics", target_resource_id=self.app.id, workspace_id=log_analytics_workspace_id
            ),  # allLogs: FunctionAppLogs
            "runtime-blob": to_log_analytics(
                self,
                "runtime-blob-diagnostics",
                target_resource_id=f"{self.runtime_storage.id}/blobServices/default",
                workspace_id=log_analytics_workspace_id,  # StorageRead, StorageWrite, StorageDelete
                metric_category="Transaction",
            ),
        }

        # Key Vault references resolve with the system-assigned identity, which exists only now.
        self.secret_grants = []
        if storage_mode == "connection_string":
            assert vault is not None and bronze_connection_secret is not None  # _validate
            grant = vault.grant_read(self.app_principal, secret=bronze_connection_secret)
            self.secret_grants.append(grant)
            labelled.append(("app-reads-bronze-connection", grant))
        # time_sleep waits only when it is created: its triggers replace it (and so wait again) whenever a
        # role assignment it waits for is replaced, e.g. after the identity or the app is replaced.
        waited_for = [*host_grants, *self.secret_grants]
        self.rbac_wait = Sleep(
            self,
            "rbac-propagation",
            create_duration=rbac_propagation_wait,
            triggers={
                **{f"role_{label}": grant.id for label, grant in labelled},
                "workload_principal": uai,
                "app_principal": self.principal_id,
            },
            depends_on=[*waited_for, self.app],
        )

        self.asset = None
        self.deploy = None
        after_deploy = [self.rbac_wait]
        if deploy_code:
            archive = archive_for(Path(code_path), Path(staging_dir or _default_staging()))
            self.asset = TerraformAsset(self, "code", path=str(archive), type=AssetType.FILE)
            self.deploy = DataResource(
                self,
                "deploy",
                triggers_replace={"code": self.asset.asset_hash, "app": self.app.id},
                provisioners=[
                    LocalExecProvisioner(
                        type="local-exec",
                        interpreter=["/bin/sh", "-c"],
                        command=DEPLOY_SCRIPT,
                        environment={
                            "SUBSCRIPTION": subscription_id,
                            "RG": resource_group_name,
                            "APP": self.app.name,
                            "SRC": self.asset.path,
                            "DEPLOY_TIMEOUT": str(deploy_timeout_seconds),
                        },
                    )
                ],
                depends_on=[self.rbac_wait],
            )
            # azurerm re-injects the key-based AzureWebJobsStorage on every update of the app
            # (provider #29149): any planned change to the app re-runs the step that removes it. A plain
            # address, not a resource object: cdktf would write an invalid "${...}" there (terraform-cdk #3532).
            self.deploy.add_override(
                "lifecycle.replace_triggered_by",
                [f"{self.app.terraform_resource_type}.{self.app.friendly_unique_id}"],
            )
            after_deploy = [self.deploy]
        self._host_keys_after = after_deploy
        self._resource_group_name = resource_group_name
        self._name = name
        self.host_keys: DataAzurermFunctionAppHostKeys | None = None

    @property
    def principal(self) -> Principal:
        """The workload identity (user-assigned), which the code uses for storage: what to grant data to."""
        return Principal(self.identity.principal_id, "ServicePrincipal", roles.construct_key(self.identity))

    @property
    def app_principal(self) -> Principal:
        """The app's system-assigned identity, which resolves Key Vault references: what to grant secrets to
        that appear in app settings."""
        return Principal(self.app.identity.principal_id, "ServicePrincipal", roles.construct_key(self.app))

    @property
    def principal_id(self) -> str:
        """The app's system-assigned identity (resolves Key Vault references)."""
        return self.app.identity.principal_id

    @property
    def workload_principal_id(self) -> str:
        """The user-assigned identity the code and host use for storage and telemetry."""
        return self.identity.principal_id

    @property
    def url(self) -> str:
        return f"https://{self.app.default_hostname}"

    @property
    def default_function_key(self) -> str:
        """Secret: the host's default function key (write it to Key Vault, never to an output). The first
        use adds ``host_keys``; function keys exist once the host has started with code."""
        if self.host_keys is None:
            # Without a `default` key the data source returns "" and no error (provider
            # function_app_host_keys_data_source.go, #29006): stop the apply there rather than write an
            # empty key that surfaces later as a 401 in Data Factory.
            self.host_keys = DataAzurermFunctionAppHostKeys(
                self,
                "host-keys",
                name=self.app.name,
                resource_group_name=self._resource_group_name,
                depends_on=self._host_keys_after,
                lifecycle=TerraformResourceLifecycle(
                    postcondition=[
                        Postcondition(
                            condition=HOST_KEY_PRESENT,
                            error_message=(
                                f"Function App {self._name} has no default function key yet (the host has not started "
                                "with code, or its keys were removed). Check that the code deployment succeeded and the "
                                "host is running, then re-run the apply."
                            ),
                        )
                    ]
                ),
            )
        return self.host_keys.default_function_key


_RULES = {
    "name": validation.rule("function_app_name"),
    "resource_group_name": validation.rule("resource_group_name"),
    "location": validation.rule("location"),
    "subscription_id": validation.check_uuid,
    "log_analytics_workspace_id": validation.check_non_empty,
    "runtime_storage_account_name": validation.rule("storage_account_name"),
    "storage_mode": validation.rule("storage_mode"),
    "python_version": validation.rule("python_version"),
    "instance_memory_mb": validation.rule("instance_memory_mb"),
    "maximum_instance_count": validation.rule("maximum_instance_count"),
    "schedule": validation.rule("schedule"),
    "batch_rows": validation.rule("batch_rows"),
    "dirty_ratio": validation.rule("dirty_ratio"),
    "max_rows": validation.rule("max_rows"),
    "deploy_timeout_seconds": validation.integer_between(60, 7200),
    "rbac_propagation_wait": validation.rule("rbac_propagation_wait"),
    "tags": validation.rule("tags"),
}


GeneratorFunction.RULES = _RULES


def _validate(props: dict) -> None:
    """Every documented rule, before anything is created: ``GeneratorFunction.<prop> = <value>: <rule>``."""
    values = {prop: props[prop] for prop in _RULES}
    values["tags"] = dict(values["tags"] or {})
    validation.check_all("GeneratorFunction", values, _RULES)
    if not isinstance(props["bronze"], BlobContainer):
        raise validation.ValidationError(
            "GeneratorFunction.bronze",
            props["bronze"],
            "must be a container object: lake.container('bronze') or lake.add_container(...)",
        )
    if props["storage_mode"] == "identity" and props["bronze_connection_secret"] is not None:
        # The default used to be "connection_string": an app passing a secret without a mode would
        # otherwise switch to identity mode silently, its secret unused.
        raise validation.ValidationError(
            "GeneratorFunction.bronze_connection_secret",
            props["bronze_connection_secret"],
            "is used only with storage_mode='connection_string' (the default is 'identity', keyless): "
            "pass storage_mode='connection_string' or drop the secret",
        )
    if props["storage_mode"] == "connection_string":
        if props["vault"] is None or props["bronze_connection_secret"] is None:
            raise validation.ValidationError(
                "GeneratorFunction.bronze_connection_secret",
                props["bronze_connection_secret"],
                "storage_mode 'connection_string' needs vault= and bronze_connection_secret= (a Key Vault reference)",
            )
        if not isinstance(props["bronze_connection_secret"], VaultSecret):
            raise validation.ValidationError(
                "GeneratorFunction.bronze_connection_secret",
                props["bronze_connection_secret"],
                "must be a secret object: vault.secret(name) or vault.add_secret(...)",
            )


def _default_staging() -> Path:
    import atexit
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="phase2-function-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
