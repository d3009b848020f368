"""Load only the provider bindings a program uses: the azurerm and time packages become lazy (PEP 562).

Why: the prebuilt ``cdktf_cdktf_provider_azurerm`` package's ``__init__`` ends with 1,530 eager
``from . import <resource>`` lines, and the npm package the jsii kernel loads does the same in its
``lib/index.js``. A stack uses a few dozen of them; importing all of them was most of every synth.

How (Python side): :func:`install` puts a finder at the front of ``sys.meta_path``. When one of
:data:`PACKAGES` is imported, the package's own ``__init__`` runs as shipped (``__path__``, the
type-check helper, ``from ._jsii import *`` which loads the jsii assembly, ``publication.publish()``)
except for its closing block of ``from . import <sub>`` lines. The published package module gets a
module ``__getattr__`` that imports ``<package>.<sub>`` on first attribute access, and a ``__dir__``
that still lists every submodule; ``__all__`` is untouched, so ``from <package> import *`` imports
all of them as before. ``from cdktf_cdktf_provider_azurerm.key_vault import KeyVault`` is an ordinary
submodule import and needs nothing from this module. jsii's runtime, when the kernel hands back an
object whose type lives in a submodule not imported yet, imports that submodule through
``_submodule_fqn_map`` (which newer jsii-pacmak output fills itself; these bindings predate it, so
:func:`_register_submodules` fills it from ``__all__``).

How (Node side): :func:`install` also adds ``--require <_lazy_bindings.js>`` to ``NODE_OPTIONS``, so
the jsii kernel process (started on the first ``import cdktf``) replaces the npm packages'
``lib/index.js`` by lazy getters, and runs ``terraform version`` (which cdktf's synth-time version checks
call once per check) once per kernel, keeping only a successful output; see that file.

Nothing changes when the packages were imported before :func:`install` ran (a program that imports the
bindings first gets them eagerly, as before), or when ``EMOTION_PLATFORM_LAZY_BINDINGS=0``. If a
package's ``__init__`` does not have the expected shape (a different bindings version), it is run
unchanged. The synthesized JSON is the same either way (tests/infra/test_lazy_bindings.py).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import types
from pathlib import Path

from . import _bindings_bytecode

PACKAGES = ("cdktf_cdktf_provider_azurerm", "cdktf_cdktf_provider_time")
ENV_VAR = "EMOTION_PLATFORM_LAZY_BINDINGS"
NODE_HOOK = Path(__file__).with_name("_lazy_bindings.js")

# The comment jsii-pacmak writes above the eager submodule imports, and the only lines allowed after it.
_EAGER_MARKER = "# Loading modules to ensure their types are registered with the jsii runtime library"
_EAGER_LINE = re.compile(r"from \. import (\w+)")
_OFF, _ON = {"0", "false", "no", "off"}, {"", "1", "true", "yes", "on"}
_made_lazy: set[str] = set()  # the packages whose __init__ ran without its eager imports


def enabled(environ=os.environ) -> bool:
    """Whether ``EMOTION_PLATFORM_LAZY_BINDINGS`` allows the mechanism (unset means yes)."""
    value = environ.get(ENV_VAR, "").strip().lower()
    if value in _OFF:
        return False
    if value in _ON:
        return True
    raise ValueError(f"{ENV_VAR}={environ[ENV_VAR]!r}: expected 1 (lazy provider bindings, the default) or 0 (eager)")


def install() -> bool:
    """Make :data:`PACKAGES` lazy from now on (idempotent); False when disabled by the environment."""
    if not enabled():
        return False
    _bindings_bytecode.cache_dir()  # a bad EMOTION_PLATFORM_BINDINGS_BYTECODE fails here, not inside an import
    if not any(isinstance(finder, _LazyPackageFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _LazyPackageFinder())
    _add_node_hook()
    return True


def _add_node_hook() -> None:
    """Preload the Node-side hook in the jsii kernel, keeping whatever the user has in NODE_OPTIONS."""
    if not NODE_HOOK.is_file():  # an install without the package data: the Python half still works
        return
    path = str(NODE_HOOK)
    options = os.environ.get("NODE_OPTIONS", "")
    if path in options:
        return
    quoted = '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"' if re.search(r'[\s"\\]', path) else path
    os.environ["NODE_OPTIONS"] = f"--require {quoted} {options}".strip()


class _LazyPackageFinder(importlib.abc.MetaPathFinder):
    """Finds :data:`PACKAGES` with the finders after it and swaps their loader for a lazy one."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, sub = fullname.rpartition(".")
        if package in PACKAGES and package in _made_lazy and sub.isidentifier():
            return self._submodule_spec(fullname, path, target)
        if fullname not in PACKAGES:
            return None
        spec = self._spec_from_others(fullname, path, target)
        if spec is None:
            return None
        if isinstance(spec.loader, importlib.machinery.SourceFileLoader) and spec.submodule_search_locations:
            spec.loader = _LazyPackageLoader(spec.loader)
        return spec

    def _spec_from_others(self, fullname, path, target):
        """The spec the rest of ``sys.meta_path`` finds for ``fullname`` (this finder only adjusts it)."""
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                return spec
        return None

    def _submodule_spec(self, fullname, path, target):
        """A resource submodule of a package made lazy: imported through _bindings_bytecode."""
        spec = self._spec_from_others(fullname, path, target)
        if spec is None:
            return None
        loader = _bindings_bytecode.loader_for(spec)
        if loader is not None:
            spec.loader = loader
        return spec


