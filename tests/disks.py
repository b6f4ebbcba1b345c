"""A small real filesystem for full-disk tests: a tmpfs of a few hundred KiB (needs root and mount), filled up."""
import errno
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_filesystem(path: Path, size_kib: int = 512):
    """Mount a tmpfs of `size_kib` at `path` for the test; skip the test where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0777", "tmpfs", str(path)],
                       check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as error:
        pytest.skip(f"cannot mount a small tmpfs here ({error.__class__.__name__}); the ENOSPC cases are "
                    "covered by the simulated tests")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=10)


def fill(folder: Path) -> Path:
    """Write a file until the filesystem says ENOSPC; answers the file (delete it to free the space)."""
    filler = folder / "filler"
    block = b"\0" * 4096
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(block)
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
    return filler
