"""Run folders: where a run's files go (`folder`), the lock that keeps one writer (`lock`), and opening what a
run left behind, its checkpoints and chosen generator (`artifacts`).

Public names are imported on first use (see `kgantl.lazy`)."""
from kgantl.lazy import lazy_exports

_PUBLIC = {
    "KerasGenerator": "kgantl.runs.artifacts",
    "RunDirInUse": "kgantl.runs.lock",
    "RunDirLock": "kgantl.runs.lock",
    "SavedModelGenerator": "kgantl.runs.artifacts",
    "load_gan": "kgantl.runs.artifacts",
    "open_generator": "kgantl.runs.artifacts",
    "prepare_run_dir": "kgantl.runs.folder",
}
__all__ = sorted(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