class _LazyPackageLoader(importlib.abc.Loader):
    """Runs the package ``__init__`` without its eager submodule imports (all of it if its shape is unknown)."""

    def __init__(self, loader: importlib.machinery.SourceFileLoader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        name = module.__name__
        source = self._loader.get_source(name)
        head, submodules = _split(source) if source is not None else ("", None)
        if submodules is None:
            self._loader.exec_module(module)
            return
        exec(compile(head, self._loader.get_filename(name), "exec"), module.__dict__)
        public = sys.modules[name]  # publication.publish() replaced the module by its public face
        expected = set(getattr(public, "__all__", ()))
        for sub in sorted(set(submodules) - expected):  # an eager import __all__ does not list: keep it eager
            importlib.import_module(f"{name}.{sub}")
        _make_lazy(public, expected)
        _made_lazy.add(name)
        _register_submodules(module.__dict__, name, expected)

    # importlib.resources and friends ask the loader of a package for its files
    def get_resource_reader(self, fullname):
        return self._loader.get_resource_reader(fullname)

    def get_filename(self, fullname):
        return self._loader.get_filename(fullname)

    def get_source(self, fullname):
        return self._loader.get_source(fullname)

    def is_package(self, fullname):
        return True


def _split(source: str) -> tuple[str, list[str] | None]:
    """(the ``__init__`` up to the eager imports, the submodules they import); None when unrecognised."""
    head, marker, tail = source.partition(_EAGER_MARKER)
    if not marker:
        return source, None
    submodules = []
    for line in tail.splitlines():
        line = line.strip()
        if not line:
            continue
        match = _EAGER_LINE.fullmatch(line)
        if match is None:
            return source, None
        submodules.append(match.group(1))
    return head, submodules


def _make_lazy(package: types.ModuleType, submodules: set[str]) -> None:
    name = package.__name__

    def __getattr__(attr: str):
        if attr in submodules:
            return importlib.import_module(f"{name}.{attr}")  # the import binds it on the package too
        raise AttributeError(f"module {name!r} has no attribute {attr!r}")

    def __dir__() -> list[str]:
        return sorted(set(package.__dict__) | submodules)

    setattr(package, "__getattr__", __getattr__)  # PEP 562: looked up in the module's namespace
    setattr(package, "__dir__", __dir__)


def _register_submodules(namespace: dict, package: str, submodules: set[str]) -> None:
    """Tell jsii which Python module holds each jsii submodule, e.g. ``@cdktf/provider-azurerm.keyVault``
    -> ``cdktf_cdktf_provider_azurerm.key_vault`` (jsii-pacmak derives the Python name from the jsii one
    by snake-casing it; the jsii names of these generated bindings are the camel-cased Terraform names)."""
    assembly = namespace.get("__jsii_assembly__")
    try:
        from jsii import _reference_map
    except ImportError:  # pragma: no cover - jsii is what loaded the assembly above
        return
    if assembly is None or not isinstance(getattr(_reference_map, "_submodule_fqn_map", None), dict):
        return
    _reference_map._submodule_fqn_map.update(
        {f"{assembly.name}.{jsii_submodule_name(sub)}": f"{package}.{sub}" for sub in submodules}
    )


def jsii_submodule_name(python_name: str) -> str:
    """``key_vault`` -> ``keyVault``, ``aadb2_c_directory`` -> ``aadb2CDirectory``."""
    first, *rest = python_name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)
