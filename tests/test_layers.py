"""The package's layers import downwards only, and no modules import each other in a circle.

Imports are read from the source with ast (also those inside functions), so a lazy import that
would only show up at run time counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gaitsae

ROOT = Path(gaitsae.__file__).parent
# lowest first; a module may import its own layer and the ones below it
LAYERS = [
    {"gaitsae", "gaitsae.errors", "gaitsae.fsio", "gaitsae.channels", "gaitsae.progress", "gaitsae.runtime",
     "gaitsae.configs", "gaitsae.outdir"},
    {"gaitsae.data"}, {"gaitsae.features"}, {"gaitsae.models"}, {"gaitsae.training", "gaitsae.estimator"},
    {"gaitsae.analysis"}, {"gaitsae.clinical"}, {"gaitsae.report", "gaitsae.explorer", "gaitsae.sweep"},
    {"gaitsae.cli", "gaitsae.__main__"},
]


def module_names() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path, modules: dict) -> set[str]:
    """The gaitsae modules `name` imports (a `from package import module` counts as the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
    return {m for m in found if m in modules and m != name}


def layer(name: str) -> int:
    for i, names in enumerate(LAYERS):
        if any(name == top or name.startswith(top + ".") for top in names - {"gaitsae"}) or name == "gaitsae":
            return i
    raise AssertionError(f"{name}: in no layer; add it to LAYERS")


def graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports(name, path, modules) for name, path in modules.items()}


def test_layers__every_module_has_a_layer():
    for name in graph():
        layer(name)


def test_layers__no_module_imports_a_higher_layer():
    upward = [f"{a} -> {b}" for a, targets in graph().items() for b in targets if layer(b) > layer(a)]
    assert upward == []


def test_layers__no_import_cycle():
    edges = graph()
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_layers__explorer_reads_runs_through_the_run_directory_api():
    """The explorer opens runs as the CLI and the estimator do (training.rundir / GaitSAE.load),
    not by parsing config.toml itself."""
    edges = graph()
    explorer = {m for m in edges if m.startswith("gaitsae.explorer")}
    assert not {b for a in explorer for b in edges[a] if b == "gaitsae.training.config"}


def test_layers__catches_an_upward_import(tmp_path):
    """The checker itself: a clinical-importing analysis module is found."""
    path = tmp_path / "bad.py"
    path.write_text("from gaitsae.clinical.pipeline import Encoded\n")
    found = imports("gaitsae.analysis.bad", path, module_names())
    assert [b for b in found if layer(b) > layer("gaitsae.analysis.bad")] == ["gaitsae.clinical.pipeline"]
