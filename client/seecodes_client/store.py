"""The CLI's files in the user's config folder: the task permit (0600), trusted backends, used launch codes, index
state."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

from .errors import LocalRefusal
from .launch import CodeLedger
from .tasks import Permit
from .trust import normalize

MAX_REMEMBERED_BACKENDS = 20


def config_dir(env: Mapping[str, str] = os.environ) -> Path:
    """``$SEECODES_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/seecodes``, else ``~/.config/seecodes``."""
    if env.get("SEECODES_CONFIG_DIR"):
        return Path(env["SEECODES_CONFIG_DIR"])
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "seecodes"


def write_private(path: Path, document: Any) -> None:
    """Write JSON readable by the owner only (0600 in a 0700 folder), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w") as out:
            json.dump(document, out, indent=2)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


class Store:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @property
    def session_path(self) -> Path:
        return self.folder / "session.json"

    @property
    def backends_path(self) -> Path:
        return self.folder / "backends.json"

    def trusted_backends(self) -> list[str]:
        """Backends of earlier confirmed opens, most recent last (see trust.choose_backend)."""
        try:
            found = json.loads(self.backends_path.read_text())["backends"]
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return []
        return [normalize(url) for url in found if isinstance(url, str)] if isinstance(found, list) else []

    def remember_backend(self, base_url: str) -> None:
        """Trust ``base_url`` for later links (an open the user configured or confirmed went through)."""
        backend = normalize(base_url)
        kept = [url for url in self.trusted_backends() if url != backend][-(MAX_REMEMBERED_BACKENDS - 1):]
        write_private(self.backends_path, {"backends": [*kept, backend]})

    def ledger(self) -> CodeLedger:
        return CodeLedger(self.folder / "used-launch-codes")

    def save_session(self, base_url: str, permit: Permit) -> Path:
        write_private(self.session_path, {"baseUrl": base_url, **permit.to_dict()})
        return self.session_path

    def load_session(self) -> tuple[str, Permit]:
        try:
            document = json.loads(self.session_path.read_text())
            permit = Permit(document["permit"], document["projectId"], document["taskId"], document.get("cloudId"),
                            document.get("expiresAt"))
            return document["baseUrl"], permit
        except FileNotFoundError:
            raise LocalRefusal("No task is open here: run `seecodes open <launch-url>` first.", code="no_session")
        except (ValueError, KeyError, TypeError):
            raise LocalRefusal(f"{self.session_path} is damaged: open the task again.", code="bad_session")

    def _index_state_path(self, base_url: str, project_id: str, root: Path) -> Path:
        name = hashlib.sha256(f"{base_url}\n{project_id}\n{root.resolve()}".encode()).hexdigest()[:24]
        return self.folder / "index-state" / f"{name}.json"

    def previous_index_paths(self, base_url: str, project_id: str, root: Path) -> list[str]:
        try:
            return list(json.loads(self._index_state_path(base_url, project_id, root).read_text())["paths"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return []

    def save_index_paths(self, base_url: str, project_id: str, root: Path, paths: list[str]) -> None:
        write_private(self._index_state_path(base_url, project_id, root), {"paths": paths})
