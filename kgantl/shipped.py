"""The models kgantl ships (`saved_models/<name>`), found by name wherever kgantl runs.

A name such as `source-fmnist-0-4` is looked up, in order, in `$KGANTL_MODELS_DIR`, `./saved_models`, the
checkout kgantl runs from (an editable install or a clone), the folder `pip install` put the wheel's models in
(`<prefix>/share/kgantl/saved_models`, or under the user base for `pip install --user`), and the cache folder
`$XDG_CACHE_HOME/kgantl/models` (default `~/.cache/kgantl/models`). `kgantl models list` shows what was found where.
"""
import os
import site
import sys
from pathlib import Path

MODEL_FILE = "model.keras"
REPOSITORY = "https://github.com/kgantl/kgantl"
SHIPPED = ("source-fmnist-0-4", "source-fmnist-0-4-conditional", "fmnist-classifier", "fmnist-0-4-backbone",
           "source-emoji-noto-64", "noto-classifier", "noto-backbone")


def cache_models_dir():
    """The per-user cache folder for shipped models: `$XDG_CACHE_HOME/kgantl/models` or `~/.cache/kgantl/models`."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kgantl" / "models"


def models_dirs():
    """Folders searched for shipped models, in order (see the module docstring)."""
    dirs = [Path(os.environ["KGANTL_MODELS_DIR"])] if os.environ.get("KGANTL_MODELS_DIR") else []
    installed = [Path(prefix) / "share" / "kgantl" / "saved_models" for prefix in (sys.prefix, site.getuserbase())]
    return dirs + [Path("saved_models"), Path(__file__).resolve().parents[1] / "saved_models", *installed,
                   cache_models_dir()]


def find_shipped_model(name):
    """Path of `<folder>/<name>/model.keras` in the first of `models_dirs()` that holds it.

    Raises:
        FileNotFoundError: in one line, where kgantl looked and how to get the model.

    Example:
        >>> find_shipped_model("fmnist-classifier")
        PosixPath('saved_models/fmnist-classifier/model.keras')
    """
    for folder in models_dirs():
        if (folder / name / MODEL_FILE).is_file():
            return folder / name / MODEL_FILE
    looked = ", ".join(str(folder) for folder in dict.fromkeys(models_dirs()))
    raise FileNotFoundError(f"Model {name!r} was not found in {looked}. The shipped models come with kgantl's "
                            f"wheel and with the repository ({REPOSITORY}): install kgantl with pip, or set "
                            f"KGANTL_MODELS_DIR=<clone>/saved_models (or copy {name}/ into {cache_models_dir()}).")


def resolve_model_path(path):
    """`path` when it exists; else, for a bare name or `saved_models/<name>`, that shipped model's folder.

    Any other missing path is returned as it is, for the caller's own error.

    Raises:
        FileNotFoundError: a model name (or `saved_models/<name>`) found in none of `models_dirs()`.

    Example:
        >>> resolve_model_path("source-fmnist-0-4")  # from any working directory
        PosixPath('/content/kgantl/saved_models/source-fmnist-0-4')
    """
    path = Path(path)
    if path.exists() or path.suffix or path.parent not in (Path("."), Path("saved_models")):
        return path
    try:
        return find_shipped_model(path.name).parent
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{str(path)!r} is neither a file or folder here nor a shipped model: {error}") \
            from None


__all__ = ["REPOSITORY", "SHIPPED", "cache_models_dir", "find_shipped_model", "models_dirs", "resolve_model_path"]
