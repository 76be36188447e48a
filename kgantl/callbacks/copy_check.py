"""Watch a few-shot GAN for copying its shots, keep the checkpoint before it sets in, and stop once it has.

Two callbacks, used together by `kgantl.training` when the shots are few (`copy_check`):
- `CopyMonitor` scores the sampling generator against the shots every `every_steps` generator steps and at the
  last epoch (`kgantl.metrics.copying.copy_scores`) and adds the scores to the epoch's logs, so `metrics.jsonl`
  and TensorBoard record them.
- `CopyAwareSelection` keeps `best.keras` by the rule in `choose` and stops training when copying has set in
  (`patience` failing evaluations in a row after one that passed). Its record, `selection.json` in the run
  directory, holds every evaluation, the rule, the chosen epoch and where it stopped; a resumed run drops the
  evaluations its checkpoint does not cover, so the choice after a kill is the uninterrupted run's.

Neither reads anything but the shots: no test split, no held-out images.
"""
import json
from pathlib import Path

import keras
import numpy as np

from kgantl.io import atomic_path, write_json

SELECTION_FILE = "selection.json"
BEST_FILE = "best.keras"
SCORE_KEYS = ("copy_z", "copy_ratio", "shot_near_copy", "intra_diversity", "shot_kid")
# The rule's threshold: a design choice (two standard deviations), calibrated by a probe, not a benchmark rule.
# From the shots of Fashion-MNIST classes 7 and 9 (seeds 0-2, fmnist features, 256 images):
# new real images of the class scored copy_z -0.88 to 1.22, averages of three shots -1.48 to -0.08, half copies
# -2.95 to -1.40 and copies of the shots with pixel noise -4.88 to -4.66. -2 is two standard deviations of a
# generator of new real images below its mean.
COPY_Z_MIN = -2.0
# The second test, which keeps its power at a few shots where copy_z has almost none (a Mann-Whitney test against 3
# leave-one-out values cannot go below about -3): the samples' median distance to their nearest shot over the
# shots' own median leave-one-out distance. From bench/copy_check_power.py (docs/metrics.md, "The copy check's
# power"): new real images scored 0.64-1.69 at 3 shots and at least 0.76 from 10 shots, outright copies at most 0.43,
# averages of three shots (blurry, copying none) 0.35-1.18; no 10-shot grid run went below 0.78. A design choice on
# that measurement: half the shots' own spacing.
COPY_RATIO_MIN = 0.5


def passes(record, z_min=COPY_Z_MIN, ratio_min=COPY_RATIO_MIN):
    """True when an evaluation shows no copying: `copy_z >= z_min` and `copy_ratio >= ratio_min` (records written
    before the ratio was part of the test are judged by `copy_z` alone)."""
    return record["copy_z"] >= z_min and record.get("copy_ratio", ratio_min) >= ratio_min


def choose(records, z_min=COPY_Z_MIN):
    """The chosen evaluation: the latest that passes the copy test (`passes`), else the highest `copy_z` (the
    least copying).

    Why the latest and not the best-scoring one: from ten shots nothing measures quality well enough to pick
    between two evaluations that both pass. The KID against the shots (`shot_kid`), which an earlier rule
    minimised, falls to its noise floor within a few hundred steps at 10 shots and then keeps falling as samples
    drift towards the shots; on the 10-shot grid (docs/benchmark-log.md) it chose 500-600 steps away from the
    test-KID-best step on three of six cells, on boots exactly where the test KID had a bump. So the rule
    trusts training until the copy test says otherwise.

    A new evaluation is therefore either chosen or not, and never moves the choice to an older one: saving the
    model when it is chosen keeps the chosen model.

    Args:
        records: dicts with `epoch` and the `SCORE_KEYS`, in training order.
        z_min: the copy test's threshold on `copy_z`.

    Returns:
        The chosen record, or None for no records.

    Example:
        >>> choose([{"epoch": 1, "copy_z": 0.4}, {"epoch": 2, "copy_z": -0.3}, {"epoch": 3, "copy_z": -3.1}])["epoch"]
        2
    """
    if not records:
        return None
    passing = [r for r in records if passes(r, z_min)]
    if passing:
        return passing[-1]
    return max(records, key=lambda r: (r["copy_z"], r["epoch"]))


def copying_set_in(records, patience, z_min=COPY_Z_MIN):
    """True when the last `patience` evaluations all fail the copy test and an earlier one passed."""
    if len(records) <= patience:
        return False
    recent, earlier = records[-patience:], records[:-patience]
    return not any(passes(r, z_min) for r in recent) and any(passes(r, z_min) for r in earlier)


def read_selection(run_dir):
    """The `selection.json` of a run directory, or None."""
    path = Path(run_dir) / SELECTION_FILE
    return json.loads(path.read_text()) if path.is_file() else None


