"""Comparisons: the same questions through several arms (a pipeline on a model), measured.

``service.py`` starts and follows them (the API's side), ``runner.py`` plays them (a worker's),
``summary.py`` turns their stored rounds and traces into statistics.
"""
