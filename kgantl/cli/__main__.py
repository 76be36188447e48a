"""`python -m kgantl.cli`: the `kgantl` command."""
import sys

from kgantl.cli.entry import main

if __name__ == "__main__":
    sys.exit(main())
