"""What every portfolio concept shares: domain errors, fiscal periods, HTTP conventions."""
