#!/usr/bin/env python
"""Training throughput of a config: sentences per second for forward + backward + optimizer step.

Builds the reader, vocabulary, model and optimizer from the config exactly as `allennlp train`
does, reads the first --sentences sentences of --data, and times training steps over them after
one warm-up step, epochs (--repeats, default 3; the median is reported) of those sentences batched by the
config's data loader (batch size and sampler, e.g. length buckets).

    python benchmarks/train_speed.py training_config/copymtl_webnlg.jsonnet \\
        ../shared/data/webnlg/train.jsonl --sentences 300 \\
        [-o '{"data_loader": {"batch_sampler": {"type": "bucket", "batch_size": 100}}}']

Environment variables the config reads (e.g. WEBNLG_TRAIN_PATH) are set to --data when unset.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import time
from typing import Dict, List, Tuple

import torch
from allennlp.common import Params
from allennlp.data import DataLoader, DatasetReader, Vocabulary
from allennlp.models import Model
from allennlp.nn.util import get_text_field_mask
from allennlp.training.optimizers import Optimizer

import copymtl_allennlp.plugin  # noqa: F401  (registers the components)
from copymtl_allennlp.allocator import keep_freed_memory

keep_freed_memory()  # as the configs' keep_freed_memory callback does in training (allocator.py)


def default_data_paths(data: str) -> None:
    """Sets the data paths the configs read from the environment to ``data`` where unset."""
    for name in ("WEBNLG_TRAIN_PATH", "WEBNLG_DEV_PATH", "NYT_TRAIN_PATH", "NYT_DEV_PATH"):
        os.environ.setdefault(name, data)


def build_training(config: str, data: str, sentences: int, overrides: str = "") -> Tuple[Model, torch.optim.Optimizer, List[Dict]]:
    """The config's reader, vocabulary, model and optimizer, built as `allennlp train` builds them,
    and one epoch of the first ``sentences`` sentences of ``data`` batched by the config's data
    loader (batch size and sampler, e.g. length buckets). Environment variables the config reads
    are set to ``data`` when unset. The model is in training mode."""
    default_data_paths(data)
    params = Params.from_file(config, overrides)
    torch.manual_seed(params.get("pytorch_seed", 1))
    reader = DatasetReader.from_params(params.pop("dataset_reader"), max_instances=sentences)
    loader = DataLoader.from_params(params.pop("data_loader"), reader=reader, data_path=data)
    vocab = Vocabulary.from_instances(loader.iter_instances())
    loader.index_with(vocab)
    model = Model.from_params(vocab=vocab, params=params.pop("model"))
    optimizer = Optimizer.from_params(
        model_parameters=[[n, p] for n, p in model.named_parameters() if p.requires_grad],
        params=params.pop("trainer").pop("optimizer"),
    )
    model.train()
    return model, optimizer, list(loader)


def measure_training(config: str, data: str, sentences: int, overrides: str = "", repeats: int = 1) -> dict:
    """``repeats`` epochs of training steps over the first ``sentences`` sentences of ``data``,
    batched by the config's data loader, after one warm-up step; the median epoch's rate."""
    model, optimizer, batches = build_training(config, data, sentences, overrides)

    def step(tensors):
        optimizer.zero_grad()
        model(**tensors)["loss"].backward()
        optimizer.step()

    step(batches[0])  # warm-up
    timed = sum(len(t["metadata"]) for t in batches)
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        for tensors in batches:
            step(tensors)
        rates.append(timed / (time.perf_counter() - started))
    # shape: (batch_size, seq_len) each; word-level, whatever the indexers
    masks = [get_text_field_mask(b["source_tokens"]) for b in batches]
    return {
        "sentences_timed": timed,
        "batches": len(batches),
        "max_batch_size": max(len(b["metadata"]) for b in batches),
        "padded_tokens_share": round(1 - sum(int(m.sum()) for m in masks) / sum(m.numel() for m in masks), 3),
        "epochs_timed": repeats,
        "train_sentences_per_second_each_epoch": [round(r, 1) for r in rates],
        # the median epoch: shared machines are noisy
        "train_sentences_per_second": round(statistics.median(rates), 1),
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("data")
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3, help="epochs timed; the median is reported")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("-o", "--overrides", default="", help="as allennlp train -o")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from peak import matmul_peak_gflops  # noqa: E402  (the peak speed.py measures too)

    result = {"config": args.config, "overrides": args.overrides, "data": args.data}
    start_peak = matmul_peak_gflops()
    result.update(measure_training(args.config, args.data, args.sentences, args.overrides, args.repeats))
    # the peak before and after the epochs; normalised by the higher (see peak.matmul_peak_gflops)
    result["matmul_peak_gflops_start_end"] = [round(start_peak, 1), round(matmul_peak_gflops(), 1)]
    result["matmul_peak_gflops"] = max(result["matmul_peak_gflops_start_end"])
    result["per_100_gflops_peak"] = round(result["train_sentences_per_second"] / result["matmul_peak_gflops"] * 100, 1)
    result.update(
        threads=torch.get_num_threads(),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    )
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
