"""deploy/systemd: the service units stop the way the worker and gunicorn expect (docs/operations.md)."""
import configparser
from pathlib import Path

from seecodes.settings import DEFAULTS

from .test_gunicorn_conf import load

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"


def unit(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)  # ExecStartPre repeats
    parser.optionxform = str
    parser.read(UNITS / name)
    return parser["Service"]


def test_the_worker_unit_stops_with_one_sigterm_and_waits_longer_than_a_run():
    service = unit("seecodes-worker.service")
    assert service["ExecStart"].endswith("python -m seecodes.runs.worker")
    assert service["KillMode"] == "mixed" and service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) > DEFAULTS["SEECODES_RUN_TIMEOUT_SECONDS"]
    assert service["Restart"] == "always"


def test_the_web_unit_gives_gunicorn_its_graceful_timeout(monkeypatch, tmp_path):
    service = unit("seecodes-web.service")
    assert "gunicorn -c gunicorn.conf.py wsgi:app" in service["ExecStart"]
    assert service["KillMode"] == "mixed" and service["KillSignal"] == "SIGTERM"
    graceful = load(monkeypatch, SEECODES_INSTANCE_PATH=str(tmp_path)).graceful_timeout
    assert int(service["TimeoutStopSec"]) > graceful
