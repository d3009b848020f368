"""Phase 2 of the emotional-events data platform: CDKTF constructs for Azure, and the silver engine.

The constructs are exported lazily (PEP 562): importing the package stays light (no cdktf, no provider
bindings) until one of them is used, e.g. ``from emotion_platform import DataFactoryStack``.
"""

from . import _lazy_bindings

_lazy_bindings.install()  # first: only the provider bindings in use get loaded (EMOTION_PLATFORM_LAZY_BINDINGS=0: all)

from ._node import use_project_node

use_project_node()  # before any import of cdktf: jsii must start on a supported Node

_LAZY = {
    "DataFactoryStack": "data_factory_stack",
    "GeneratorFunction": "generator_function",
    "SilverStorage": "silver_storage",
    "ExistingSilverStorage": "silver_storage",
    "BlobContainer": "silver_storage",
    "SecretsVault": "secrets_vault",
    "ExistingSecretsVault": "secrets_vault",
    "VaultSecret": "secrets_vault",
    "SilverPipeline": "silver_pipeline",
    "DataFlowCompute": "pipeline_settings",
    "PipelineSchedule": "pipeline_settings",
    "GeneratorCall": "pipeline_settings",
    "Principal": "roles",
    "ValidationError": "validation",
    "Foundation": "foundation",
    "EnvironmentConfig": "config",
    "ConfigError": "config",
    "load_config": "config",
    "load_all": "config",
    "build_app": "app",
    "synth": "app",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'emotion_platform' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
