"""Benchmarks of the service, run as scripts (``.venv/bin/python benchmarks/load.py``)."""
