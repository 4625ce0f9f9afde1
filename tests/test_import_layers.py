"""The house stays tidy: lib_facepop's imports run one way.

The import graph is built from the source files with ``ast``: every import counts, at the
top of a module or inside a function (an import inside a function runs too, later), and
under ``if TYPE_CHECKING`` (a type needs its module as much as a call does). Two rules:

* no circle: no module reaches itself through its imports;
* no upward import: each module sits in one layer of LAYERS (bottom first) and imports only
  from its own layer or the layers below.

Importing a module also runs its packages' ``__init__``, so ``import a.b.c`` is an edge to
``a.b.c``, ``a.b`` and ``a``, except to the packages the importing module is itself in
(their ``__init__`` is already running). ``from a.b import name`` is an edge to ``a.b.name``
where that is a module, else to ``a.b`` itself, which for a module inside ``a.b`` is a
real circle: it needs ``a.b``'s ``__init__`` to have got that far.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "lib_facepop"

# Bottom first. "x.y" is the module (or package __init__) x.y; "x.y.*" is the package x.y
# and everything in it. A module belongs to its most specific entry.
LAYERS: tuple[tuple[str, ...], ...] = (
    # foundations
    ("lib_facepop", "lib_facepop.assets", "lib_facepop.errors", "lib_facepop.notices",
     "lib_facepop.tools", "lib_facepop.faces", "lib_facepop.mediapipe_range",
     "lib_facepop.stderr_filter"),
    ("lib_facepop.settings.*",),
    ("lib_facepop.xyz_axes",),
    # plain image maths on arrays
    ("lib_facepop.geometry", "lib_facepop.warp", "lib_facepop.images", "lib_facepop.colour",
     "lib_facepop.enhance", "lib_facepop.protect", "lib_facepop.seam", "lib_facepop.blend",
     "lib_facepop.upscale"),
    # detection: MediaPipe's runtime at the bottom, the passes above it
    ("lib_facepop.detect.graphs", "lib_facepop.detect.graph_runner",
     "lib_facepop.detect.blazeface_decode"),
    ("lib_facepop.detect.mediapipe_runtime",),
    ("lib_facepop.detect.base", "lib_facepop.detect.selection", "lib_facepop.detect.views",
     "lib_facepop.detect.search_plan", "lib_facepop.detect.parallel"),
    ("lib_facepop.detect.blazeface", "lib_facepop.detect.landmarks"),
    ("lib_facepop.detect.confirm",),
    ("lib_facepop.detect.graph_check",),
    ("lib_facepop.detect.single_pass", "lib_facepop.detect.aggressive"),
    ("lib_facepop.detect",),
    # the face pipeline
    ("lib_facepop.align", "lib_facepop.restore"),
    ("lib_facepop.masks.*",),
    ("lib_facepop.processors.*",),
    ("lib_facepop.face_pass", "lib_facepop.eyes"),
    ("lib_facepop.pipeline",),
    ("lib_facepop.debug", "lib_facepop.standalone", "lib_facepop.demo"),
    # the outside world: WebUI servers over HTTP, batch runs over them
    ("lib_facepop.api_client.*",),
    ("lib_facepop.batch.*",),
    # the front doors: the command line, the WebUI adapter, the installer's check
    ("lib_facepop.cli.*", "lib_facepop.webui.*", "lib_facepop.install_plan",
     "lib_facepop.mediapipe_check"),
    ("lib_facepop.__main__",),
    # the settings reference, written from the command line's parser and the settings
    ("lib_facepop.settings_doc",),
)
# Front doors that share the top layer but never use each other.
APART = (("lib_facepop.cli.*", "lib_facepop.webui.*"),)
# Third-party packages only the WebUI adapter may import (docs/design.md section 2).
WEBUI_ONLY_IMPORTS = ("modules", "gradio")
WEBUI_PACKAGE = "lib_facepop.webui.*"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int


@dataclass(frozen=True)
class ImportGraph:
    modules: frozenset[str]
    edges: tuple[Edge, ...]
    external: tuple[Edge, ...]
    """Imports of other top-level packages (target: the top-level name)."""


def module_files(root: Path, package: str) -> dict[str, Path]:
    files = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = path
    return files


def import_graph(root: Path, package: str) -> ImportGraph:
    files = module_files(root, package)
    modules = frozenset(files)
    edges: list[Edge] = []
    external: list[Edge] = []
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for target in _imported(node, name, is_package, modules):
                if target.split(".")[0] != package:
                    external.append(Edge(name, target.split(".")[0], node.lineno))
                    continue
                for module in _modules_run(target, name, modules):
                    if module != name:
                        edges.append(Edge(name, module, node.lineno))
    return ImportGraph(modules, tuple(dict.fromkeys(edges)), tuple(dict.fromkeys(external)))


def _imported(node: ast.AST, importer: str, is_package: bool, modules: frozenset[str]
              ) -> Iterable[str]:
    """The dotted names an import statement imports (a name taken from a module: that
    module)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            here = importer.split(".") if is_package else importer.split(".")[:-1]
            here = here[:len(here) - (node.level - 1)]
            base = ".".join([*here, base] if base else here)
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            yield candidate if candidate in modules else base


