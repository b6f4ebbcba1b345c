"""The client package imports nothing of the server: only the standard library, requests and itself."""
import ast
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "seecodes" / "client"
ALLOWED_THIRD_PARTY = {"requests"}


def _top_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_client_imports_only_the_standard_library_and_requests():
    imported = set().union(*(_top_level_imports(p) for p in PACKAGE.glob("*.py")))
    foreign = {name for name in imported if name not in sys.stdlib_module_names} - ALLOWED_THIRD_PARTY
    assert foreign == set()


def test_a_copy_of_the_folder_works_without_the_server_installed(tmp_path):
    shutil.copytree(PACKAGE, tmp_path / "seecodes" / "client")
    (tmp_path / "seecodes" / "__init__.py").write_text("")
    probe = ("import sys, seecodes.client, seecodes.client.cli; "
             "assert not {'flask', 'sqlalchemy', 'marshmallow'} & set(sys.modules), sorted(sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    usage = subprocess.run([sys.executable, "-m", "seecodes.client", "--help"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=60)
    assert usage.returncode == 0 and "seecodes" in usage.stdout
