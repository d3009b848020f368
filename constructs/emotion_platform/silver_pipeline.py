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

Role assignments for the factory identity and the containers themselves belong to the stack.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from cdktf import Token
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
from constructs import Construct
from emotion_events.contract import SilverContract

from .dataflow.check import check
from .dataflow.script import BRONZE_WILDCARD, DataFlowScript, generate_script, terraform_escape
from .pipeline_settings import DataFlowCompute, GeneratorCall, PipelineSchedule

CORE_COUNTS = (8, 16, 32, 48, 80, 144, 272)
COMPUTE_TYPES = ("General", "MemoryOptimized")
FREQUENCIES = ("Minute", "Hour", "Day", "Week", "Month")
_CONTAINER = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_FUNCTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,127}$")
_SECRET_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
BRONZE_FOLDER = BRONZE_WILDCARD.split("/")[0]
GENERATE_ACTIVITY = "GenerateBronze"
CLEAN_ACTIVITY = "CleanBronzeToSilver"


class SilverPipelineError(ValueError):
    """A SilverPipeline property is invalid; names the property, the value and the rule."""

    def __init__(self, prop: str, value: object, rule: str) -> None:
        super().__init__(f"SilverPipeline {prop}={value!r} is invalid: {rule}")


def _is_token(value: object) -> bool:
    return isinstance(value, str) and Token.is_unresolved(value)


