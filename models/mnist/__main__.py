"""``python -m models.mnist``: the command line (see models/mnist/cli.py)."""
import sys

from .cli import main

sys.exit(main())
