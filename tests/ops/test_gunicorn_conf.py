"""gunicorn.conf.py: no shared control socket, our logger, the request id in the access log, metrics folder."""
import os
import runpy
from pathlib import Path

from gunicorn.config import Config

ROOT = Path(__file__).resolve().parents[2]


def load(monkeypatch, **env):
    for name in ("GUNICORN_CONTROL_SOCKET", "PROMETHEUS_MULTIPROC_DIR", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.setenv(name, "")  # recorded, so the config file's setdefault is undone after the test
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = Config()
    for name, value in settings.items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_the_control_socket_is_off_by_default(monkeypatch, tmp_path):
    config = load(monkeypatch, SEECODES_INSTANCE_PATH=str(tmp_path))
    assert config.control_socket_disable is True


def test_each_instance_can_have_its_own_control_socket(monkeypatch, tmp_path):
    config = load(monkeypatch, GUNICORN_CONTROL_SOCKET=str(tmp_path / "web-1.ctl"))
    assert config.control_socket_disable is False and config.control_socket == str(tmp_path / "web-1.ctl")


def test_logs_go_through_our_logger_with_the_request_id(monkeypatch, tmp_path):
    config = load(monkeypatch, SEECODES_INSTANCE_PATH=str(tmp_path))
    from seecodes.logs import GunicornLogger

    assert config.logger_class is GunicornLogger
    assert "{x-request-id}o" in config.access_log_format


def test_metrics_default_to_a_folder_of_this_server_on_a_tmpfs(monkeypatch, tmp_path):
    from seecodes import metrics_folder

    load(monkeypatch, SEECODES_INSTANCE_PATH=str(tmp_path))
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == metrics_folder.default_folder(str(tmp_path))
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"].startswith("/dev/shm/")
