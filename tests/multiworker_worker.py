"""Run by tests/test_distribute.py: one worker of a two-process cluster on 127.0.0.1 (the test sets TF_CONFIG).

Trains a tiny GAN with `distribute="multiworker"` into RUN_DIR through `kgantl.training.train`, as a user's
script would. Beside it, in REPORT_DIR (outside the run directory):
- `worker-<index>.writes`: every write this process makes under RUN_DIR (Python audit events: opening a file
  for writing, rename/replace, mkdir, remove), one path per line;
- `worker-<index>.json` at the end: each weight of the GAN summed, to compare the workers;
- worker 1 SIGKILLs itself at the end of epoch KILL_AT (once: a `killed` marker stops a restart doing it again).

Usage: python tests/multiworker_worker.py DATA RUN_DIR REPORT_DIR EPOCHS KILL_AT
"""
import json
import os
import signal
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from kgantl.distribute import make_distribution  # noqa: E402

make_distribution("multiworker")  # first: TensorFlow configures a cluster's collectives before it starts devices

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kgantl.config import TrainOptions  # noqa: E402
from kgantl.training import train  # noqa: E402

WRITE_EVENTS = ("os.rename", "os.mkdir", "os.remove", "os.rmdir", "os.truncate", "shutil.rmtree")


def watch_writes(run_dir, log_path):
    """Append to `log_path` the path of every write under `run_dir` this process makes from Python."""
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)  # before the hook: not itself logged
    inside = str(Path(run_dir).resolve())

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            writing = any(c in mode for c in "wax+") if isinstance(mode, str) else \
                bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        elif event in WRITE_EVENTS:
            path, writing = args[0], True
        else:
            return
        if writing and isinstance(path, (str, bytes, os.PathLike)) and \
                os.path.abspath(os.fsdecode(path)).startswith(inside):
            os.write(log, (os.fsdecode(path) + "\n").encode())

    sys.addaudithook(hook)


class Report(keras.callbacks.Callback):
    """Kill worker 1 once at the end of epoch `kill_at`; at the end, write each weight's sum to `path`."""

    def __init__(self, index, kill_at, marker, path):
        super().__init__()
        self.index, self.kill_at, self.marker, self.path = index, kill_at, marker, path

    def on_epoch_end(self, epoch, logs=None):
        if self.index == 1 and epoch + 1 == self.kill_at and not self.marker.exists():
            self.marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)

    def on_train_end(self, logs=None):
        sums = [float(np.sum(np.asarray(w.numpy(), np.float64))) for w in self.model.weights]
        self.path.write_text(json.dumps(sums))


def main(data, run_dir, report_dir, epochs, kill_at):
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    report_dir = Path(report_dir)
    watch_writes(run_dir, report_dir / f"worker-{index}.writes")
    options = TrainOptions(data=data, image_size=16, width=8, latent_dim=8, batch_size=8, steps_per_epoch=2,
                           epochs=int(epochs), distribute="multiworker", run_dir=run_dir)
    report = Report(index, int(kill_at), report_dir / "killed", report_dir / f"worker-{index}.json")
    train(options, callbacks=[report], verbose=0)


if __name__ == "__main__":
    main(*sys.argv[1:6])
