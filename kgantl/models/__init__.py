"""Generator and discriminator builders and the GAN models."""
from kgantl.models.builders import build_discriminator, build_generator, upsampling_plan
from kgantl.models.conditional import ConditionalGAN
from kgantl.models.gan import GAN

__all__ = ["GAN", "ConditionalGAN", "build_generator", "build_discriminator", "upsampling_plan"]
