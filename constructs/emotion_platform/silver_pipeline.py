"""``SilverPipeline``: the Data Factory side of the silver contract, as code.

Inside an existing factory (its system-assigned identity does the data access) it creates:

- ``lake_linked_service``: ADLS Gen2 through the factory's managed identity (``url`` + ``use_managed_identity``,
  no key or connection string anywhere); ``key_vault_linked_service`` when ``key_vault_id`` is given;
- ``bronze_dataset`` (CSV with ``first_row_as_header = true``; the column delimiter is empty so each
  line arrives whole and the data flow splits it exactly as the DuckDB engine does), ``silver_dataset``
  and ``quarantine_dataset`` (Parquet);
- ``integration_runtime`` (Azure IR sized by ``compute``) and ``data_flow``, whose script is generated
  from the contract (:mod:`emotion_platform.dataflow.script`), with source and sink names taken from it;
- ``pipeline`` running the data flow (one run at a time), optionally after an Azure Function activity
  that calls the generator (``function_linked_service``, its key read from Key Vault);
- ``trigger``: a schedule with frequency and interval always written (azurerm's default is every minute).

It grants the factory's identity what the pipeline needs, nothing more: read on bronze, write on silver
and quarantine, read on the generator's key (``grants``). The containers themselves belong to the lake.
"""

from __future__ import annotations

import json

from cdktf_cdktf_provider_azurerm.data_factory_data_flow import (
    DataFactoryDataFlow,
    DataFactoryDataFlowSink,
    DataFactoryDataFlowSinkDataset,
    DataFactoryDataFlowSource,
    DataFactoryDataFlowSourceDataset,
)
from cdktf_cdktf_provider_azurerm.data_factory_dataset_delimited_text import (
    DataFactoryDatasetDelimitedText,
    DataFactoryDatasetDelimitedTextAzureBlobFsLocation,
)
from cdktf_cdktf_provider_azurerm.data_factory_dataset_parquet import (
    DataFactoryDatasetParquet,
    DataFactoryDatasetParquetAzureBlobFsLocation,
)
from cdktf_cdktf_provider_azurerm.data_factory_integration_runtime_azure import DataFactoryIntegrationRuntimeAzure
from cdktf_cdktf_provider_azurerm.data_factory_linked_service_azure_function import (
    DataFactoryLinkedServiceAzureFunction,
    DataFactoryLinkedServiceAzureFunctionKeyVaultKey,
)
from cdktf_cdktf_provider_azurerm.data_factory_linked_service_data_lake_storage_gen2 import (
    DataFactoryLinkedServiceDataLakeStorageGen2,
)
from cdktf_cdktf_provider_azurerm.data_factory_linked_service_key_vault import DataFactoryLinkedServiceKeyVault
from cdktf_cdktf_provider_azurerm.data_factory_pipeline import DataFactoryPipeline
from cdktf_cdktf_provider_azurerm.data_factory_trigger_schedule import DataFactoryTriggerSchedule
from cdktf_cdktf_provider_azurerm.data_factory import DataFactory
from constructs import Construct
from emotion_events.contract import SilverContract

from . import roles, validation
from ._checked_scripts import typecheck_once
from .dataflow.check import check
from .dataflow.script import BRONZE_WILDCARD, DataFlowScript, generate_script, terraform_escape
from .pipeline_settings import DataFlowCompute, GeneratorCall, PipelineSchedule
from .secrets_vault import VaultSecret
from .silver_storage import BlobContainer

BRONZE_FOLDER = BRONZE_WILDCARD.split("/")[0]
GENERATE_ACTIVITY = "GenerateBronze"
CLEAN_ACTIVITY = "CleanBronzeToSilver"


class SilverPipelineError(validation.ValidationError):
    """A SilverPipeline property is invalid: ``SilverPipeline.<prop> = <value>: <rule>``."""

    def __init__(self, prop: str, value: object, rule: str) -> None:
        super().__init__(f"SilverPipeline.{prop}", value, rule)


def _check(prop: str, value: object, rule: validation.Rule) -> None:
    if not validation.is_token(value) and (problem := rule(value)):
        raise SilverPipelineError(prop, value, problem)


