"""``python -m ignite_fire.bench MODE ...``: the same as ``python -m ignite_fire bench MODE ...``."""

import sys

from ignite_fire.cli import main

if __name__ == "__main__":
    main(["bench", *sys.argv[1:]])
