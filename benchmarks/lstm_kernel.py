#!/usr/bin/env python
"""One LSTM direction at paper size, torch's fused LSTM kernel (`torch.lstm`, oneDNN on a CPU)
against this package's step loop (`lstm_layer`), the measurements behind round 5's inference
path: a full-length batch (--rows sentences of --steps tokens) without autograd, the same steps
as one kernel call per step (what a kernel call costs beyond its steps), and forward + backward.
Variants alternate within each of --rounds rounds; medians in ms.

    python benchmarks/lstm_kernel.py [--rows 100] [--steps 26] [--hidden 1000] [--input 100] [--rounds 3]
"""
import argparse
import json
import os
import platform
import statistics
import time
from typing import Callable, Dict, List

import torch

import copymtl_allennlp.plugin  # noqa: F401  (registers the components)
from copymtl_allennlp.modules import lstm_layer
from copymtl_allennlp.modules.lstm_layer import masked_lstm_direction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--steps", type=int, default=26)
    parser.add_argument("--hidden", type=int, default=1000)
    parser.add_argument("--input", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=5, help="timed calls per variant and round")
    args = parser.parse_args()
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(args.input, args.hidden, batch_first=True)
    inputs = torch.randn(args.rows, args.steps, args.input)
    mask = torch.ones(args.rows, args.steps, dtype=torch.bool)
    bias = lstm.bias_ih_l0 + lstm.bias_hh_l0
    weights = (lstm.weight_ih_l0, lstm.weight_hh_l0, bias)
    state = (torch.zeros(1, args.rows, args.hidden), torch.zeros(1, args.rows, args.hidden))

    def loop_inference() -> None:
        with torch.no_grad():
            lstm_layer.KERNEL_RUNS_FOR_INFERENCE = False
            masked_lstm_direction(inputs, mask, *weights)
            lstm_layer.KERNEL_RUNS_FOR_INFERENCE = True

    def kernel_inference() -> None:
        with torch.no_grad():
            lstm(inputs, state)

    def kernel_call_per_step() -> None:
        with torch.no_grad():
            h, c = state
            for t in range(args.steps):
                _, (h, c) = lstm(inputs[:, t : t + 1], (h, c))

    trainable = inputs.clone().requires_grad_()

    def loop_training() -> None:
        outputs, h, c = masked_lstm_direction(trainable, mask, *weights)
        (outputs.sum() + h.sum() + c.sum()).backward()

    def kernel_training() -> None:
        outputs, (h, c) = lstm(trainable, state)
        (outputs.sum() + h.sum() + c.sum()).backward()

    variants: Dict[str, Callable[[], None]] = {
        "inference_loop": loop_inference, "inference_kernel": kernel_inference,
        "inference_kernel_call_per_step": kernel_call_per_step,
        "training_loop": loop_training, "training_kernel": kernel_training,
    }
    times: Dict[str, List[float]] = {name: [] for name in variants}
    for function in variants.values():  # warm-up
        function()
    for _ in range(args.rounds):
        for name, function in variants.items():
            started = time.perf_counter()
            for _ in range(args.calls):
                function()
            times[name].append((time.perf_counter() - started) / args.calls * 1e3)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(json.dumps({
        "rows": args.rows, "steps": args.steps, "hidden": args.hidden, "input": args.input, "rounds": args.rounds,
        "ms_median": {name: round(value, 1) for name, value in median.items()},
        "ms_each_round": {name: [round(v, 1) for v in values] for name, values in times.items()},
        "kernel_call_overhead_ms": round(
            (median["inference_kernel_call_per_step"] - median["inference_kernel"]) / (args.steps - 1), 2
        ),
        "threads": torch.get_num_threads(), "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    }, indent=1))


if __name__ == "__main__":
    main()
