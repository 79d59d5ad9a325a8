"""The development kit: what `make run` (localapi), the tests and the benchmark share, and the functions never ship.

Nothing here is imported by a function's code.
"""
