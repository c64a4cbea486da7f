#!/usr/bin/env python
"""The encoder's per-step recurrent products at paper size, timed in one process, variants
alternating: (rows x H) x (H x 4H) forward (``h W_hh^T``) and (rows x 4H) x (4H x H) backward
(``dG W_hh``), as torch's ``addmm`` / ``mm`` (MKL, which packs the weight at every call) and as
oneDNN's linear on a weight reordered once (``lstm_layer.recurrent_product``), plus the cost of
the reordering itself.

    python benchmarks/recurrent_product.py [--rows 100] [--hidden 1000] [--rounds 7]
"""
import argparse
import json
import os
import platform
import statistics
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=30, help="calls per variant and round")
    args = parser.parse_args()
    torch.manual_seed(0)
    rows, hidden = args.rows, args.hidden
    weight = torch.randn(4 * hidden, hidden) * 0.01  # W_hh, (4H, H)
    weight_t = weight.t().contiguous()
    h, input_gates, grad_gates = torch.randn(rows, hidden), torch.randn(rows, 4 * hidden), torch.randn(rows, 4 * hidden)
    reorder, linear = torch.ops.mkldnn._reorder_linear_weight, torch.ops.mkldnn._linear_pointwise
    packed, packed_t = reorder(weight, rows), reorder(weight_t, rows)
    variants = {
        "forward addmm (MKL)": lambda: torch.addmm(input_gates, h, weight.t()),
        "forward oneDNN packed, + input gates": lambda: linear(h, packed, None, "none", [], "").add_(input_gates),
        "backward mm (MKL)": lambda: grad_gates.mm(weight),
        "backward oneDNN packed": lambda: linear(grad_gates, packed_t, None, "none", [], ""),
        "reorder W_hh once": lambda: reorder(weight, rows),
    }
    milliseconds = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run in variants.items():
            run()
            started = time.perf_counter()
            for _ in range(args.calls):
                run()
            milliseconds[name].append((time.perf_counter() - started) / args.calls * 1000)
    print(json.dumps({
        "shape": f"({rows} x {hidden}) x ({hidden} x {4 * hidden})",
        "median_ms": {name: round(statistics.median(values), 2) for name, values in milliseconds.items()},
        "rounds": args.rounds, "calls_per_round": args.calls, "threads": torch.get_num_threads(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    }, indent=1))


if __name__ == "__main__":
    main()
