"""What every PMO service shares at its edge: settings, auth, problems, health, metrics, CLI."""
