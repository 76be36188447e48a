"""An advisory lock on a run directory, held by the one process that writes it for as long as it trains.

Two `kgantl train` processes on one run directory would interleave `metrics.jsonl` and delete each other's
checkpoints. The first takes `<run>/.lock` with `fcntl.flock`; a second is refused with the holder's process id,
host and start time. The kernel releases the lock when its process ends however it ends (SIGKILL included), so a
stale lock needs no clean-up: the file stays, the lock does not. Where `fcntl` is missing (Windows) runs are not
locked.
"""
import json
import logging
import os
import socket
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

LOCK_FILE = ".lock"
logger = logging.getLogger(__name__)


class RunDirInUse(RuntimeError):
    """Another process holds the run directory's lock."""


class RunDirLock:
    """`flock` on `<run_dir>/.lock`; `acquire` raises `RunDirInUse` naming the holder when it is taken.

    Args:
        run_dir: an existing run directory.

    Example:
        >>> with RunDirLock("runs/00003-fashion_mnist_7"):
        ...     train_here()
    """

    def __init__(self, run_dir):
        self.path = Path(run_dir) / LOCK_FILE
        self._fd = None

    def acquire(self):
        """Take the lock without waiting and record this process in the file; returns self."""
        if fcntl is None:
            logger.warning("run directories are not locked on this platform: do not start two runs on %s",
                           self.path.parent)
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunDirInUse(f"run directory {self.path.parent} is in use by {self.holder()}: wait for it to "
                              f"finish or choose another run directory") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode())
        self._fd = fd
        return self

    def holder(self):
        """`process PID on HOST since TIME`, as the holder wrote it (or `another process`)."""
        try:
            record = json.loads(self.path.read_text())
            return f"process {record['pid']} on {record['host']} since {record['since']}"
        except (OSError, ValueError, KeyError, TypeError):  # written in the instant between lock and record
            return "another process"

    def release(self):
        """Give the lock up (the file stays: removing it would race with a process about to take it)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self):
        return self._fd is not None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        self.release()


__all__ = ["LOCK_FILE", "RunDirInUse", "RunDirLock"]
