"""Transfer learning: classifier backbones behind freeze schedules, GAN transfer strategies, an advisor."""
from kgantl.transfer.backbones import BACKBONES, block_names, build_backbone
from kgantl.transfer.classifier import InferenceMode, InputAdapter, build_classifier, get_backbone
from kgantl.transfer.advisor import recommend
from kgantl.transfer.finetune import finetune_classifier
from kgantl.transfer.schedule import FreezeSchedule, Stage, parse_stages

__all__ = ["BACKBONES", "FreezeSchedule", "InferenceMode", "InputAdapter", "Stage", "block_names",
           "build_backbone", "build_classifier", "finetune_classifier", "get_backbone", "parse_stages", "recommend"]
