"""Scenarios' pure rules: from a what-if request to the optimiser's question, and the MILP optimiser itself."""
