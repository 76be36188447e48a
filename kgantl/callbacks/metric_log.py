"""Append each epoch's logs as one JSON line (`metrics.jsonl`), safe across resumes."""
import json
import math
import time
from pathlib import Path

import keras

from kgantl.io import atomic_path, disk_writes


class JsonlLogger(keras.callbacks.Callback):
    """Write `{"epoch": N, "time": seconds, "cpu_time": CPU seconds, <logs>}` per epoch to a JSON-lines file.

    When training resumes at epoch N, lines for epochs >= N (written before a crash but not
    covered by a checkpoint) are dropped first, so every epoch appears exactly once.

    Args:
        path: the `.jsonl` file.

    Example:
        >>> gan.fit(ds, epochs=3, callbacks=[JsonlLogger("runs/x/metrics.jsonl")])
    """

    def __init__(self, path):
        super().__init__()
        self.path = str(path)
        self._started = False
        self._epoch_start = None

    def get_config(self):
        return {"path": self.path}

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_cpu = time.process_time()
        if not self._started:
            self._started = True
            self._drop_from(epoch + 1)

    def _drop_from(self, epoch_number):
        path = Path(self.path)
        if not path.exists():
            return
        kept = []
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:  # a line cut short by a kill
                continue
            if record.get("epoch", 0) < epoch_number:
                kept.append(line)
        with atomic_path(path) as tmp:
            Path(tmp).write_text("".join(line + "\n" for line in kept))

    def on_epoch_end(self, epoch, logs=None):
        # CPU seconds of the whole process (every thread) too: on a shared machine they, not the wall time, say what
        # the epoch cost.
        record = {"epoch": epoch + 1, "time": round(time.perf_counter() - self._epoch_start, 3),
                  "cpu_time": round(time.process_time() - self._epoch_cpu, 3)}
        for key, value in (logs or {}).items():
            value = float(value)
            record[key] = value if math.isfinite(value) else str(value)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with disk_writes(self.path), open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
