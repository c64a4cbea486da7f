"""The matrix-product peak of this machine, by which the speed scripts normalise their throughputs
(benchmarks/speed.py and benchmarks/train_speed.py both import it from here)."""
import time
from typing import Dict

import torch


def matmul_peak_gflops(size: int = 2048, repeats: int = 4, samples: int = 5) -> float:
    """The best of ``samples`` timings of ``repeats`` float32 products of two ``size`` x ``size``
    matrices, in GFLOP/s. The best, not the mean: a shared machine has short slow spells, and a
    peak measured in one would flatter every throughput normalised by it."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(2):
        a @ b
    best = 0.0
    for _ in range(samples):
        started = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9)
    return best


def normalise_by_peak(result: Dict, peak: float) -> None:
    """Adds ``per_100_gflops_peak`` beside every ``sentences_per_s`` in ``result``."""
    for value in result.values():
        if isinstance(value, dict):
            if "sentences_per_s" in value:
                value["per_100_gflops_peak"] = round(value["sentences_per_s"] / peak * 100, 1)
            normalise_by_peak(value, peak)
