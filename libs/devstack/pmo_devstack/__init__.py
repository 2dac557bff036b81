"""The embedded stack for `make run`: Tansu broker, the four services as supervised processes, dev tokens."""