def _validate(
    *,
    name: str,
    factory: object,
    bronze: object,
    silver: object,
    quarantine: object,
    compute: DataFlowCompute,
    schedule: PipelineSchedule,
    generator: GeneratorCall | None,
) -> None:
    _check("name", name, validation.check_adf_name)
    if not isinstance(factory, DataFactory):
        raise SilverPipelineError(
            "factory", factory, "must be the DataFactory resource (the pipeline grants its identity access)"
        )
    containers = {"bronze": bronze, "silver": silver, "quarantine": quarantine}
    for prop, value in containers.items():
        if not isinstance(value, BlobContainer):
            raise SilverPipelineError(
                prop, value, "must be a container object: lake.container('<name>') or lake.add_container('<name>')"
            )
    assert isinstance(bronze, BlobContainer) and isinstance(silver, BlobContainer) and isinstance(quarantine, BlobContainer)
    if not (bronze.lake is silver.lake is quarantine.lake):
        raise SilverPipelineError("silver", silver.name, "bronze, silver and quarantine must be containers of one lake")
    literal = [c.name for c in (bronze, silver, quarantine) if not validation.is_token(c.name)]
    if len(set(literal)) != len(literal):
        raise SilverPipelineError("silver", silver.name, "bronze, silver and quarantine must be three different containers")
    for field in ("core_count", "compute_type", "time_to_live_min"):
        _check(f"compute.{field}", getattr(compute, field), validation.rule(field))
    for field in ("frequency", "interval", "start_time", "time_zone"):
        _check(f"schedule.{field}", getattr(schedule, field), validation.rule(field))
    if generator is not None:
        _check("generator.function_app_url", generator.function_app_url, validation.check_https_url)
        _check("generator.function_name", generator.function_name, validation.check_function_name)
        _check("generator.rows", generator.rows, validation.rule("generator_rows"))
        if not isinstance(generator.key_secret, VaultSecret):
            raise SilverPipelineError(
                "generator.key_secret",
                generator.key_secret,
                "must be a secret object (vault.secret(name) or vault.add_secret(...)): the factory reads the function key from it",
            )


