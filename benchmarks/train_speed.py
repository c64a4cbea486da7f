#!/usr/bin/env python
"""Training throughput of a config: sentences per second for forward + backward + optimizer step.

Builds the reader, vocabulary, model and optimizer from the config exactly as `allennlp train`
does, reads the first --sentences sentences of --data, and times --steps training steps after
one warm-up step, at the config's batch size.

    python benchmarks/train_speed.py training_config/copymtl_webnlg.jsonnet \\
        ../shared/data/webnlg/train.jsonl --sentences 300

Environment variables the config reads (e.g. WEBNLG_TRAIN_PATH) are set to --data when unset.
"""
import argparse
import itertools
import json
import os
import platform
import resource
import time

import torch
from allennlp.common import Params
from allennlp.data import Batch, DatasetReader, Vocabulary
from allennlp.models import Model
from allennlp.training.optimizers import Optimizer

import copymtl_allennlp  # noqa: F401


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("data")
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("-o", "--overrides", default="", help="as allennlp train -o")
    args = parser.parse_args()
    for name in ("WEBNLG_TRAIN_PATH", "WEBNLG_DEV_PATH", "NYT_TRAIN_PATH", "NYT_DEV_PATH"):
        os.environ.setdefault(name, args.data)
    torch.set_num_threads(args.threads)
    params = Params.from_file(args.config, args.overrides)
    torch.manual_seed(params.get("pytorch_seed", 1))
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    instances = list(itertools.islice(reader.read(args.data), args.sentences))
    vocab = Vocabulary.from_instances(instances)
    model = Model.from_params(vocab=vocab, params=params.pop("model"))
    trainer_params = params.pop("trainer")
    optimizer = Optimizer.from_params(
        model_parameters=[[n, p] for n, p in model.named_parameters() if p.requires_grad],
        params=trainer_params.pop("optimizer"),
    )
    batch_size = params.pop("data_loader").pop("batch_size")
    batches = []
    for start in range(0, len(instances), batch_size):
        batch = Batch(instances[start : start + batch_size])
        batch.index_instances(vocab)
        batches.append(batch.as_tensor_dict())
    model.train()

    def step(tensors):
        optimizer.zero_grad()
        loss = model(**tensors)["loss"]
        loss.backward()
        optimizer.step()

    step(batches[0])  # warm-up
    timed = [batches[i % len(batches)] for i in range(args.steps)]
    started = time.perf_counter()
    for tensors in timed:
        step(tensors)
    elapsed = time.perf_counter() - started
    sentences = sum(len(t["metadata"]) for t in timed)
    result = {
        "config": args.config,
        "overrides": args.overrides,
        "data": args.data,
        "sentences_timed": sentences,
        "batch_size": batch_size,
        "seconds": round(elapsed, 2),
        "train_sentences_per_second": round(sentences / elapsed, 1),
        "parameters": sum(p.numel() for p in model.parameters()),
        "threads": torch.get_num_threads(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
