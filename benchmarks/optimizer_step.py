#!/usr/bin/env python
"""The optimizer step of a config's model: AllenNLP's "adam" against this package's "fused_adam"
(the same update in one fused kernel), timed in one process, alternating, on the model's real
parameters with random gradients; medians in ms, plus the largest parameter difference after
the same steps from the same state (float rounding only).

    python benchmarks/optimizer_step.py training_config/copymtl_webnlg.jsonnet \\
        ../shared/data/webnlg/train.jsonl [--rounds 5] [--steps 5]
"""
import argparse
import copy
import json
import os
import platform
import statistics
import time

import torch
from allennlp.common import Params
from allennlp.training.optimizers import Optimizer
from train_speed import build_training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("data")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per optimizer and round")
    parser.add_argument("-o", "--overrides", default="")
    args = parser.parse_args()
    model, _, _ = build_training(args.config, args.data, 100, args.overrides)
    lr = Params.from_file(args.config, args.overrides)["trainer"]["optimizer"].get("lr", 0.001)
    models = {"adam": model, "fused_adam": copy.deepcopy(model)}
    generator = torch.Generator().manual_seed(0)
    for p, q in zip(models["adam"].parameters(), models["fused_adam"].parameters()):
        p.grad = torch.randn(p.shape, generator=generator)
        q.grad = p.grad.clone()  # the same gradients for both
    optimizers = {
        name: Optimizer.from_params(model_parameters=list(m.named_parameters()), params=Params({"type": name, "lr": lr}))
        for name, m in models.items()
    }
    for optimizer in optimizers.values():  # warm-up: the moments' buffers
        optimizer.step()
    times = {name: [] for name in optimizers}
    for _ in range(args.rounds):
        for name, optimizer in optimizers.items():
            started = time.perf_counter()
            for _ in range(args.steps):
                optimizer.step()
            times[name].append((time.perf_counter() - started) / args.steps * 1e3)
    difference = max(
        (p - q).abs().max().item() for p, q in zip(models["adam"].parameters(), models["fused_adam"].parameters())
    )
    print(json.dumps({
        "config": args.config,
        "parameters": sum(p.numel() for p in model.parameters()),
        "ms_per_step_median": {name: round(statistics.median(v), 1) for name, v in times.items()},
        "ms_per_step_each_round": {name: [round(x, 1) for x in v] for name, v in times.items()},
        "speed_up": round(statistics.median(times["adam"]) / statistics.median(times["fused_adam"]), 2),
        "max_parameter_difference_after_same_steps": difference,
        "threads": torch.get_num_threads(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    }, indent=1))


if __name__ == "__main__":
    main()