class CopyMonitor(keras.callbacks.Callback):
    """Score the sampling generator against the shots every `every_steps` steps and add the scores to the logs.

    The samples come from fixed noise of the monitor's own (numpy, seeded), so scoring neither draws from the
    model's random state nor differs between a run and its resume.

    Args:
        shots: the training images, uint8-range array (n, H, W, C), n >= 3.
        extractor: a `kgantl.metrics.extractors.FeatureExtractor` or its registry name.
        steps_per_epoch: generator steps per epoch (the monitor runs at the end of an epoch).
        every_steps: scoring interval in generator steps; an epoch end scores when it has crossed a multiple.
        samples: generated images per evaluation.
        labels: shot labels, for a conditional generator (samples cycle through them).
        seed: seed of the monitor's noise.

    Example:
        >>> gan.fit(ds, epochs=20, steps_per_epoch=100, callbacks=[CopyMonitor(shots, "fmnist", 100)])
    """

    def __init__(self, shots, extractor="fmnist", steps_per_epoch=1, every_steps=100, samples=256, labels=None,
                 seed=0):
        super().__init__()
        from kgantl.metrics.copying import MIN_SHOTS

        shots = np.asarray(shots)
        if len(shots) < MIN_SHOTS:
            raise ValueError(f"the copy check needs at least {MIN_SHOTS} shots (one is left out at a time). "
                             f"Received: {len(shots)}")
        if every_steps < 1 or samples < 2:
            raise ValueError(f"every_steps must be >= 1 and samples >= 2. Received: every_steps={every_steps}, "
                             f"samples={samples}")
        self.shots, self.extractor = shots, extractor
        self.steps_per_epoch, self.every_steps, self.samples = int(steps_per_epoch), int(every_steps), int(samples)
        self.labels = None if labels is None else np.asarray(labels, np.int32)[np.arange(samples) % len(labels)]
        self.seed = int(seed)
        self._shot_features = None

    def due(self, epoch):
        """Whether the end of (0-based) `epoch` crosses a multiple of `every_steps`."""
        before, after = epoch * self.steps_per_epoch, (epoch + 1) * self.steps_per_epoch
        return after // self.every_steps > before // self.every_steps

    def scores(self):
        """The copy scores of the model's sampling generator now."""
        from kgantl.metrics.copying import copy_scores
        from kgantl.metrics.extractors import get_extractor

        extractor = get_extractor(self.extractor) if isinstance(self.extractor, str) else self.extractor
        if self._shot_features is None:
            self._shot_features = extractor.features(self.shots / 127.5 - 1.0)
        noise = np.random.default_rng(self.seed).standard_normal((self.samples, self.model.latent_dim))
        images = self.model.generate(noise=noise.astype("float32"), labels=self.labels)
        return copy_scores(extractor.features(images), self._shot_features)

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == (self.params or {}).get("epochs")  # every run is scored at least once, at its end
        if logs is not None and (self.due(epoch) or last):
            logs.update(self.scores())


class CopyAwareSelection(keras.callbacks.Callback):
    """Keep `best.keras` by the copy-aware rule (`choose`) and stop when copying has set in (`copying_set_in`).

    Place it after `CopyMonitor` and before the epoch checkpoint. Epochs without scores are skipped.

    Args:
        run_dir: folder for `best.keras` and `selection.json`.
        steps_per_epoch: generator steps per epoch (recorded with each evaluation).
        patience: failing evaluations in a row that count as copying having set in (0: never stop).
        initial_epoch: the epoch training starts (resumes) from: evaluations after it are dropped.

    Example:
        >>> callbacks = [CopyMonitor(shots, "fmnist", 100), CopyAwareSelection("runs/x", 100)]
    """

    def __init__(self, run_dir, steps_per_epoch=1, patience=3, initial_epoch=0):
        super().__init__()
        if patience < 0:
            raise ValueError(f"patience must be >= 0. Received: patience={patience!r}")
        self.run_dir, self.steps_per_epoch, self.patience = Path(run_dir), int(steps_per_epoch), int(patience)
        state = read_selection(self.run_dir) or {}
        self.records = [r for r in state.get("evaluations", []) if r["epoch"] <= initial_epoch]

    def get_config(self):
        return {"run_dir": str(self.run_dir), "steps_per_epoch": self.steps_per_epoch, "patience": self.patience}

    def _write(self, chosen, stopped_epoch=None):
        write_json(self.run_dir / SELECTION_FILE, {
            "rule": f"best.keras: the latest evaluation with copy_z >= {COPY_Z_MIN:g} and copy_ratio >= "
                    f"{COPY_RATIO_MIN:g} (no copying), else the highest copy_z; training stops after {self.patience} "
                    "failing evaluations in a row that follow a passing one",
            "copy_z_min": COPY_Z_MIN, "copy_ratio_min": COPY_RATIO_MIN, "patience": self.patience,
            "chosen_epoch": chosen["epoch"], "chosen_step": chosen["step"], "stopped_epoch": stopped_epoch,
            "evaluations": self.records})

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if any(logs.get(key) is None for key in SCORE_KEYS):
            return
        record = {"epoch": epoch + 1, "step": (epoch + 1) * self.steps_per_epoch,
                  **{key: float(logs[key]) for key in SCORE_KEYS}}
        self.records = [r for r in self.records if r["epoch"] < record["epoch"]] + [record]
        chosen = choose(self.records)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if chosen is record:  # written before selection.json names it, so a kill never names a missing model
            with atomic_path(self.run_dir / BEST_FILE) as tmp:
                self.model.save(tmp)
        stop = self.patience > 0 and copying_set_in(self.records, self.patience)
        self._write(chosen, stopped_epoch=epoch + 1 if stop else None)
        if stop:
            self.model.stop_training = True


__all__ = ["BEST_FILE", "COPY_Z_MIN", "CopyAwareSelection", "CopyMonitor", "SELECTION_FILE",
           "choose", "copying_set_in", "passes", "read_selection"]
