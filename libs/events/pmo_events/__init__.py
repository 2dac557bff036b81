"""Shared event contracts and the event runtime of the PMO backend."""
