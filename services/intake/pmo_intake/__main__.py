"""`python -m pmo_intake serve | migrate | rebuild`."""

import sys

from pmo_intake.bootstrap import INTAKE
from pmo_servicekit.cli import main

sys.exit(main(INTAKE))
