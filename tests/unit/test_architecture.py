"""The package shows the pipeline's stages (docs/architecture.md): each stage imports only
from the stages before it and the shared modules, and no modules import each other in a
cycle, counting the imports inside functions too."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pipeline"
# Shared modules every stage may use; then the stages in order. A stage may import from
# the shared modules and from the stages before it; the entry points import anything.
SHARED = {
    "pipeline.settings",
    "pipeline.errors",
    "pipeline.paths",
    "pipeline.weeks",
    "pipeline.warehouse",
    "pipeline.schema",
    "pipeline.progress",
}
STAGES = [
    "pipeline.ingest",
    "pipeline.models",
    "pipeline.export",
    "pipeline.newsletter",
    "pipeline.delivery",
]
ENTRY_POINTS = {"pipeline.cli", "pipeline.demo", "pipeline.__main__", "pipeline"}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name}
        graph[name] = found
    return graph


def _stage(module: str) -> str | None:
    return next((s for s in STAGES if module == s or module.startswith(s + ".")), None)


def test_no_import_cycles():
    graph = _imports()
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"modules import each other in a cycle: {exc.args[1]}") from None


def test_each_stage_imports_only_from_earlier_stages_and_shared_modules():
    wrong = []
    for module, targets in _imports().items():
        stage = _stage(module)
        if module in ENTRY_POINTS or module.startswith("pipeline.synthetic"):
            continue
        for target in targets:
            target_stage = _stage(target)
            if target in SHARED or target_stage == stage or target == "pipeline":
                continue
            if (
                target.startswith("pipeline.synthetic")
                or target in ENTRY_POINTS
                or stage is None
                or target_stage is None
            ):
                wrong.append(f"{module} -> {target}")
            elif STAGES.index(target_stage) > STAGES.index(stage):
                wrong.append(f"{module} -> {target} (a later stage)")
    assert not wrong, wrong


def test_the_generator_is_outside_the_runtime_path():
    graph = _imports()
    for module, targets in graph.items():
        if _stage(module) or module in SHARED:
            assert not any(t.startswith("pipeline.synthetic") for t in targets), module
