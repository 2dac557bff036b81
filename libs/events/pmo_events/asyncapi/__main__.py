"""`python -m pmo_events.asyncapi`: print the AsyncAPI document."""

import json
import sys

from pmo_events.asyncapi import build

json.dump(build(), sys.stdout, indent=2, sort_keys=True)
sys.stdout.write("\n")
