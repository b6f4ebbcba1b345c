"""seecodes/settings.py: every setting read from the environment once per app, validated, its default written once;
no other module reads a variable it does not name."""
import ast
import re
from pathlib import Path

import pytest

from seecodes import create_app, doctor, settings

ROOT = Path(__file__).resolve().parents[2]
KEY = "k" * 40
# One usable value per kind of setting, as an operator would write it, and what the app then holds.
GIVEN = {
    settings._whole: (" 7 ", 7),
    settings._days: ("8", 8),
    settings._seconds: ("2.5", 2.5),
    settings._text: ("given", "given"),
    settings._base_url: ("https://api.example.com/", "https://api.example.com"),
    settings._url_list: ("https://eu.example.com/, ,https://us.example.com", ["https://eu.example.com",
                                                                            "https://us.example.com"]),
    settings._database_url: ("postgres://u@db/seecodes", "postgresql+psycopg://u@db/seecodes"),
}
CHOSEN = {"SEECODES_STORAGE": (" S3 ", "s3"), "SEECODES_DB_PREPARE": ("OFF", "off")}


def _given(setting):
    return CHOSEN.get(setting.name) or GIVEN[setting.parse]


@pytest.mark.parametrize("setting", settings.SETTINGS, ids=lambda setting: setting.name)
def test_each_setting_is_read_from_its_variable(tmp_path, setting):
    given, held = _given(setting)
    assert held != setting.read(setting.default)  # else this would not tell a read variable from the default
    config = settings.from_environ(str(tmp_path), {setting.name: given, "SEECODES_SECRET_KEY": KEY})
    assert config[setting.config_key] == held


