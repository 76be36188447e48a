"""Transfer learning: pretrained classifier backbones behind freeze/unfreeze schedules."""
from kgantl.transfer.backbones import BACKBONES, block_names, build_backbone
from kgantl.transfer.classifier import InferenceMode, InputAdapter, build_classifier, get_backbone
from kgantl.transfer.schedule import FreezeSchedule, Stage

__all__ = ["BACKBONES", "FreezeSchedule", "InferenceMode", "InputAdapter", "Stage", "block_names",
           "build_backbone", "build_classifier", "get_backbone"]
