#!/usr/bin/env python
"""Training time with the decoder's step gradients collected over the steps
(``TripletDecoder.collect_step_gradients``, `modules/step_gradients.py`) against plain autograd,
in one process, alternating the two on the same batches (which one goes first alternates too), so
that the slow spells of a shared machine fall on both alike.

    python benchmarks/ab_step_gradients.py training_config/copymtl_webnlg.jsonnet \\
        ../shared/data/webnlg/train.jsonl --sentences 1000 [--rounds 2]

Prints the summed seconds of forward + backward + Adam step of each variant over all batches
and rounds, and the minor page faults of each.
"""
import argparse
import itertools
import json
import os
import resource
import time

import torch
from allennlp.common import Params
from allennlp.data import Batch, DatasetReader, Vocabulary
from allennlp.data.samplers import BucketBatchSampler
from allennlp.models import Model

import copymtl_allennlp  # noqa: F401  (registers the package)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("data")
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for name in ("WEBNLG_TRAIN_PATH", "WEBNLG_DEV_PATH", "NYT_TRAIN_PATH", "NYT_DEV_PATH"):
        os.environ.setdefault(name, args.data)
    params = Params.from_file(args.config)
    torch.manual_seed(params.get("random_seed", 0))
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    instances = list(itertools.islice(reader.read(args.data), args.sentences))
    vocab = Vocabulary.from_instances(instances)
    model = Model.from_params(vocab=vocab, params=params.pop("model"))
    model.train()
    for instance in instances:
        instance.index_fields(vocab)
    sampler = BucketBatchSampler(batch_size=params["data_loader"]["batch_sampler"].get("batch_size", 100))
    batches = [Batch([instances[i] for i in indices]).as_tensor_dict() for indices in sampler.get_batch_indices(instances)]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    seconds = {"collected": 0.0, "autograd": 0.0}
    faults = {"collected": 0, "autograd": 0}

    def step(variant: str, batch) -> None:
        model.decoder.collect_step_gradients = variant == "collected"
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        started = time.perf_counter()
        optimizer.zero_grad()
        model(**batch)["loss"].backward()
        optimizer.step()
        seconds[variant] += time.perf_counter() - started
        faults[variant] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    step("collected", batches[0])  # warm-up
    for round_ in range(args.rounds):
        for index, batch in enumerate(batches):
            order = ("collected", "autograd") if (index + round_) % 2 == 0 else ("autograd", "collected")
            for variant in order:
                step(variant, batch)
    sentences = args.rounds * sum(len(batch["metadata"]) for batch in batches)
    print(json.dumps({
        "config": args.config,
        "data": args.data,
        "sentences_per_variant": sentences,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "sentences_per_s": {k: round(sentences / v, 1) for k, v in seconds.items()},
        "minor_page_faults": faults,
    }, indent=1))


if __name__ == "__main__":
    main()
