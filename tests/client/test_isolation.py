"""The client is a distribution of its own: it imports nothing of the server, and `pip install ./client` into a fresh
virtual environment gives a `seecodes` that runs the README's three commands against a served backend."""
import ast
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from .conftest import CLIENT_DIR
from .test_cli import readme_file_line

PACKAGE = CLIENT_DIR / "seecodes_client"
ALLOWED_THIRD_PARTY = {"requests"}
SERVER_MODULES = ("flask", "sqlalchemy", "marshmallow", "flask_smorest", "seecodes")


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


def test_the_server_package_holds_no_client_any_more():
    assert not (CLIENT_DIR.parent / "seecodes" / "client").exists()


def test_importing_the_client_loads_nothing_of_the_server():
    """In this (the server's) environment too: importing the client must not drag Flask or SQLAlchemy in."""
    probe = (f"import sys; sys.path.insert(0, {str(CLIENT_DIR)!r}); import seecodes_client, seecodes_client.cli; "
             f"loaded = {{m.split('.')[0] for m in sys.modules}} & set({SERVER_MODULES!r}); "
             "assert not loaded, sorted(loaded)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert done.returncode == 0, done.stderr


def _install_in_a_fresh_venv(folder: Path) -> tuple[Path, dict]:
    """A fresh virtual environment (no system site-packages) with only `pip install ./client` in it (from a copy,
    so that setuptools' build folder does not land in the checkout). Needs the package index for requests."""
    source = folder / "client"
    shutil.copytree(CLIENT_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(folder / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(folder / "venv" / "bin" / "python"), "-m", "pip", "install", "-q",
                           "--disable-pip-version-check", str(source)], capture_output=True, text=True, timeout=540,
                          env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder / "venv" / "bin", env


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_pip_install_of_the_client_alone_gives_a_seecodes_that_runs_the_readmes_three_commands(
        backend, base_url, launch_link, credits, tmp_path):
    bin_dir, env = _install_in_a_fresh_venv(tmp_path / "fresh")
    probe = ("import importlib.util, sys, seecodes_client, seecodes_client.cli; "
             f"names = {SERVER_MODULES!r}; "
             "assert not {m.split('.')[0] for m in sys.modules} & set(names), 'server modules loaded'; "
             "assert not [n for n in names if importlib.util.find_spec(n)], 'the server is installed here'")
    done = subprocess.run([str(bin_dir / "python"), "-c", probe], capture_output=True, text=True, timeout=60,
                          cwd=bin_dir, env=env)
    assert done.returncode == 0, done.stderr

    work = tmp_path / "work"
    work.mkdir()
    env = {**env, "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "SEECODES_BASE_URL": base_url}
    env.pop("SEECODES_CONFIG_DIR", None)

    def seecodes(*argv):
        return subprocess.run([str(bin_dir / "seecodes"), *argv], cwd=work, env=env, capture_output=True,
                              text=True, timeout=120)

    subprocess.run(["sh", "-c", readme_file_line()], cwd=work, check=True)
    assert (work / "list.md").read_text() == "# tasks\n- a\n"
    opened = seecodes("open", launch_link()["httpsUrl"])
    assert opened.returncode == 0, opened.stderr
    assert "# Implement auth flow" in opened.stdout
    ran = seecodes("run", "--model", "strict light", "--prompt", "generate change log", "list.md")
    assert ran.returncode == 0, ran.stderr
    assert "generate change log" in ran.stdout
    run_id = next(line.split()[1] for line in ran.stderr.splitlines() if line.startswith("run run_"))
    output = seecodes("output", run_id)
    assert (output.returncode, output.stdout) == (0, ran.stdout)
