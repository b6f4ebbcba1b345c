"""Local storage: files under SEECODES_STORAGE_DIR, uploaded and downloaded through URLs the app signs."""
import errno
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import DomainError, Forbidden, NotFound, Unavailable
from ..settings import setting
from .objects import ObjectChanged, ObjectVersion

SALT = "seecodes.storage-url.v1"
PUT, GET = "put", "get"
MAX_SEGMENT_BYTES = 255
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class StorageFull(DomainError):
    """RFC 4918's 507 Insufficient Storage: the request was fine, the server has no room for it now."""

    status, code = 507, "insufficient_storage"


def _serializer(app) -> URLSafeTimedSerializer:
    # itsdangerous wants its keys oldest first and signs with the last one.
    keys = list(reversed(app.config["SECRET_KEY_FALLBACKS"])) + [app.config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=SALT)


def verify_token(token: str, key: str, operation: str, app=None) -> None:
    """403 unless the token was signed by this app for exactly this key and operation, and is not expired."""

    app = app or current_app
    try:
        claims = _serializer(app).loads(token, max_age=setting("SEECODES_STORAGE_URL_TTL_SECONDS", app))
    except SignatureExpired:
        raise Forbidden("This storage URL has expired; ask for a new one.", code="storage_url_expired")
    except BadSignature:
        raise Forbidden("This storage URL is not valid.", code="storage_url_invalid")
    if not isinstance(claims, dict) or claims.get("k") != key or claims.get("o") != operation:
        raise Forbidden("This storage URL is not valid for this file.", code="storage_url_invalid")


class LocalStorage:
    bucket = "local"

    def __init__(self, root: str, public_base_url: str, app):
        self.root = Path(root)
        self.public_base_url = public_base_url.rstrip("/")
        self.app = app

    @classmethod
    def from_config(cls, app) -> "LocalStorage":
        return cls(app.config["SEECODES_STORAGE_DIR"], app.config["SEECODES_PUBLIC_BASE_URL"], app)

    def _url(self, key: str, operation: str) -> str:
        token = _serializer(self.app).dumps({"k": key, "o": operation})
        return f"{self.public_base_url}/storage/{quote(key, safe='/')}?sig={token}"

    def upload_url(self, key: str) -> str:
        return self._url(key, PUT)

    def download_url(self, key: str) -> str:
        return self._url(key, GET)

    def path(self, key: str) -> Path:
        """The file of a key; keys come from our own layout, but refuse anything that escapes the root."""
        parts = key.split("/")
        # A segment longer than a file name may be (255 bytes) would fail in the OS with ENAMETOOLONG.
        if any(part in ("", ".", "..") or "\\" in part or "\0" in part or len(part.encode("utf-8", "surrogatepass"))
               > MAX_SEGMENT_BYTES for part in parts):
            raise NotFound("No such object.", code="object_not_found")
        return self.root.joinpath(*parts)

    def size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return None

    def read(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise NotFound("No such object.", code="object_not_found")

    def write(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.write_stream(key, [data])

    def write_stream(self, key: str, chunks) -> int:
        """Write atomically: a temporary file in the same folder, renamed over the target when complete, so
        a failure (a full disk included) leaves the previous file whole and no partial one."""
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        except OSError as error:
            raise self.unusable(error)
        written = 0
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    written += len(chunk)
            os.replace(temporary, target)
        except BaseException as error:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            if isinstance(error, OSError):
                raise self.unusable(error)
            raise
        return written

    def head(self, key: str) -> ObjectVersion | None:
        try:
            return _version(self.path(key).stat())
        except FileNotFoundError:
            return None

    def read_version(self, key: str, version: ObjectVersion) -> bytes:
        """Uploads replace a file by renaming a new one over it, so the open file is one version throughout."""
        try:
            handle = open(self.path(key), "rb")
        except FileNotFoundError:
            raise NotFound("No such object.", code="object_not_found")
        with handle:
            if _version(os.fstat(handle.fileno())) != version:
                raise ObjectChanged(key)
            data = handle.read(version.size + 1)
        if len(data) != version.size:
            raise ObjectChanged(key)
        return data

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        folder = self.path(prefix.rstrip("/"))
        if not folder.is_dir():
            return 0
        removed = sum(1 for entry in folder.rglob("*") if entry.is_file() and not entry.name.startswith(".upload-"))
        shutil.rmtree(folder, ignore_errors=True)
        return removed


    def unusable(self, error: OSError) -> DomainError:
        """507 when the disk (or the user's quota) is full, 503 for any other refusal of the file system."""
        if error.errno in FULL_ERRNOS:
            return StorageFull(f"The storage folder is full ({os.strerror(error.errno)}); nothing was stored. "
                               "Try again later.")
        return Unavailable(f"The storage folder cannot be written ({error.__class__.__name__}); nothing was "
                           "stored.", code="storage_unavailable")


def _version(info: os.stat_result) -> ObjectVersion:
    # An upload is a new file renamed over the old one: a new inode (and mtime) for every version.
    return ObjectVersion(info.st_size, f"{info.st_ino:x}-{info.st_mtime_ns:x}-{info.st_size:x}")
