"""The shape of the package: no import cycle, no module over 700 lines, no module docstring over 20 lines, lazy
imports only for heavy or optional dependencies, and no module reaching into another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from greenai import paths

PACKAGE = paths.REPO_ROOT / "greenai"

#: the most lines a module may have before it holds two concepts
MAX_MODULE_LINES = 700

#: the most lines a module docstring may have; the essay behind it goes to docs/
MAX_DOCSTRING_LINES = 20

#: third-party packages an in-function import may bring in: heavy at import, or optional extras
LAZY_OK = {"torch", "torchvision", "thop", "statsmodels", "scipy", "pyomo", "highspy", "pvlib", "matplotlib",
           "seaborn", "pandas", "numpy", "dask", "distributed", "dask_cuda", "papermill", "nbformat", "nbconvert",
           "jupytext", "lightning", "pytorch_lightning", "transformers", "accelerate", "timm", "pytorchcv", "zeus",
           "pynvml", "tqdm", "yaml", "IPython", "vit_pytorch", "einops"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(paths.REPO_ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]):
    """(imported greenai module, line, inside a function?, names imported) of every import in one module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside.update(id(n) for n in ast.walk(node) if n is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, id(node) in inside, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = tuple(a.name for a in node.names)
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            if submodules:
                for sub in submodules:
                    yield sub, node.lineno, id(node) in inside, ()
                rest = tuple(n for n in names if f"{target}.{n}" not in modules)
                if rest:
                    yield target, node.lineno, id(node) in inside, rest
            else:
                yield target, node.lineno, id(node) in inside, names


def _graph():
    modules = _modules()
    edges = {name: set() for name in modules}
    for name, path in modules.items():
        for target, _, _, _ in _imports(name, path, modules):
            # importing a.b.c runs a/__init__ and a/b/__init__ first
            parts = target.split(".")
            for k in range(1, len(parts) + 1):
                prefix = ".".join(parts[:k])
                if prefix in modules and prefix != name and not name.startswith(prefix + "."):
                    edges[name].add(prefix)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_package_has_no_import_cycle():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("name, path", sorted(_modules().items()), ids=lambda v: str(v))
def test_no_module_is_over_700_lines(name, path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines: split it along its concepts"


@pytest.mark.parametrize("name, path", sorted(_modules().items()), ids=lambda v: str(v))
def test_no_module_docstring_is_over_20_lines(name, path):
    """A module docstring says what the module is for, its main names and units, and where its essay is."""
    docstring = ast.get_docstring(ast.parse(path.read_text(), filename=str(path)), clean=False) or ""
    lines = len(docstring.splitlines())
    assert lines <= MAX_DOCSTRING_LINES, (
        f"{name}'s docstring has {lines} lines: keep what it is for, its main names and units, and move the "
        f"rest to docs/")


def _loads(target: str, heavy: set[str], importer: str = "") -> bool:
    """Whether ``importer`` importing ``target`` loads a module of ``heavy``: importing a.b.c runs a/__init__ and
    a/b/__init__ first (unless they are the importer's own packages, already loaded), so a light module inside a
    heavy package is heavy to import."""
    parts = target.split(".")
    prefixes = (".".join(parts[:k]) for k in range(1, len(parts) + 1))
    return any(p in heavy and not importer.startswith(p + ".") for p in prefixes)


def _heavy_modules(modules: dict[str, Path]) -> set[str]:
    """greenai modules whose import loads a heavy or optional dependency (:data:`LAZY_OK`), directly or through
    another greenai module (or its package) imported at module level."""
    top_level = {name: [(t, lazy) for t, _, lazy, _ in _imports(name, path, modules)] for name, path in modules.items()}
    heavy = {name for name, imports in top_level.items()
             if any(not lazy and t.split(".")[0] in LAZY_OK for t, lazy in imports)}
    grew = True
    while grew:
        grew = False
        for name, imports in top_level.items():
            if name not in heavy and any(not lazy and _loads(t, heavy) for t, lazy in imports):
                heavy.add(name)
                grew = True
    return heavy


def test_a_light_module_inside_a_heavy_package_is_heavy_to_import():
    heavy = {"greenai.models"}
    assert _loads("greenai.models.sets", heavy)
    assert not _loads("greenai.models.sets", heavy, importer="greenai.models.timm_models")  # its package runs already
    assert not _loads("greenai.paths", heavy)


def test_lazy_imports_are_only_for_heavy_or_optional_dependencies():
    """An import inside a function defers a heavy or optional dependency; it never hides a cycle (the target
    of a deferred greenai import is a module that loads such a dependency)."""
    modules = _modules()
    heavy = _heavy_modules(modules)
    hidden = []
    for name, path in modules.items():
        for target, line, lazy, _ in _imports(name, path, modules):
            top = target.split(".")[0]
            light = not _loads(target, heavy, name) if top == "greenai" else top not in LAZY_OK and top not in _stdlib()
            if lazy and light:
                hidden.append(f"{path.relative_to(paths.REPO_ROOT)}:{line} imports {target} inside a function")
    assert not hidden, "\n".join(hidden)


def test_no_module_imports_another_modules_private_names():
    modules = _modules()
    private = []
    for name, path in modules.items():
        for target, line, _, names in _imports(name, path, modules):
            if target.startswith("greenai") and target != name:
                private += [f"{path.relative_to(paths.REPO_ROOT)}:{line} {target}.{n}" for n in names
                            if n.startswith("_") and not n.startswith("__")]
    assert not private, "\n".join(private)


def _stdlib() -> frozenset[str]:
    import sys

    return frozenset(sys.stdlib_module_names)


def test_every_deferred_import_says_why():
    """An import inside a function carries its reason (``# heavy: torch``, ``# optional: timm``) on its line or the
    line above; the standard library is imported at module level."""
    import sys

    modules = _modules()
    unexplained = []
    for name, path in modules.items():
        lines = path.read_text().splitlines()
        for target, line, lazy, _ in _imports(name, path, modules):
            if not lazy:
                continue
            here, above = lines[line - 1], lines[line - 2] if line >= 2 else ""
            stdlib = target.split(".")[0] in sys.stdlib_module_names
            if stdlib or not ("#" in here or above.strip().startswith("#")):
                unexplained.append(f"{path.relative_to(paths.REPO_ROOT)}:{line} {here.strip()}")
    assert not unexplained, "\n".join(unexplained)


def test_greenai_modules_are_imported_under_names_that_say_what_they_are():
    """No one-letter alias for a greenai module (``inputs as I``): the reader should not have to look it up."""
    short = []
    for path in sorted([*PACKAGE.rglob("*.py"), *(paths.REPO_ROOT / "notebooks").glob("*.py"),
                        *(paths.REPO_ROOT / "tests").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
                for alias in node.names:
                    full = f"{module}.{alias.name}" if module else alias.name
                    if full.startswith("greenai") and alias.asname and len(alias.asname) == 1:
                        short.append(f"{path.relative_to(paths.REPO_ROOT)}:{node.lineno} {full} as {alias.asname}")
    assert not short, "\n".join(short)
