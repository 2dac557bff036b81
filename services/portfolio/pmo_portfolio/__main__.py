"""`python -m pmo_portfolio serve | migrate | rebuild | republish | parked | sweep`."""

import sys

from pmo_portfolio.bootstrap import PORTFOLIO
from pmo_servicekit.cli import main

sys.exit(main(PORTFOLIO))
