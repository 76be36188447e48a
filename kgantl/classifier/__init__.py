"""Classifier transfer: pretrained keras.applications backbones behind freeze/unfreeze schedules, fine-tuned on
few images, and kgantl's own Fashion-MNIST classifier (the offline backbone and feature extractor).

Public names are imported on first use (see `kgantl.lazy`)."""
from kgantl.lazy import lazy_exports

_PUBLIC = {
    "BACKBONES": "kgantl.classifier.backbones",
    "FreezeSchedule": "kgantl.classifier.schedule",
    "InferenceMode": "kgantl.classifier.model",
    "InputAdapter": "kgantl.classifier.model",
    "Stage": "kgantl.classifier.schedule",
    "block_names": "kgantl.classifier.backbones",
    "build_backbone": "kgantl.classifier.backbones",
    "build_classifier": "kgantl.classifier.model",
    "build_fmnist_classifier": "kgantl.classifier.fmnist",
    "finetune_classifier": "kgantl.classifier.finetune",
    "get_backbone": "kgantl.classifier.model",
    "parse_stages": "kgantl.classifier.schedule",
    "train_fmnist_classifier": "kgantl.classifier.fmnist",
}
__all__ = sorted(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
