"""Project-index sync: hash a folder, reuse the entries the index already has, upsert the rest."""
from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol


class IndexRoutes(Protocol):
    """What sync needs of a client (TaskClient has it): the two project-index routes."""

    def index_query(self, items: Iterable[tuple[str, str]]) -> dict: ...

    def index_upsert(self, entries: Mapping[str, Mapping[str, Any]], delete_paths: Iterable[str] = ()) -> dict: ...


# Folders that are tooling, not project content.
DEFAULT_EXCLUDES = (".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache",
                    ".pytest_cache", ".tox", ".idea", ".vscode")
MAX_PATH_CHARS = 1024
MAX_PATH_BYTES = 2048
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")
ENTRY_FIELDS = ("short", "detailed", "important_symbols", "dependencies", "exports")
Summarizer = Callable[[str, Path], dict]


@dataclass
class SyncReport:
    """What a sync did: ``unchanged`` (same path, same hash), ``reused`` (content known at another path,
    its summary copied), ``uploaded`` (new content, summarised locally), ``deleted`` (gone since the
    previous sync), ``skipped`` (paths the index cannot hold)."""

    files: int = 0
    unchanged: int = 0
    reused: int = 0
    uploaded: int = 0
    deleted: int = 0
    skipped: list[str] = field(default_factory=list)
    total_files: int | None = None
    updated_at: int | None = None
    paths: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"files": self.files, "unchanged": self.unchanged, "reused": self.reused, "uploaded": self.uploaded,
                "deleted": self.deleted, "skipped": self.skipped, "totalFiles": self.total_files,
                "updatedAt": self.updated_at}


def acceptable(path: str) -> bool:
    """The server's path rules (docs/project-indexes.md), checked before sending."""
    return (0 < len(path) <= MAX_PATH_CHARS and len(path.encode("utf-8", "surrogateescape")) <= MAX_PATH_BYTES
            and not _CONTROL.search(path))


def walk(root: str | Path, exclude: Iterable[str] = ()) -> tuple[dict[str, Path], list[str]]:
    """Regular files under ``root`` by POSIX path relative to it, and the paths skipped as unacceptable.

    Hidden folders, DEFAULT_EXCLUDES and symbolic links are not followed; ``exclude`` holds glob
    patterns matched against relative paths and base names.
    """
    base = Path(root)
    patterns = list(exclude)
    found: dict[str, Path] = {}
    skipped: list[str] = []
    for folder, dirs, names in os.walk(base):
        relative_folder = Path(folder).relative_to(base).as_posix()
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in DEFAULT_EXCLUDES
                         and not (Path(folder) / d).is_symlink()
                         and not _excluded(_join(relative_folder, d), d, patterns))
        for name in sorted(names):
            full = Path(folder) / name
            relative = _join(relative_folder, name)
            if full.is_symlink() or not full.is_file() or _excluded(relative, name, patterns):
                continue
            if not acceptable(relative):
                skipped.append(relative)
                continue
            found[relative] = full
    return found, skipped


def _join(folder: str, name: str) -> str:
    return name if folder in ("", ".") else f"{folder}/{name}"


def _excluded(relative: str, name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(relative, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def file_hash(path: Path) -> str:
    """SHA-256 of the file's bytes, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def first_line_summary(relative: str, path: Path) -> dict:
    """The default summary of new content: its first non-empty line (the CLI has no model to ask)."""
    with open(path, "rb") as handle:
        head = handle.read(4096).decode("utf-8", "replace")
    line = next((line.strip() for line in head.splitlines() if line.strip()), "")
    return {"short": line[:200] or f"{path.stat().st_size} bytes"}


def sync(client: IndexRoutes, root: str | Path, *, exclude: Iterable[str] = (),
         summarize: Summarizer | None = None, previous_paths: Iterable[str] = ()) -> SyncReport:
    """Bring the permit's project index in line with ``root``.

    Paths synced before (``previous_paths``, e.g. the previous report's ``paths``) that are gone now are
    deleted from the index; the index has no listing route, so nothing else is ever deleted.
    """
    files, skipped = walk(root, exclude)
    hashes = {relative: file_hash(path) for relative, path in files.items()}
    report = SyncReport(files=len(hashes), skipped=skipped, paths=sorted(hashes))
    matches = client.index_query(hashes.items()) if hashes else {}
    entries: dict[str, dict[str, Any]] = {}
    for relative, digest in hashes.items():
        match = matches.get(relative)
        if match and match.get("pathMatched"):
            report.unchanged += 1
            continue
        if match:
            known = match.get("entry") or {}
            entries[relative] = {"hash": digest, **{k: known.get(k) for k in ENTRY_FIELDS if known.get(k) is not None}}
            report.reused += 1
        else:
            entries[relative] = {"hash": digest, **(summarize or first_line_summary)(relative, files[relative])}
            report.uploaded += 1
    gone = [p for p in dict.fromkeys(previous_paths) if p not in hashes and acceptable(p)]
    if entries or gone:
        totals = client.index_upsert(entries, gone)
        report.deleted = totals["deleted"]
        report.total_files, report.updated_at = totals["totalFiles"], totals["updatedAt"]
    return report
