"""Emotional-event data: the silver contract, the generator and its storage sinks.

Lives inside ``function_app/`` so the Function deploys it as-is; installed by the project's
``pyproject.toml`` so the platform package and the tests share the same code.
"""

from .contract import SilverContract, default_contract, load_contract

__all__ = ["SilverContract", "default_contract", "load_contract"]
