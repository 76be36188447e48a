"""Transfer learning: classifier backbones behind freeze schedules, GAN transfer strategies, an advisor.

Public names are imported on first use (see `kgantl.lazy`)."""
from kgantl.lazy import lazy_exports

_PUBLIC = {
    "BACKBONES": "kgantl.transfer.backbones",
    "FreezeSchedule": "kgantl.transfer.schedule",
    "InferenceMode": "kgantl.transfer.classifier",
    "InputAdapter": "kgantl.transfer.classifier",
    "Stage": "kgantl.transfer.schedule",
    "Strategy": "kgantl.transfer.strategy",
    "block_names": "kgantl.transfer.backbones",
    "build_backbone": "kgantl.transfer.backbones",
    "build_classifier": "kgantl.transfer.classifier",
    "finetune_classifier": "kgantl.transfer.finetune",
    "get_backbone": "kgantl.transfer.classifier",
    "parse_stages": "kgantl.transfer.schedule",
    "parse_strategy": "kgantl.transfer.strategy",
    "prepare_transfer": "kgantl.transfer.strategy",
    "recommend": "kgantl.transfer.advisor",
}
__all__ = sorted(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
