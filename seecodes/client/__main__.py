"""``python -m seecodes.client``: the seecodes CLI."""
import sys

from .cli import main

sys.exit(main())
