"""Benchmarks: ``python -m bench [name ...]`` (``make bench``).

Each ``bench_*.py`` module defines ``run() -> list[str]`` and reports ratios measured side
by side in one process, because wall-clock seconds on shared machines are noisy.
"""
