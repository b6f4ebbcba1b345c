"""Where a server's Prometheus multiprocess files live: by default a folder of its own on a tmpfs (/dev/shm).

prometheus_client memory-maps one file per process and metric type there. On the data disk, a full disk kills
every process at its first metric write (SIGBUS: the mapped page cannot be allocated), so the default is a
tmpfs, where the files never meet the data disk. The folder is named after what a server is: its instance
folder, database and Redis (two servers started from one checkout, one embedded and one on PostgreSQL, get
two folders), and the RQ workers of that deployment on the host compute the same name, so `GET /metrics` adds
their counters up. Stdlib only: gunicorn.conf.py and the worker import this before prometheus_client reads
PROMETHEUS_MULTIPROC_DIR.
"""
import hashlib
import os

ENV = "PROMETHEUS_MULTIPROC_DIR"
TMPFS_FOLDERS = ("/dev/shm", "/run/shm")


def default_folder(instance_path: str, environ=os.environ, tmpfs_folders=TMPFS_FOLDERS) -> str:
    """The folder this server's processes share when PROMETHEUS_MULTIPROC_DIR is not set."""
    identity = "\n".join([os.path.realpath(instance_path), environ.get("DATABASE_URL", ""),
                          environ.get("REDIS_URL", "")])
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    tmpfs = next((folder for folder in tmpfs_folders if os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)),
                 None)
    if tmpfs is None:  # no tmpfs (macOS, some containers): the instance folder, as before
        return os.path.join(instance_path, "prometheus", digest)
    # The uid: a folder another user made in the shared tmpfs would not be ours to write.
    return os.path.join(tmpfs, f"seecodes-{os.getuid()}-{digest}")


def configure(instance_path: str) -> str:
    """Set PROMETHEUS_MULTIPROC_DIR (unless the operator did) for this process and its children; answer it."""
    os.environ.setdefault(ENV, default_folder(instance_path))
    return os.environ[ENV]