def _validate(*, bronze_container: str, silver_container: str, quarantine_container: str,
              compute: DataFlowCompute, schedule: PipelineSchedule, generator: GeneratorCall | None,
              key_vault_id: str | None) -> None:
    containers = {"bronze_container": bronze_container, "silver_container": silver_container,
                  "quarantine_container": quarantine_container}
    for prop, value in containers.items():
        if not _is_token(value) and not (isinstance(value, str) and _CONTAINER.match(value)):
            raise SilverPipelineError(prop, value, "must be a container name (3-63 lower-case letters, digits, single hyphens)")
    literal = [v for v in containers.values() if not _is_token(v)]
    if len(set(literal)) != len(literal):
        raise SilverPipelineError("containers", containers, "bronze, silver and quarantine must be three different containers")
    if compute.core_count not in CORE_COUNTS:
        raise SilverPipelineError("compute.core_count", compute.core_count, f"must be one of {CORE_COUNTS}")
    if compute.compute_type not in COMPUTE_TYPES:
        raise SilverPipelineError("compute.compute_type", compute.compute_type, f"must be one of {COMPUTE_TYPES}")
    if isinstance(compute.time_to_live_min, bool) or not isinstance(compute.time_to_live_min, int) \
            or not 0 <= compute.time_to_live_min <= 1440:
        raise SilverPipelineError("compute.time_to_live_min", compute.time_to_live_min, "must be an integer from 0 to 1440")
    if schedule.frequency not in FREQUENCIES:
        raise SilverPipelineError("schedule.frequency", schedule.frequency, f"must be one of {FREQUENCIES}")
    if isinstance(schedule.interval, bool) or not isinstance(schedule.interval, int) or schedule.interval < 1:
        raise SilverPipelineError("schedule.interval", schedule.interval, "must be an integer of at least 1")
    try:
        datetime.fromisoformat(schedule.start_time.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise SilverPipelineError("schedule.start_time", schedule.start_time, "must be an RFC 3339 time such as 2026-01-01T02:00:00Z") from None
    if not isinstance(schedule.time_zone, str) or not schedule.time_zone.strip():
        raise SilverPipelineError("schedule.time_zone", schedule.time_zone, "must be a time zone name such as UTC")
    if generator is not None:
        if key_vault_id is None:
            raise SilverPipelineError("key_vault_id", None, "is required when generator is set (the function key is read from Key Vault)")
        url = generator.function_app_url
        if not _is_token(url) and not (isinstance(url, str) and url.startswith("https://")):
            raise SilverPipelineError("generator.function_app_url", url, "must be an https:// URL")
        if not _FUNCTION_NAME.match(generator.function_name or ""):
            raise SilverPipelineError("generator.function_name", generator.function_name, "must be a function name")
        if not _SECRET_NAME.match(generator.key_secret_name or ""):
            raise SilverPipelineError("generator.key_secret_name", generator.key_secret_name,
                                      "must be a Key Vault secret name (1-127 letters, digits, hyphens)")
        if isinstance(generator.rows, bool) or not isinstance(generator.rows, int) or generator.rows < 1:
            raise SilverPipelineError("generator.rows", generator.rows, "must be a positive integer")


def _adf_name(id: str) -> str:
    """ADF object names: letters, digits and underscores, starting with a letter."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", id)
    return name if name[:1].isalpha() else f"p_{name}"


class SilverPipeline(Construct):
    """Bronze CSV -> silver Parquet + quarantine in Data Factory, cleaning rules generated from the contract."""

    def __init__(self, scope: Construct, id: str, *, data_factory_id: str, storage_dfs_endpoint: str,
                 bronze_container: str, silver_container: str, quarantine_container: str,
                 key_vault_id: str | None = None,
                 compute: DataFlowCompute = DataFlowCompute(), schedule: PipelineSchedule = PipelineSchedule(),
                 generator: GeneratorCall | None = None, contract: SilverContract | None = None) -> None:
        super().__init__(scope, id)
        _validate(bronze_container=bronze_container, silver_container=silver_container,
                  quarantine_container=quarantine_container, compute=compute, schedule=schedule,
                  generator=generator, key_vault_id=key_vault_id)
        self.script: DataFlowScript = generate_script(contract)
        check(self.script.text, sources=self.script.sources, sinks=self.script.sinks)
        p = _adf_name(id)
        self.names = {
            "lake": f"ls_{p}_datalake", "key_vault": f"ls_{p}_keyvault", "generator": f"ls_{p}_generator",
            "bronze": f"ds_{p}_bronze_csv", "silver": f"ds_{p}_silver_parquet",
            "quarantine": f"ds_{p}_quarantine_parquet", "data_flow": f"df_{p}_clean_events",
            "runtime": f"ir-{p.replace('_', '-')}-dataflow", "pipeline": f"pl_{p}_clean_events",
            "trigger": f"tr_{p}_schedule",
        }

        # -- linked services: the factory's own identity, never a key or a connection string ---------
        self.lake_linked_service = DataFactoryLinkedServiceDataLakeStorageGen2(
            self, "lake", name=self.names["lake"], data_factory_id=data_factory_id,
            url=storage_dfs_endpoint, use_managed_identity=True,
            description="The data lake (bronze, silver, quarantine) through the factory's managed identity.",
        )
        self.key_vault_linked_service: DataFactoryLinkedServiceKeyVault | None = None
        if key_vault_id is not None:
            self.key_vault_linked_service = DataFactoryLinkedServiceKeyVault(
                self, "key-vault", name=self.names["key_vault"], data_factory_id=data_factory_id,
                key_vault_id=key_vault_id, description="Secrets the pipeline needs, read with the factory's identity.",
            )

        # -- datasets -----------------------------------------------------------------------------------
        plan = self.script.plan
        self.bronze_dataset = DataFactoryDatasetDelimitedText(
            self, "bronze", name=self.names["bronze"], data_factory_id=data_factory_id,
            linked_service_name=self.lake_linked_service.name,
            azure_blob_fs_location=DataFactoryDatasetDelimitedTextAzureBlobFsLocation(
                file_system=bronze_container, path=BRONZE_FOLDER),
            first_row_as_header=True,
            # Empty column delimiter: each line is one value (mapping data flows only); the flow splits it.
            column_delimiter="",
            # Set explicitly: the provider sends an empty row delimiter when it is omitted (#22447).
            row_delimiter="\n",
            # No quote and no escape character: a value's quotes and backslashes are text, as in the
            # local engine (the provider sends "" as it is; ADF reads an empty quoteChar as none).
            quote_character="", escape_character="",
            encoding="UTF-8",
            description=f"Bronze event CSV ({plan.delimiter.join(plan.header)}), read line by line.",
        )
        self.silver_dataset = DataFactoryDatasetParquet(
            self, "silver", name=self.names["silver"], data_factory_id=data_factory_id,
            linked_service_name=self.lake_linked_service.name,
            azure_blob_fs_location=DataFactoryDatasetParquetAzureBlobFsLocation(file_system=silver_container),
            compression_codec="snappy",
            description="Silver events: normalized, standardized, deduplicated; event_date=YYYY-MM-DD folders.",
        )
        self.quarantine_dataset = DataFactoryDatasetParquet(
            self, "quarantine", name=self.names["quarantine"], data_factory_id=data_factory_id,
            linked_service_name=self.lake_linked_service.name,
            azure_blob_fs_location=DataFactoryDatasetParquetAzureBlobFsLocation(file_system=quarantine_container),
            compression_codec="snappy",
            description="Bronze lines that failed a contract rule, with the first failing rule as reason.",
        )

        # -- the data flow ------------------------------------------------------------------------------
        sinks = dict(zip(self.script.sinks, (self.silver_dataset, self.quarantine_dataset)))
        self.data_flow = DataFactoryDataFlow(
            self, "data-flow", name=self.names["data_flow"], data_factory_id=data_factory_id,
            script=terraform_escape(self.script.text),
            source=[DataFactoryDataFlowSource(name=self.script.sources[0],
                                              dataset=DataFactoryDataFlowSourceDataset(name=self.bronze_dataset.name))],
            sink=[DataFactoryDataFlowSink(name=name, dataset=DataFactoryDataFlowSinkDataset(name=ds.name))
                  for name, ds in sinks.items()],
            description=f"Silver contract v{plan.contract.version}, generated; do not edit in the portal.",
        )
        self.integration_runtime = DataFactoryIntegrationRuntimeAzure(
            self, "runtime", name=self.names["runtime"], data_factory_id=data_factory_id, location="AutoResolve",
            compute_type=compute.compute_type, core_count=compute.core_count,
            time_to_live_min=compute.time_to_live_min,
            description="Spark compute for the silver data flow.",
        )

        # -- optional generator call, then the pipeline -----------------------------------------------------
        self.function_linked_service: DataFactoryLinkedServiceAzureFunction | None = None
        activities: list[dict] = []
        depends = [self.data_flow, self.integration_runtime]
        if generator is not None:
            assert self.key_vault_linked_service is not None
            self.function_linked_service = DataFactoryLinkedServiceAzureFunction(
                self, "generator", name=self.names["generator"], data_factory_id=data_factory_id,
                url=generator.function_app_url,
                key_vault_key=DataFactoryLinkedServiceAzureFunctionKeyVaultKey(
                    linked_service_name=self.key_vault_linked_service.name, secret_name=generator.key_secret_name),
                description="The bronze generator Function; its key comes from Key Vault.",
            )
            depends.append(self.function_linked_service)
            activities.append({
                "name": GENERATE_ACTIVITY,
                "type": "AzureFunctionActivity",
                "dependsOn": [],
                "policy": {"timeout": "0.00:05:00", "retry": 1, "retryIntervalInSeconds": 60,
                           "secureOutput": False, "secureInput": False},
                "userProperties": [],
                "linkedServiceName": {"referenceName": self.names["generator"], "type": "LinkedServiceReference"},
                "typeProperties": {"functionName": generator.function_name, "method": "POST",
                                   "body": {"rows": generator.rows}},
            })
        activities.append({
            "name": CLEAN_ACTIVITY,
            "type": "ExecuteDataFlow",
            "dependsOn": [{"activity": GENERATE_ACTIVITY, "dependencyConditions": ["Succeeded"]}] if generator else [],
            "policy": {"timeout": "0.04:00:00", "retry": 0, "retryIntervalInSeconds": 30,
                       "secureOutput": False, "secureInput": False},
            "userProperties": [],
            # Keys as go-azure-sdk spells them (the provider writes them back so): `dataFlow`, not the
            # portal's `dataflow`, or every plan shows a change (tests/infra/test_activities_json.py).
            "typeProperties": {
                "dataFlow": {"referenceName": self.names["data_flow"], "type": "DataFlowReference"},
                "integrationRuntime": {"referenceName": self.names["runtime"], "type": "IntegrationRuntimeReference"},
                "compute": {"coreCount": compute.core_count, "computeType": compute.compute_type},
                "traceLevel": "Fine",
            },
        })
        self.activities = activities
        self.pipeline = DataFactoryPipeline(
            self, "pipeline", name=self.names["pipeline"], data_factory_id=data_factory_id,
            activities_json=terraform_escape(json.dumps(activities, separators=(",", ":"))),
            concurrency=1,  # the flow truncates and rewrites silver: two runs must never overlap
            description="Bronze to silver: " + ("generate, then " if generator else "") + "clean with the contract's data flow.",
            depends_on=depends,
        )
        self.trigger = DataFactoryTriggerSchedule(
            self, "trigger", name=self.names["trigger"], data_factory_id=data_factory_id,
            pipeline_name=self.pipeline.name,
            frequency=schedule.frequency, interval=schedule.interval,
            start_time=schedule.start_time, time_zone=schedule.time_zone, activated=schedule.activated,
            description=f"Run the silver pipeline every {schedule.interval} {schedule.frequency.lower()}(s).",
        )
