"""Typed option fields for kgantl's frozen options dataclasses (`TrainOptions`, `AugmentSettings`): declaring a
field with its help text and choices, checking a value against the declared type without lossy conversion, and
the error that names the option.

Imports nothing of TensorFlow or Keras: the command line builds its flags from these fields.
"""
import dataclasses
import numbers
import typing


def option_field(default, help_text, **kwargs):
    """A dataclass field whose help text, allowed values (`choices`), shown default (`default_text`),
    placeholder (`metavar`, SPEC for every data spec) and `--help` section (`group`) the command line reads.

    Args:
        default: the field's default.
        help_text: what the option does, shown by `--help` (the builder adds the default).
        **kwargs: metadata: `choices`, `default_text`, `metavar`, `group` (`TrainOptions` fields: a key of
            `kgantl.config.OPTION_GROUPS`).

    Returns:
        A `dataclasses.field` carrying the metadata.

    Example:
        >>> shots: Optional[int] = option_field(None, "images per class (default: all)", group="data")
    """
    return dataclasses.field(default=default, metadata={"help": help_text, **kwargs})


class OptionError(ValueError):
    """A bad value for one option; `option` names it (so the command line can name the file it came from)."""

    def __init__(self, option, message):
        super().__init__(message)
        self.option = option


_TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _typed_scalar(name, kind, value):
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind in (int, float):  # a bool is an int to Python, never to an option
        ok = isinstance(value, numbers.Integral if kind is int else numbers.Real) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        hint = "; text is not converted, write the value without quotes" if isinstance(value, str) else ""
        raise OptionError(name, f"{name} must be {_TYPE_WORDS.get(kind, kind.__name__)}{hint}. "
                                f"Received: {name}={value!r}")
    return kind(value) if kind in (int, float) else value


def typed_value(field, value):
    """`value` checked against the type a dataclass field declares, and converted only where nothing can be lost.

    Booleans must be booleans (the text "false" is refused: it would read as true), integers integers (not bools),
    numbers ints or floats (stored as float), strings strings; `None` only where the type is `Optional`;
    a `Tuple[T, ...]` takes a list or tuple of T. Numpy scalars count as the Python numbers they hold.

    Raises:
        OptionError: naming the field, the expected type and the value received.
    """
    args = typing.get_args(field.type)
    if typing.get_origin(field.type) is tuple:
        if not isinstance(value, (list, tuple)):
            raise OptionError(field.name, f"{field.name} must be a list, each item {_TYPE_WORDS[args[0]]}. "
                                          f"Received: {field.name}={value!r}")
        return tuple(_typed_scalar(field.name, args[0], item) for item in value)
    kind = next((a for a in args if a is not type(None)), field.type)
    if value is None:
        if type(None) in args:
            return None
        raise OptionError(field.name, f"{field.name} must be {_TYPE_WORDS.get(kind, kind.__name__)}, not None "
                                      f"(null). Received: {field.name}=None")
    return _typed_scalar(field.name, kind, value)


def apply_field_types(options):
    """Check and convert every field of a (frozen) dataclass of options in place (`typed_value`)."""
    for field in dataclasses.fields(options):
        if getattr(options, field.name) is not dataclasses.MISSING:
            object.__setattr__(options, field.name, typed_value(field, getattr(options, field.name)))


def check_choices(options):
    """Raise `OptionError` for the first field of a dataclass of options whose value is not among its `choices`."""
    for field in dataclasses.fields(options):
        choices = field.metadata.get("choices")
        if choices and getattr(options, field.name) not in choices:
            raise OptionError(field.name, f"{field.name} must be one of {', '.join(choices)}. "
                                          f"Received: {field.name}={getattr(options, field.name)!r}")


def check_option_names_and_types(options_class, values, what="training options"):
    """Refuse keys `options_class` has no field for and values of the wrong type (`typed_value`); the values
    themselves and their combinations are checked once the options are complete (`validate`).

    Raises:
        ValueError: an unknown key (all of them named, with the known ones), or an `OptionError` for a type.
    """
    fields = {field.name: field for field in dataclasses.fields(options_class)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"Unknown {what}: {', '.join(unknown)}. Known: {', '.join(sorted(fields))}")
    for name, value in values.items():
        typed_value(fields[name], value)


__all__ = ["OptionError", "apply_field_types", "check_choices", "check_option_names_and_types", "option_field",
           "typed_value"]
