"""seecodes/ has no import circle: every arrow between its modules points one way (docs/architecture.md).

The graph holds every import of one seecodes module by another, at the top of a module and inside functions
alike (an import inside a function hides a circle, it does not remove it). Relative imports are resolved;
`from . import x` imports the submodule x when there is one, else the package's own name x. Importing a
submodule also runs its package's __init__, but that arrow is Python's, not the code's, and is left out: a
package may import its submodules, and a submodule that imports from its package's __init__ closes a circle.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def modules(package_folder: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package) for every module under the folder."""
    found = {}
    for path in sorted(package_folder.rglob("*.py")):
        parts = list(path.relative_to(package_folder.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _known(name: str, known) -> str | None:
    """The module itself, else the closest enclosing module that is known (`a.b.func` -> `a.b`)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(name: str, path: Path, is_package: bool, known) -> set[str]:
    """The known modules that this module imports anywhere in its code."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(_known(alias.name, known) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in known else _known(source, known))
    found.discard(None)
    found.discard(name)
    return found


def graph(package_folder: Path) -> dict[str, set[str]]:
    known = modules(package_folder)
    return {name: imports_of(name, path, is_package, known) for name, (path, is_package) in known.items()}


def find_circle(edges: dict[str, set[str]]) -> list[str] | None:
    """A circle as [a, b, …, a], or None (depth-first search; a module on the current path seen again)."""
    done, path, on_path = set(), [], set()

    def visit(module):
        path.append(module)
        on_path.add(module)
        for target in sorted(edges.get(module, ())):
            if target in on_path:
                return path[path.index(target):] + [target]
            if target not in done:
                circle = visit(target)
                if circle:
                    return circle
        path.pop()
        on_path.discard(module)
        done.add(module)
        return None

    for module in sorted(edges):
        if module not in done:
            circle = visit(module)
            if circle:
                return circle
    return None


def test_seecodes_has_no_import_circle():
    edges = graph(ROOT / "seecodes")
    circle = find_circle(edges)
    if circle:
        print("import circle:", " -> ".join(circle))
    assert circle is None, "import circle: " + " -> ".join(circle)


def test_the_graph_sees_the_imports_of_the_app():
    edges = graph(ROOT / "seecodes")
    assert "seecodes.settings" in edges["seecodes.retention"]  # from . import clock, prometheus, settings
    assert "seecodes.storage.objects" in edges["seecodes.storage.local"]  # from .objects import …
    assert "seecodes.resources.tasks.routes_runs" in edges["seecodes.resources.tasks"]  # from . import routes_runs
    assert "seecodes.runs.reaper" in edges["seecodes.scheduler"]  # inside a function
    assert edges["seecodes.settings"] == set()  # a leaf: every layer may read it


def _package(tmp_path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path / "pkg"


def test_a_circle_closed_inside_a_function_is_found(tmp_path):
    folder = _package(tmp_path, {"__init__.py": "", "a.py": "from . import b\n",
                                 "b.py": "def later():\n    from .a import thing\n"})
    assert find_circle(graph(folder)) == ["pkg.a", "pkg.b", "pkg.a"]


def test_a_submodule_importing_from_its_package_closes_a_circle(tmp_path):
    """The blueprint-in-__init__ shape: the package imports its routes, the routes import blp from the package."""
    folder = _package(tmp_path, {"__init__.py": "", "tag/__init__.py": "blp = 1\nfrom . import routes\n",
                                 "tag/routes.py": "from . import blp\n"})
    assert find_circle(graph(folder)) == ["pkg.tag", "pkg.tag.routes", "pkg.tag"]


def test_imports_up_the_tree_and_absolute_ones_resolve(tmp_path):
    folder = _package(tmp_path, {"__init__.py": "", "low.py": "", "mid/__init__.py": "",
                                 "mid/user.py": "from .. import low\nfrom ..low import name\nimport pkg.mid\n"
                                                "import os\n"})
    assert graph(folder)["pkg.mid.user"] == {"pkg.low", "pkg.mid"}
    assert find_circle(graph(folder)) is None
