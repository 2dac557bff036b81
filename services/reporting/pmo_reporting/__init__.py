"""Reporting service: the cross-service event log, read models, audit trail and time travel."""
