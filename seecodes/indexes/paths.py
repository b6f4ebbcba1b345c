"""Rules for index paths and content hashes, shared by the schemas and the service."""
import re

MAX_PATH_CHARS = 1024
# The unique btree on (installation, project, path) must fit PostgreSQL's index row limit (~2.7 kB).
MAX_PATH_BYTES = 2048
HASH = re.compile(r"[0-9a-fA-F]{64}")  # use fullmatch
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # JSON may escape them; they cannot be encoded


def path_problem(path: str) -> str | None:
    """Why a path is refused, or None. Paths are POSIX, relative to the project root, one spelling each."""
    if not path:
        return "Must not be empty."
    if not path.isascii() and _LONE_SURROGATE.search(path):
        return "Must be valid Unicode (no lone surrogates)."
    if len(path) > MAX_PATH_CHARS or len(path.encode("utf-8")) > MAX_PATH_BYTES:
        return f"At most {MAX_PATH_CHARS} characters ({MAX_PATH_BYTES} bytes in UTF-8)."
    if _CONTROL.search(path):
        return "Must not contain NUL or other control characters."
    if "\\" in path:
        return "Use '/' as the separator, not '\\'."
    if path.startswith("/"):
        return "Must be relative (no leading '/')."
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        return "Must not contain empty, '.' or '..' segments (nor end with '/')."
    return None


def normalise_hash(value: str) -> str:
    return value.lower()
