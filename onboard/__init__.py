"""Operator commands of the edge job-report API, run from the development venv (never shipped in a function).

`python -m onboard node ...` registers a device of a project (onboard/node.py, docs/onboarding-node.md).
"""
