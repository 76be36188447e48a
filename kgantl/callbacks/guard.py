"""Stop training with a clear message when losses become NaN, infinite or explode."""
import math

import keras


class TrainingDiverged(RuntimeError):
    """Raised by `DivergenceGuard`; the last checkpoint is from before the divergence."""


class DivergenceGuard(keras.callbacks.Callback):
    """Raise `TrainingDiverged` as soon as a logged value is non-finite or beyond `max_abs`.

    Args:
        max_abs: largest absolute loss value accepted.
        keys: log keys to watch (default: every key ending in `loss`).

    Example:
        >>> gan.fit(ds, callbacks=[DivergenceGuard()])
    """

    def __init__(self, max_abs=1e6, keys=None):
        super().__init__()
        self.max_abs = float(max_abs)
        self.keys = None if keys is None else list(keys)
        self._epoch = 0

    def get_config(self):
        return {"max_abs": self.max_abs, "keys": self.keys}

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _check(self, logs, where):
        for key, value in (logs or {}).items():
            if (self.keys is None and not key.endswith("loss")) or (self.keys is not None and key not in self.keys):
                continue
            value = float(value)
            if not math.isfinite(value) or abs(value) > self.max_abs:
                raise TrainingDiverged(
                    f"Training diverged at {where}: {key}={value}. The last checkpoint predates it; "
                    "lower the learning rates, add r1_weight or spectral_norm, or check the data."
                )

    def on_train_batch_end(self, batch, logs=None):
        self._check(logs, f"epoch {self._epoch + 1}, batch {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        self._check(logs, f"the end of epoch {epoch + 1}")
