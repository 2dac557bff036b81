"""One definition per figure: pure functions that the owning service and reporting both import (docs/figures.md).

Nothing here does I/O or knows a service; `.importlinter` keeps it that way.
"""
