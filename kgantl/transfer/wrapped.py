"""Rebuilding a kgantl network with some of its layers wrapped, and taking the wrappers off again.

`maskd` (`kgantl.transfer.maskd`) wraps a discriminator layer in a `FeatureMask`; `adapters`
(`kgantl.transfer.adapters`) wrap generator layers in `ChannelAdapter`s. Both build the wrapped network with
`rebuilt`; code that walks a network's layers by their source names (FreezeD, EWC) looks through the wrappers
with `unwrapped`.
"""
import keras


def rebuilt(model, replace):
    """`model` rebuilt on the same layers (their weights shared), with `replace(layer)` where it returns one."""
    return keras.models.clone_model(model, clone_function=lambda layer: replace(layer) or layer)


def unwrapped(layer):
    """The source layer inside a wrapper that `maskd` or `adapters` put around it (a `keras.layers.Wrapper`
    whose class sets `kgantl_wrapper`), `layer` itself otherwise."""
    if isinstance(layer, keras.layers.Wrapper) and getattr(layer, "kgantl_wrapper", False):
        return layer.layer
    return layer


__all__ = ["rebuilt", "unwrapped"]
