"""Side-by-side timing: interleave the contenders, keep the best of several rounds."""

import time


def best_of(funcs: dict, rounds: int = 5) -> dict:
    """Time each callable ``rounds`` times, interleaved, and return the minimum per name."""
    best = {name: float("inf") for name in funcs}
    for _ in range(rounds):
        for name, fn in funcs.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best
