"""What every function of the service shares: what statuses mean and the tables' layout, the DynamoDB
layer, errors, settings, observability, init.

Shipped into every function's package by `functions/Makefile`. It never imports a function's
own package; the functions import it, and never each other (tests/unit/test_layout.py).
"""
