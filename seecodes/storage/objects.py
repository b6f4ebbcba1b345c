"""What a store says about an object: its version, and that it changed. The stores (local.py, s3.py) and the
package's callers share these; they import nothing of the stores, so the package imports its stores in one
direction."""
from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectVersion:
    """What a run's start saw of an input: its size and the store's version tag (S3's ETag; on local storage
    the file's inode, mtime and size), so the job can tell that the object changed without reading it."""

    size: int
    etag: str

    def document(self) -> dict:
        return {"size": self.size, "etag": self.etag}

    @classmethod
    def from_document(cls, document: dict) -> "ObjectVersion":
        return cls(int(document["size"]), str(document["etag"]))


class ObjectChanged(Exception):
    """The object is no longer the version that was asked for (replaced, grown or shrunk)."""
