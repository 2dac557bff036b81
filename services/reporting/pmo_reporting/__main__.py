"""`python -m pmo_reporting serve | migrate | rebuild`."""

import sys

from pmo_reporting.bootstrap import REPORTING
from pmo_servicekit.cli import main

sys.exit(main(REPORTING))
