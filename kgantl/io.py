"""Atomic file writes: a reader (or a resumed run) never sees a half-written file; a write that fails for lack of
space, a failing disk or a read-only one is one `DiskWriteError` naming the file and the errno."""
import contextlib
import errno
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np

# The errors of the disk rather than of the program: a run stops on them with one line, its last checkpoint intact.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EIO, errno.EROFS, errno.EDQUOT})


class DiskWriteError(OSError):
    """A write that failed for lack of space, a failing disk or a read-only one.

    Attributes:
        path: the file that could not be written.
        errno: `errno.ENOSPC`, `EIO`, `EROFS` or `EDQUOT`.
        detail: what else is known (e.g. the space needed and free), or None.
    """

    def __init__(self, path, code, detail=None):
        super().__init__(code, os.strerror(code), str(path))
        self.path, self.detail = Path(path), detail

    def __str__(self):
        detail = f"; {self.detail}" if self.detail else ""
        return f"cannot write {self.path}: {self.strerror} ({errno.errorcode[self.errno]}){detail}"


def disk_errno(error):
    """The disk errno behind `error` (its own, its causes', or one h5py names in its message), or None."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in DISK_ERRNOS:
            return error.errno
        found = re.search(r"errno = (\d+)", str(error))  # h5py: "file write failed: ... errno = 28, ..."
        if found and int(found.group(1)) in DISK_ERRNOS:
            return int(found.group(1))
        error = error.__cause__ or error.__context__
    return None


@contextlib.contextmanager
def disk_writes(path):
    """Turn a disk error raised inside the block into a `DiskWriteError` naming `path`; other errors pass."""
    try:
        yield
    except DiskWriteError:
        raise
    except Exception as error:
        code = disk_errno(error)
        if code is None:
            raise
        raise DiskWriteError(path, code) from None


def free_bytes(path):
    """Free bytes on the filesystem that holds `path` (or would: its nearest existing parent)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def ensure_free(path, needed, what="this file"):
    """Raise `DiskWriteError` (ENOSPC) before writing `path` when its filesystem has less than `needed` bytes free.

    Checked before writes that must not start on a full disk (an HDF5 checkpoint failing halfway can take the
    process down with it).
    """
    free = free_bytes(path)
    if needed and free < needed:
        raise DiskWriteError(path, errno.ENOSPC, f"{what} needs about {_megabytes(needed)}, "
                                                 f"{_megabytes(free)} free")


def _megabytes(count):
    return f"{count / 2**20:.1f} MB"


@contextlib.contextmanager
def atomic_path(path, partial_suffix=".partial"):
    """Yield a temporary sibling path; on success it replaces `path` in one `os.replace`.

    The temporary name keeps the final suffix (Keras insists on `.keras` / `.weights.h5`), with
    `partial_suffix` put before it. On error the temporary file is removed and `path` is untouched.

    Args:
        path: final file path.
        partial_suffix: marker inserted before the suffix of the temporary name.

    Example:
        >>> with atomic_path("run/model.keras") as tmp:
        ...     model.save(tmp)
    """
    path = Path(path)
    suffixes = "".join(path.suffixes)
    stem = path.name[: len(path.name) - len(suffixes)] if suffixes else path.name
    tmp = path.with_name(f"{stem}{partial_suffix}{suffixes}")
    try:
        with disk_writes(path):
            yield tmp
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def state_bytes(model):
    """Bytes of a model's variables and its optimizers' (what a checkpoint of it holds, about)."""
    variables = list(model.variables)
    for name in ("d_optimizer", "g_optimizer", "optimizer"):
        optimizer = getattr(model, name, None)
        variables += list(getattr(optimizer, "variables", []) or [])
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables)


def write_json(path, data):
    """Write `data` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_npz(path, **arrays):
    """Write named numpy arrays as an `.npz` file, atomically.

    Example:
        >>> write_npz("run/shots.npz", images=arrays.images.astype("uint8"), labels=arrays.labels)
    """
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