def _modules_run(target: str, importer: str, modules: frozenset[str]) -> list[str]:
    """The project modules an import of ``target`` needs: the target itself, and its
    packages except those the importer is in (their __init__ is already running)."""
    parts = target.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()  # an attribute of a module, or a module that does not exist
    found = [".".join(parts)] if parts else []
    for depth in range(len(parts) - 1, 0, -1):
        package = ".".join(parts[:depth])
        if not importer.startswith(package + "."):
            found.append(package)
    return found


def circles(graph: ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    succ: dict[str, set[str]] = {m: set() for m in graph.modules}
    for edge in graph.edges:
        succ[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for nxt in sorted(succ[module]):
            if nxt not in index:
                visit(nxt)
                low[module] = min(low[module], low[nxt])
            elif nxt in on_stack:
                low[module] = min(low[module], index[nxt])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def entry_of(module: str, layers: Sequence[Sequence[str]]) -> tuple[int, str] | None:
    """(layer number, entry) of the most specific entry that holds the module."""
    best: tuple[int, int, str] | None = None
    for number, layer in enumerate(layers):
        for entry in layer:
            if entry.endswith(".*"):
                package = entry[:-2]
                matches = module == package or module.startswith(package + ".")
                weight = package.count(".") * 2
            else:
                matches = module == entry
                weight = entry.count(".") * 2 + 1
            if matches and (best is None or weight > best[0]):
                best = (weight, number, entry)
    return None if best is None else (best[1], best[2])


def layer_faults(graph: ImportGraph, layers: Sequence[Sequence[str]],
                 apart: Sequence[tuple[str, str]] = ()) -> list[str]:
    faults = [f"{module} is in no layer: add it to LAYERS where it belongs"
              for module in sorted(graph.modules) if entry_of(module, layers) is None]
    for edge in graph.edges:
        source, target = entry_of(edge.source, layers), entry_of(edge.target, layers)
        if source is None or target is None:
            continue
        if target[0] > source[0]:
            faults.append(f"{edge.source} (line {edge.line}) imports {edge.target}, a layer "
                          f"above it")
        if (source[1], target[1]) in apart or (target[1], source[1]) in apart:
            faults.append(f"{edge.source} (line {edge.line}) imports {edge.target}; these "
                          f"two never use each other")
    return faults


def describe(found: Iterable[list[str]], graph: ImportGraph) -> list[str]:
    lines = []
    for component in found:
        members = set(component)
        inner = sorted({f"{e.source} -> {e.target} (line {e.line})" for e in graph.edges
                        if e.source in members and e.target in members})
        lines.append("circle: " + "; ".join(inner))
    return lines


# --- the rules on FacePop itself --------------------------------------------------------------

@pytest.fixture(scope="module")
def facepop_graph() -> ImportGraph:
    return import_graph(ROOT, PACKAGE)


def test_lib_facepop_has_no_import_circle(facepop_graph: ImportGraph) -> None:
    assert describe(circles(facepop_graph), facepop_graph) == []


def test_lib_facepop_imports_only_downwards(facepop_graph: ImportGraph) -> None:
    assert layer_faults(facepop_graph, LAYERS, APART) == []


def test_only_the_webui_adapter_imports_the_webui_and_gradio(facepop_graph: ImportGraph) -> None:
    def in_webui(module: str) -> bool:
        entry = entry_of(module, LAYERS)
        return entry is not None and entry[1] == WEBUI_PACKAGE

    assert in_webui("lib_facepop.webui.panel") and not in_webui("lib_facepop.cli.run")
    wrong = [f"{e.source} (line {e.line}) imports {e.target}" for e in facepop_graph.external
             if e.target in WEBUI_ONLY_IMPORTS and not in_webui(e.source)]
    assert wrong == []
    assert any(e.target == "modules" for e in facepop_graph.external)  # the rule has teeth


def test_every_layer_entry_names_something_that_exists(facepop_graph: ImportGraph) -> None:
    stale = [entry for layer in LAYERS for entry in layer
             if entry.removesuffix(".*") not in facepop_graph.modules]
    assert stale == []


# --- the checker on small made-up packages ----------------------------------------------------

def _package(tmp_path: Path, files: Mapping[str, str]) -> ImportGraph:
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return import_graph(tmp_path, "pkg")


def test_a_circle_through_an_import_inside_a_function_is_found(tmp_path: Path) -> None:
    graph = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/low.py": "def late():\n    from pkg import high\n    return high\n",
        "pkg/high.py": "from pkg.low import late\n",
    })
    assert circles(graph) == [["pkg.high", "pkg.low"]]
    assert describe(circles(graph), graph) == [
        "circle: pkg.high -> pkg.low (line 1); pkg.low -> pkg.high (line 2)"]


