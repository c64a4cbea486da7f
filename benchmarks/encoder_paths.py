#!/usr/bin/env python
"""The paper-size encoder's ways through a batch, timed on a config's real batches: the step loop
(`_LstmDirection`), round 6's kernel runs (torch's LSTM kernel up to the batch's shortest
sentence, the loop after it) and round 7's frozen padding (whole kernel calls whose rows may end
inside them) at several call costs (`KERNEL_CALL_ROW_STEPS`). Training (forward + backward) and,
with --inference, forward without autograd. Variants alternate within each of --rounds rounds;
ms per sentence, medians; and the largest difference of each variant's outputs and states from
the loop's.

    python benchmarks/encoder_paths.py training_config/copymtl_webnlg.jsonnet \\
        ../shared/data/webnlg/train.jsonl [--sentences 1000] [--rounds 3] [--call-costs 0 40 1e9] \\
        [-o '{"data_loader.batch_sampler.type": "..."}'] [--inference]
"""
import argparse
import contextlib
import json
import os
import platform
import statistics
import time
from typing import Dict, Iterator

import torch
from allennlp.nn import util
from train_speed import build_training

from copymtl_allennlp.modules import lstm_layer


@contextlib.contextmanager
def path(variant: str) -> Iterator[None]:
    names = ("FROZEN_PADDING_FOR_TRAINING", "FROZEN_PADDING_FOR_INFERENCE", "KERNEL_RUNS_FOR_TRAINING", "KERNEL_RUNS_FOR_INFERENCE", "KERNEL_CALL_ROW_STEPS")
    saved = {name: getattr(lstm_layer, name) for name in names}
    lstm_layer.FROZEN_PADDING_FOR_TRAINING = lstm_layer.FROZEN_PADDING_FOR_INFERENCE = variant.startswith("frozen")
    lstm_layer.KERNEL_RUNS_FOR_TRAINING = lstm_layer.KERNEL_RUNS_FOR_INFERENCE = variant == "kernel_runs"
    if variant.startswith("frozen"):
        lstm_layer.KERNEL_CALL_ROW_STEPS = float(variant.split("_")[-1])
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(lstm_layer, name, value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("data")
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--call-costs", type=float, nargs="+", default=[0.0, 40.0, 1e9])
    parser.add_argument("--inference", action="store_true", help="forward without autograd instead of training")
    parser.add_argument("-o", "--overrides", default="")
    args = parser.parse_args()
    model, _, batches = build_training(args.config, args.data, args.sentences, args.overrides)
    encoder = model.encoder
    prepared = []
    for tensors in batches:
        mask = util.get_text_field_mask(tensors["source_tokens"])
        with torch.no_grad():
            prepared.append((model.source_embedder(tensors["source_tokens"]), mask))
    variants = ["loop", "kernel_runs"] + [f"frozen_{cost:g}" for cost in args.call_costs]

    def run(inputs: torch.Tensor, mask: torch.Tensor):
        if args.inference:
            with torch.no_grad():
                return encoder.forward_with_state(inputs, mask)
        outputs, (h, c) = encoder.forward_with_state(inputs.clone().requires_grad_(), mask)
        (outputs.sum() + h.sum() + c.sum()).backward()
        return outputs, (h, c)

    differences: Dict[str, float] = {}
    with path("loop"):
        reference = [run(*batch) for batch in prepared]
    for variant in variants:
        with path(variant):
            got = [run(*batch) for batch in prepared]  # also the warm-up
        differences[variant] = max(
            max((a[0] - b[0]).abs().max().item(), (a[1][0] - b[1][0]).abs().max().item(), (a[1][1] - b[1][1]).abs().max().item())
            for a, b in zip(got, reference)
        )
    sentences = sum(inputs.size(0) for inputs, _ in prepared)
    times: Dict[str, list] = {variant: [] for variant in variants}
    for _ in range(args.rounds):
        for variant in variants:
            with path(variant):
                started = time.perf_counter()
                for batch in prepared:
                    run(*batch)
                times[variant].append((time.perf_counter() - started) / sentences * 1e3)
    tokens = sum(int(m.sum()) for _, m in prepared)
    padded = sum(m.numel() for _, m in prepared)
    print(json.dumps({
        "config": args.config, "overrides": args.overrides, "data": args.data, "sentences": sentences,
        "batches": len(prepared), "padded_tokens_share": round(1 - tokens / padded, 3),
        "mode": "inference" if args.inference else "training (forward + backward)",
        "ms_per_sentence_median": {v: round(statistics.median(t), 2) for v, t in times.items()},
        "ms_per_sentence_each_round": {v: [round(x, 2) for x in t] for v, t in times.items()},
        "max_difference_from_loop": differences,
        "threads": torch.get_num_threads(), "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    }, indent=1))


if __name__ == "__main__":
    main()
