"""The package layering, read from the source: each package imports only those below it, no
module imports itself in a circle, and the faces share a floor without importing each
other."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import gptchat

PACKAGE = Path(gptchat.__file__).parent

# Lowest first. A package imports those of a lower rank only: one of the same rank never
# (the faces, cli, tui and serve, are side by side above the rendering they share).
RANKS: dict[str, int] = {
    "base": 0,  # gptchat/*.py: errors, workspace, sqlite, progress, safe_files, control_chars
    "ingest": 1,
    "log": 1,
    "language": 1,
    "index": 2,
    "model": 2,
    "answer": 3,
    "eval": 4,
    "learn": 5,
    "render": 6,
    "cli": 7,
    "tui": 7,
    "serve": 7,
    "entry": 8,  # gptchat/main.py and __main__.py: the command, both faces put together
}
ENTRY_MODULES = {"gptchat.main", "gptchat.__main__"}
HEAVY = ("torch", "transformers", "faiss", "openvino", "ray", "peft", "sentence_transformers")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts).removesuffix(".__init__")


def package_of(module: str) -> str:
    if module in ENTRY_MODULES:
        return "entry"
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()):
        return parts[1]
    return "base"


def imports() -> dict[str, set[str]]:
    """Each gptchat module and the gptchat modules it imports, anywhere in its body."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from gptchat.pkg import module` names a module; `from m import name` does not.
                names = [node.module]
                names += [f"{node.module}.{a.name}" for a in node.names]
            graph[module] |= {name for name in names if name in modules and name != module}
    return graph


def test_every_package_imports_only_those_below_it() -> None:
    wrong = []
    for module, imported in imports().items():
        for target in imported:
            here, there = package_of(module), package_of(target)
            if here != there and RANKS[there] >= RANKS[here]:
                wrong.append(f"{module} ({here}) imports {target} ({there})")
    assert not wrong, "\n".join(sorted(wrong))


def test_every_package_has_a_rank() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages <= RANKS.keys()


def test_no_module_imports_itself_in_a_circle() -> None:
    graph = imports()
    circles = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            circles.append(" -> ".join([*path[path.index(module) :], module]))
            return
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert not circles, "\n".join(circles)


def test_the_faces_start_without_the_heavy_libraries() -> None:
    """The app's screen and `gptchat --help` come before torch and its kin are imported."""
    check = (
        "import sys, gptchat.main, gptchat.tui.app;"
        f"print([h for h in {HEAVY!r} if h in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