def test_unset_and_empty_variables_give_the_defaults(tmp_path):
    unset = settings.from_environ(str(tmp_path), {"SEECODES_SECRET_KEY": KEY})
    empty = settings.from_environ(str(tmp_path), {"SEECODES_SECRET_KEY": KEY,
                                                  **{setting.name: " " for setting in settings.SETTINGS}})
    assert unset == empty
    assert unset["SEECODES_RUN_TIMEOUT_SECONDS"] == 600 and unset["S3_BUCKET"] == "seecodes-runs"
    assert unset["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'seecodes.db'}"
    assert unset["SEECODES_PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"
    assert settings.from_environ(str(tmp_path), {"SEECODES_SECRET_KEY": KEY, "PORT": "9000"})[
        "SEECODES_PUBLIC_BASE_URL"] == "http://127.0.0.1:9000"


def test_the_signing_key_records_where_it_came_from(tmp_path):
    assert settings.from_environ(str(tmp_path), {"SEECODES_SECRET_KEY": KEY})["SECRET_KEY_SOURCE"] == \
        "SEECODES_SECRET_KEY"
    assert settings.from_environ(str(tmp_path), {})["SECRET_KEY_SOURCE"] == str(tmp_path / "secret_key")


@pytest.mark.parametrize("name, value, says", [
    ("SEECODES_RUN_TIMEOUT_SECONDS", "ten", "whole number"),
    ("SEECODES_MAX_UPLOAD_BYTES", "-1", "whole number"),
    ("FORGE_LEEWAY_SECONDS", "1.5", "whole number"),
    ("SEECODES_RUN_DATA_RETENTION_DAYS", "100000", "days from 0 to 36500"),
    ("SEECODES_PRUNE_INTERVAL_SECONDS", "hourly", "seconds"),
    ("SEECODES_STORAGE", "ftp", "local, s3"),
    ("SEECODES_DB_PREPARE", "sometimes", "auto, on, off"),
])
def test_an_unusable_variable_refuses_to_start_and_says_what_to_set(tmp_path, name, value, says):
    with pytest.raises(settings.ConfigError) as refused:
        settings.from_environ(str(tmp_path), {"SEECODES_SECRET_KEY": KEY, name: value})
    message = str(refused.value)
    assert name in message and repr(value) in message and says in message
    assert f"default {settings.DEFAULTS[name]}" in message and "unset it" in message


def _app(monkeypatch, tmp_path, **overrides):
    monkeypatch.setenv("SEECODES_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SEECODES_SECRET_KEY", KEY)
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'settings.db'}", **overrides})


@pytest.mark.backends("sqlite")
def test_an_unusable_override_refuses_to_start(monkeypatch, tmp_path):
    with pytest.raises(settings.ConfigError, match="SEECODES_RUN_THREADS"):
        _app(monkeypatch, tmp_path, SEECODES_RUN_THREADS="two")


@pytest.mark.backends("sqlite")
def test_the_environment_is_read_once_per_app(monkeypatch, tmp_path):
    monkeypatch.setenv("SEECODES_RUN_STALE_SECONDS", " 45 ")
    monkeypatch.setenv("SEECODES_METRICS_TOKEN", "m" * 32)
    app = _app(monkeypatch, tmp_path)
    assert app.config["SEECODES_RUN_STALE_SECONDS"] == 45  # stored as the code reads it
    monkeypatch.setenv("SEECODES_RUN_STALE_SECONDS", "5")
    monkeypatch.delenv("SEECODES_METRICS_TOKEN")
    assert settings.setting("SEECODES_RUN_STALE_SECONDS", app) == 45
    with app.app_context():
        assert settings.setting("SEECODES_RUN_STALE_SECONDS") == 45
    assert settings.metrics_token(app) == "m" * 32
    assert settings.setting("SEECODES_RUN_STALE_SECONDS") == 5  # outside an app: the environment


def test_the_instance_folder_is_the_variable_else_instance_of_the_checkout():
    assert settings.instance_path({"SEECODES_INSTANCE_PATH": "/srv/seecodes"}) == "/srv/seecodes"
    assert settings.instance_path({}) == str(ROOT / "instance")


@pytest.mark.backends("sqlite")
def test_the_doctor_reports_from_the_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("SEECODES_STORAGE_URL_TTL_SECONDS", "120")
    app = _app(monkeypatch, tmp_path)
    (row,) = doctor.check_settings(app)
    assert row.status == doctor.PASS and row.detail.startswith(f"{len(settings.SETTINGS)} valid; not the default: ")
    assert "SEECODES_STORAGE_URL_TTL_SECONDS" in row.detail and "SEECODES_RUN_TIMEOUT_SECONDS" not in row.detail
    app.config["SEECODES_MAX_OPEN_RUNS"] = "many"  # past create_app's own refusal
    (row,) = doctor.check_settings(app)
    assert row.status == doctor.FAIL and "SEECODES_MAX_OPEN_RUNS='many'" in row.detail and "default 20" in row.detail


# --- one home for every setting and its default ---

def _python_files():
    return [path for path in sorted((ROOT / "seecodes").rglob("*.py")) if path != ROOT / "seecodes" / "settings.py"]


def _constants(tree) -> dict[str, str]:
    """Module-level NAME = "TEXT" assignments, so that os.environ.get(NAME) is resolved."""
    return {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            for target in node.targets if isinstance(target, ast.Name)}


def _name(node, constants) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


VARIABLE = re.compile(r"[A-Z][A-Z0-9_]+")
SETTING_NAMES = {setting.name for setting in settings.SETTINGS} | set(settings.BOOTSTRAP)


def _is_setting(name) -> bool:
    return bool(name) and (name in SETTING_NAMES or name.startswith("SEECODES_"))


def _reads(path):
    """(line, variable, default or None) for each read of a NAME-like key: `x.get(NAME[, default])`,
    `x.get(NAME) or default`, `os.getenv(NAME[, default])`, and `environ[NAME]`."""
    tree = ast.parse(path.read_text(), str(path))
    constants = _constants(tree)
    fallbacks = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            fallbacks[id(node.values[0])] = node.values[1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args \
                and node.func.attr in ("get", "getenv", "setdefault", "pop"):
            name = _name(node.args[0], constants)
            default = node.args[1] if len(node.args) > 1 else fallbacks.get(id(node))
            receiver = ast.unparse(node.func.value)
            yield node.lineno, name, receiver, default
        elif isinstance(node, ast.Subscript):
            receiver = ast.unparse(node.value)
            if receiver.endswith("environ"):
                yield node.lineno, _name(node.slice, constants), receiver, None


def _is_default(node) -> bool:
    """A fallback that is a value of its own: not None, "" or an empty collection."""
    if node is None:
        return False
    if isinstance(node, ast.Constant):
        return node.value not in (None, "")
    if isinstance(node, (ast.List, ast.Tuple)):
        return bool(node.elts)
    if isinstance(node, ast.Dict):
        return bool(node.keys)
    return True


def test_no_setting_has_a_default_outside_settings_py():
    written = [f"{path.relative_to(ROOT)}:{line}: {name} = {ast.unparse(default)}"
               for path in _python_files() for line, name, _, default in _reads(path)
               if _is_setting(name) and _is_default(default)]
    assert written == [], "defaults belong in seecodes/settings.py:\n" + "\n".join(written)


def test_the_environment_is_read_elsewhere_only_for_what_settings_py_names():
    named = settings.__doc__
    unnamed = [f"{path.relative_to(ROOT)}:{line}: {name}" for path in _python_files()
               for line, name, receiver, _ in _reads(path)
               if (receiver.endswith("environ") or receiver == "os") and name and VARIABLE.fullmatch(name)
               and not re.search(rf"\b{name}\b", named)]
    assert unnamed == [], "read through seecodes/settings.py, or name it in its docstring:\n" + "\n".join(unnamed)


def test_the_checks_see_what_they_look_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('import os\nVAR = "SEECODES_X"\n'
                      'a = os.environ.get("SEECODES_A", "1")\nb = config.get("SEECODES_B") or 5\n'
                      'c = os.environ.get(VAR)\nd = environ["HOME_FOLDER"]\ne = (environ.get("SEECODES_E") or "").strip()\n')
    reads = {name: default for _, name, _, default in _reads(sample)}
    assert set(reads) == {"SEECODES_A", "SEECODES_B", "SEECODES_X", "HOME_FOLDER", "SEECODES_E"}
    assert [name for name, default in reads.items() if _is_default(default)] == ["SEECODES_A", "SEECODES_B"]


def test_the_readme_lists_every_setting():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in sorted(SETTING_NAMES) if f"`{name}`" not in readme]
    assert missing == [], f"add to README.md's environment table: {missing}"