class SilverPipeline(Construct):
    """Bronze CSV -> silver Parquet + quarantine in Data Factory, cleaning rules generated from the contract.

    :param name: prefix of every Data Factory object it creates (``ls_<name>_datalake``, ``pl_<name>_clean_events``,
        ...): letters, digits and underscores, unique within the factory, so two pipelines can share one
        factory. Required.
    :param factory: the ``DataFactory`` (its system-assigned identity reads and writes the lake). Required.
    :param bronze: the container read (``lake.container(...)``). Required; the factory gets Storage Blob
        Data Reader on it.
    :param silver: the container written. Required; Storage Blob Data Contributor.
    :param quarantine: the container for rejected lines. Required; Storage Blob Data Contributor.
    :param compute: the data flow's Spark compute. Default ``DataFlowCompute()`` (8 General cores, no TTL).
    :param schedule: the trigger. Default ``PipelineSchedule()`` (daily at 02:00 UTC from 2026-01-01).
    :param generator: call the generator Function first (its key read from ``generator.key_secret``; the
        factory gets Key Vault Secrets User on that secret). Default None.
    :param contract: the silver contract. Default the packaged ``contract.json``.

    Escape hatches: the linked services, datasets, ``data_flow``, ``integration_runtime``, ``pipeline``,
    ``trigger``; ``grants`` (the factory's role assignments); ``names`` (role -> Data Factory name).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        factory: DataFactory,
        bronze: BlobContainer,
        silver: BlobContainer,
        quarantine: BlobContainer,
        compute: DataFlowCompute = DataFlowCompute(),
        schedule: PipelineSchedule = PipelineSchedule(),
        generator: GeneratorCall | None = None,
        contract: SilverContract | None = None,
    ) -> None:
        _validate(
            name=name,
            factory=factory,
            bronze=bronze,
            silver=silver,
            quarantine=quarantine,
            compute=compute,
            schedule=schedule,
            generator=generator,
        )
        super().__init__(scope, id)
        self.script: DataFlowScript = generate_script(contract)
        check(self.script.text, sources=self.script.sources, sinks=self.script.sinks)
        # grammar, streams, columns and every call against the documented signatures; once per script and checker
        typecheck_once(self.script.text)
        data_factory_id = factory.id
        lake = bronze.lake
        self.factory = factory
        key_secret: VaultSecret | None = generator.key_secret if generator is not None else None
        p = name
        self.names = {
            "lake": f"ls_{p}_datalake",
            "key_vault": f"ls_{p}_keyvault",
            "generator": f"ls_{p}_generator",
            "bronze": f"ds_{p}_bronze_csv",
            "silver": f"ds_{p}_silver_parquet",
            "quarantine": f"ds_{p}_quarantine_parquet",
            "data_flow": f"df_{p}_clean_events",
            "runtime": f"ir-{p.replace('_', '-')}-dataflow",
            "pipeline": f"pl_{p}_clean_events",
            "trigger": f"tr_{p}_schedule",
        }
        # -- the factory's access: read bronze, write silver and quarantine, read the function key ----------
        self.grants = [
            lake.grant_read(factory, container=bronze),
            lake.grant_write(factory, container=silver),
            lake.grant_write(factory, container=quarantine),
        ]
        if key_secret is not None:
            self.grants.append(key_secret.vault.grant_read(factory, secret=key_secret))
        storage_dfs_endpoint = lake.dfs_endpoint
        bronze_container, silver_container, quarantine_container = bronze.name, silver.name, quarantine.name
        key_vault_id = key_secret.vault.vault_id if key_secret is not None else None

        # -- linked services: the factory's own identity, never a key or a connection string ---------
        self.lake_linked_service = DataFactoryLinkedServiceDataLakeStorageGen2(
            self,
            "lake",
            name=self.names["lake"],
            data_factory_id=data_factory_id,
            url=storage_dfs_endpoint,
            use_managed_identity=True,
            description="The data lake (bronze, silver, quarantine) through the factory's managed identity.",
        )
        self.key_vault_linked_service: DataFactoryLinkedServiceKeyVault | None = None
        if key_vault_id is not None:
            self.key_vault_linked_service = DataFactoryLinkedServiceKeyVault(
                self,
                "key-vault",
                name=self.names["key_vault"],
                data_factory_id=data_factory_id,
                key_vault_id=key_vault_id,
                description="Secrets the pipeline needs, read with the factory's identity.",
            )

        # -- datasets -----------------------------------------------------------------------------------
        plan = self.script.plan
        self.bronze_dataset = DataFactoryDatasetDelimitedText(
            self,
            "bronze",
            name=self.names["bronze"],
            data_factory_id=data_factory_id,
            linked_service_name=self.lake_linked_service.name,
            azure_blob_fs_location=DataFactoryDatasetDelimitedTextAzureBlobFsLocation(
                file_system=bronze_container, path=BRONZE_FOLDER
            ),
            first_row_as_header=True,
            # Empty column delimiter: each line is one value (mapping data flows only); the flow splits it.
            column_delimiter="",
            # Set explicitly: the provider sends an empty row delimiter when it is omitted (#22447).
            row_delimiter="\n",
            # No quote and no escape character: a value's quotes and backslashes are text, as in the
            # local engine (the provider sends "" as it is; ADF reads an empty quoteChar as none).
            quote_character="",
            escape_character="",
            encoding="UTF-8",
            description=f"Bronze event CSV ({plan.delimiter.join(plan.header)}), read line by line.",
        )
        self.silver_dataset = DataFactoryDatasetParquet(
            self,
            "silver",
            name=self.names["silver"],
            data_factory_id=data_factory_id,
            linked_service_name=self.lake_linked_service.name,
            azure_blob_fs_location=DataFactoryDatasetParquetAzureBlobFsLocation(file_system=silver_container),
            compression_codec="snappy",
            description="Silver events: normalized, standardized, deduplicated; event_date=YYYY-MM-DD folders.",
        )
        self.quarantine_dataset = DataFactoryDatasetParquet(
            self,
            "quarantine",
            name=self.names["quarantine"],
            data_factory_id=data_factory_id,
            linked_service_name=self.lake_linked_service.name,
            azure_blob_fs_location=DataFactoryDatasetParquetAzureBlobFsLocation(file_system=quarantine_container),
            compression_codec="snappy",
            description="Bronze lines that failed a contract rule, with the first failing rule as reason.",
        )

        # -- the data flow ------------------------------------------------------------------------------
        sinks = dict(zip(self.script.sinks, (self.silver_dataset, self.quarantine_dataset)))
        self.data_flow = DataFactoryDataFlow(
            self,
            "data-flow",
            name=self.names["data_flow"],
            data_factory_id=data_factory_id,
            script=terraform_escape(self.script.text),
            source=[
                DataFactoryDataFlowSource(
                    name=self.script.sources[0], dataset=DataFactoryDataFlowSourceDataset(name=self.bronze_dataset.name)
                )
            ],
            sink=[
                DataFactoryDataFlowSink(name=name, dataset=DataFactoryDataFlowSinkDataset(name=ds.name))
                for name, ds in sinks.items()
            ],
            description=f"Silver contract v{plan.contract.version}, generated; do not edit in the portal.",
        )
        self.integration_runtime = DataFactoryIntegrationRuntimeAzure(
            self,
            "runtime",
            name=self.names["runtime"],
            data_factory_id=data_factory_id,
            location="AutoResolve",
            compute_type=compute.compute_type,
            core_count=compute.core_count,
            time_to_live_min=compute.time_to_live_min,
            description="Spark compute for the silver data flow.",
        )

        # -- optional generator call, then the pipeline -----------------------------------------------------
        self.function_linked_service: DataFactoryLinkedServiceAzureFunction | None = None
        activities: list[dict] = []
        depends = [self.data_flow, self.integration_runtime]
        if generator is not None:
            assert self.key_vault_linked_service is not None and key_secret is not None
            self.function_linked_service = DataFactoryLinkedServiceAzureFunction(
                self,
                "generator",
                name=self.names["generator"],
                data_factory_id=data_factory_id,
                url=generator.function_app_url,
                key_vault_key=DataFactoryLinkedServiceAzureFunctionKeyVaultKey(
                    linked_service_name=self.key_vault_linked_service.name, secret_name=key_secret.name
                ),
                description="The bronze generator Function; its key comes from Key Vault.",
            )
            depends.append(self.function_linked_service)
            activities.append(
                {
                    "name": GENERATE_ACTIVITY,
                    "type": "AzureFunctionActivity",
                    "dependsOn": [],
                    "policy": {
                        "timeout": "0.00:05:00",
                        "retry": 1,
                        "retryIntervalInSeconds": 60,
                        "secureOutput": False,
                        "secureInput": False,
                    },
                    "userProperties": [],
                    "linkedServiceName": {"referenceName": self.names["generator"], "type": "LinkedServiceReference"},
                    "typeProperties": {
                        "functionName": generator.function_name,
                        "method": "POST",
                        "body": {"rows": generator.rows},
                    },
                }
            )
        activities.append(
            {
                "name": CLEAN_ACTIVITY,
                "type": "ExecuteDataFlow",
                "dependsOn": [{"activity": GENERATE_ACTIVITY, "dependencyConditions": ["Succeeded"]}] if generator else [],
                "policy": {
                    "timeout": "0.04:00:00",
                    "retry": 0,
                    "retryIntervalInSeconds": 30,
                    "secureOutput": False,
                    "secureInput": False,
                },
                "userProperties": [],
                # Keys as go-azure-sdk spells them (the provider writes them back so): `dataFlow`, not the
                # portal's `dataflow`, or every plan shows a change (tests/infra/test_activities_json.py).
                "typeProperties": {
                    "dataFlow": {"referenceName": self.names["data_flow"], "type": "DataFlowReference"},
                    "integrationRuntime": {"referenceName": self.names["runtime"], "type": "IntegrationRuntimeReference"},
                    "compute": {"coreCount": compute.core_count, "computeType": compute.compute_type},
                    "traceLevel": "Fine",
                },
            }
        )
        self.activities = activities
        self.pipeline = DataFactoryPipeline(
            self,
            "pipeline",
            name=self.names["pipeline"],
            data_factory_id=data_factory_id,
            activities_json=terraform_escape(json.dumps(activities, separators=(",", ":"))),
            concurrency=1,  # the flow truncates and rewrites silver: two runs must never overlap
            description="Bronze to silver: " + ("generate, then " if generator else "") + "clean with the contract's data flow.",
            depends_on=depends,
        )
        self.trigger = DataFactoryTriggerSchedule(
            self,
            "trigger",
            name=self.names["trigger"],
            data_factory_id=data_factory_id,
            pipeline_name=self.pipeline.name,
            frequency=schedule.frequency,
            interval=schedule.interval,
            start_time=schedule.start_time,
            time_zone=schedule.time_zone,
            activated=schedule.activated,
            description=f"Run the silver pipeline every {schedule.interval} {schedule.frequency.lower()}(s).",
        )

    @property
    def principal(self) -> "roles.Principal":
        """The factory's identity, which runs the pipeline."""
        return roles.principal_of(self.factory)
