"""Intake service: proposals and business cases, from draft to the board's decision."""
