"""GAN transfer: adapting a source GAN to a few images by a strategy (fine-tuning, FreezeD, alternating,
a feature or vision-aided discriminator, Reptile) and its parts (CDC/EWC regularisers, `maskd`, `adapters`, the
backbone of the feature and vision-aided discriminators), `auto`'s pilots, and the advisor. Classifier transfer is `kgantl.classifier`.

Public names are imported on first use (see `kgantl.lazy`)."""
from kgantl.lazy import lazy_exports

_PUBLIC = {
    "Backbone": "kgantl.transfer.backbone",
    "Strategy": "kgantl.transfer.strategy",
    "parse_backbone": "kgantl.transfer.backbone",
    "parse_strategy": "kgantl.transfer.strategy",
    "prepare_transfer": "kgantl.transfer.strategy",
    "recommend": "kgantl.transfer.advisor",
}
__all__ = sorted(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
