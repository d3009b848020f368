"""Load azure-pipelines.yml the way Azure Pipelines compiles it, as far as this repo's files need.

A top-level ``extends: {template: path}`` supplies the stages; template references (``- template: path``
with ``parameters:``) in stage, job and step lists are inlined and ``${{ parameters.NAME }}`` is
substituted. Any other template expression is an error, so a
construct this loader does not understand can never make a test pass by being skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PIPELINE_FILE = REPO_ROOT / "azure-pipelines.yml"

_PARAM = re.compile(r"\$\{\{\s*parameters\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class TemplateError(ValueError):
    pass


def _substitute(node: Any, params: dict[str, Any], where: Path) -> Any:
    if isinstance(node, dict):
        return {_substitute(k, params, where): _substitute(v, params, where) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, params, where) for v in node]
    if isinstance(node, str):
        whole = _PARAM.fullmatch(node.strip())
        if whole:
            return _lookup(whole.group(1), params, where)
        out = _PARAM.sub(lambda m: str(_lookup(m.group(1), params, where)), node)
        if "${{" in out:
            raise TemplateError(f"{where}: unsupported template expression in {node!r}")
        return out
    return node


def _lookup(name: str, params: dict[str, Any], where: Path) -> Any:
    if name not in params:
        raise TemplateError(f"{where}: parameters.{name} is not declared")
    return params[name]


def _resolve(ref: str, including: Path) -> Path:
    path = REPO_ROOT / ref.lstrip("/") if ref.startswith("/") else including.parent / ref
    path = path.resolve()
    if not path.is_file():
        raise TemplateError(f"{including}: template {ref!r} does not exist ({path})")
    return path


def _bind(path: Path, given: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    declared = {p["name"]: p for p in doc.get("parameters", [])}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TemplateError(f"{path}: unknown parameters {unknown}")
    bound: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in given:
            bound[name] = given[name]
        elif "default" in spec:
            bound[name] = spec["default"]
        else:
            raise TemplateError(f"{path}: required parameter {name!r} not given")
    body = {k: v for k, v in doc.items() if k != "parameters"}
    return _substitute(body, bound, path), bound


@dataclass
class Pipeline:
    doc: dict[str, Any]
    templates: list[Path] = field(default_factory=list)

    @property
    def stages(self) -> list[dict[str, Any]]:
        return self.doc["stages"]

    def stage(self, name: str) -> dict[str, Any]:
        for s in self.stages:
            if s["stage"] == name:
                return s
        raise KeyError(name)

    def jobs(self, stage: str) -> list[dict[str, Any]]:
        return self.stage(stage)["jobs"]


def job_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    """A job's steps; for a deployment job, the steps of every lifecycle hook in order."""
    if "steps" in job:
        return job["steps"]
    steps: list[dict[str, Any]] = []
    for strategy in job.get("strategy", {}).values():
        for hook in ("preDeploy", "deploy", "routeTraffic", "postRouteTraffic"):
            steps += strategy.get(hook, {}).get("steps", [])
        for outcome in strategy.get("on", {}).values():
            steps += outcome.get("steps", [])
    return steps


def load_pipeline(path: Path = PIPELINE_FILE) -> Pipeline:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "${{" in path.read_text(encoding="utf-8").replace("${{ parameters.", ""):
        raise TemplateError(f"{path}: template expressions other than parameters are not supported")
    used: list[Path] = []

    def expand(items: list[dict[str, Any]], key: str, including: Path) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for item in items or []:
            if "template" in item:
                tpl = _resolve(item["template"], including)
                used.append(tpl)
                body, _ = _bind(tpl, item.get("parameters", {}) or {})
                if key not in body:
                    raise TemplateError(f"{tpl}: a {key} template must have a top-level '{key}' list")
                out += expand(body[key], key, tpl)
            else:
                out.append(expand_children(item, key, including))
        return out

    def expand_children(item: dict[str, Any], key: str, including: Path) -> dict[str, Any]:
        item = dict(item)
        if key == "stages" and "jobs" in item:
            item["jobs"] = expand(item["jobs"], "jobs", including)
        if key == "jobs":
            if "steps" in item:
                item["steps"] = expand(item["steps"], "steps", including)
            for strategy in item.get("strategy", {}).values():
                for hook in ("preDeploy", "deploy", "routeTraffic", "postRouteTraffic"):
                    if hook in strategy and "steps" in strategy[hook]:
                        strategy[hook] = dict(strategy[hook], steps=expand(strategy[hook]["steps"], "steps", including))
        return item

    if "extends" in doc:
        if "stages" in doc or "jobs" in doc or "steps" in doc:
            raise TemplateError(f"{path}: a pipeline that extends a template cannot have stages, jobs or steps of its own")
        ref = doc["extends"]["template"]
        tpl = _resolve(ref, path)
        used.append(tpl)
        body, _ = _bind(tpl, doc["extends"].get("parameters", {}) or {})
        if "stages" not in body:
            raise TemplateError(f"{tpl}: an extends template must have a top-level 'stages' list")
        doc["extended_template"] = tpl
        doc["stages"] = expand(body["stages"], "stages", tpl)
    else:
        doc["stages"] = expand(doc["stages"], "stages", path)
    return Pipeline(doc, used)


def walk_strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(location, text) for every string key and value in a YAML tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield f"{path}.{k}", str(k)
            yield from walk_strings(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk_strings(v, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node
