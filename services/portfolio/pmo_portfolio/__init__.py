"""Portfolio service: strategy, budget envelopes, board decisions and the projects they start."""