def test_a_submodule_taking_a_name_from_its_own_package_init_is_a_circle(tmp_path: Path
                                                                         ) -> None:
    graph = _package(tmp_path, {
        "pkg/__init__.py": "from pkg.part import thing\n",
        "pkg/part.py": "from pkg import helper\nthing = 1\n",
        "pkg/helper.py": "",
        "pkg/other.py": "from pkg import part\n",
    })
    # "from pkg import helper" is the submodule helper (pkg's __init__ is already running);
    # only a name of the __init__ itself would close a circle.
    assert circles(graph) == []
    graph = _package(tmp_path, {"pkg/part.py": "from pkg import OTHER_NAME\nthing = 1\n"})
    assert circles(graph) == [["pkg", "pkg.part"]]


def test_an_upward_import_is_named_with_its_line(tmp_path: Path) -> None:
    graph = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/low/__init__.py": "",
        "pkg/low/core.py": "import os\n\n\ndef f():\n    import pkg.high.client\n",
        "pkg/high/__init__.py": "",
        "pkg/high/client.py": "from pkg.low import other\n",
        "pkg/low/other.py": "",
    })
    layers = (("pkg",), ("pkg.low.*",), ("pkg.high.*",))
    assert circles(graph) == []
    assert sorted(layer_faults(graph, layers)) == [
        "pkg.low.core (line 5) imports pkg.high, a layer above it",
        "pkg.low.core (line 5) imports pkg.high.client, a layer above it",
    ]
    assert layer_faults(graph, (("pkg",), ("pkg.low.*", "pkg.high.*"))) == []
    assert sorted(layer_faults(graph, (("pkg",), ("pkg.low.*", "pkg.high.*")),
                               apart=(("pkg.low.*", "pkg.high.*"),))) == [
        "pkg.high.client (line 1) imports pkg.low.other; these two never use each other",
        "pkg.high.client (line 1) imports pkg.low; these two never use each other",
        "pkg.low.core (line 5) imports pkg.high.client; these two never use each other",
        "pkg.low.core (line 5) imports pkg.high; these two never use each other",
    ]


def test_a_module_in_no_layer_is_named(tmp_path: Path) -> None:
    graph = _package(tmp_path, {"pkg/__init__.py": "", "pkg/new.py": ""})
    assert layer_faults(graph, (("pkg",),)) == [
        "pkg.new is in no layer: add it to LAYERS where it belongs"]


def test_relative_imports_are_resolved(tmp_path: Path) -> None:
    graph = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/sub/__init__.py": "from . import a\n",
        "pkg/sub/a.py": "from .b import x\nfrom ..top import y\n",
        "pkg/sub/b.py": "x = 1\n",
        "pkg/top.py": "y = 2\n",
    })
    assert {(e.source, e.target) for e in graph.edges} == {
        ("pkg.sub", "pkg.sub.a"), ("pkg.sub.a", "pkg.sub.b"), ("pkg.sub.a", "pkg.top")}
