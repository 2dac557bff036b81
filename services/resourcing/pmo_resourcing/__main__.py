"""`python -m pmo_resourcing serve | migrate | rebuild`."""

import sys

from pmo_resourcing.bootstrap import RESOURCING
from pmo_servicekit.cli import main

sys.exit(main(RESOURCING))
