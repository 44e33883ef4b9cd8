"""Benchmarks (`make bench`): each ``bench_*.py`` module's ``figures()`` adds to results/latest.json."""
