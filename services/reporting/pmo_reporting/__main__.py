"""`python -m pmo_reporting serve | migrate | rebuild | projections (list | rebuild NAME... [--force])`."""

import sys

from pmo_reporting.bootstrap import REPORTING
from pmo_reporting.cli import projections_main
from pmo_servicekit.cli import main

if sys.argv[1:2] == ["projections"]:
    sys.exit(projections_main(sys.argv[2:]))
sys.exit(
    main(
        REPORTING,
        epilog="python -m pmo_reporting projections list | rebuild NAME... [--force]: reporting's read models, "
        "online; several rebuilt at once (docs/reporting.md)",
    )
)
