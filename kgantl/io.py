"""Atomic file writes: a reader (or a resumed run) never sees a half-written file."""
import contextlib
import json
import os
from pathlib import Path


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
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def write_json(path, data):
    """Write `data` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_npz(path, **arrays):
    """Write named numpy arrays as an `.npz` file, atomically.

    Example:
        >>> write_npz("run/shots.npz", images=arrays.images.astype("uint8"), labels=arrays.labels)
    """
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
