#!/usr/bin/env python
"""A/B timing of a module-level switch in one process: training steps (or, with --inference,
greedy decoding without autograd) over the same batches, the switch flipped batch by batch, so
that this machine's drift (its throughput moves by a third within an hour) hits both settings
alike. Separate runs differ by more than most changes; this is how a change of a few percent is
measured here.

    python benchmarks/ab_switch.py training_config/copymtl_webnlg.jsonnet ../shared/data/webnlg/train.jsonl \\
        --switch copymtl_allennlp.modules.lstm_layer.PACKED_PRODUCTS [--sentences 1000] [--rounds 2] [--inference]
    python benchmarks/ab_switch.py training_config/copymtl_webnlg.jsonnet ../shared/data/webnlg/dev.jsonl \\
        --switch ... --inference --archive runs/copymtl_h1000/model.tar.gz   # a trained model

Batches come from the config's data loader (batch size, length buckets). With --archive
(inference only) the trained model of a ``model.tar.gz`` decodes them with its own vocabulary
and reader, so early exit stops where that model stops; otherwise the model is built from the
config, untrained.

The switch is a boolean module attribute; the script reports sentences/s with it True and False
(total sentences over total seconds), and the ratio.
"""
import argparse
import json
import os
import platform
import time
from typing import Dict, List, Tuple

import torch
from allennlp.common import Params
from allennlp.data import DataLoader
from allennlp.models import Model, load_archive
from train_speed import boolean_switch, build_training, default_data_paths


def trained_batches(archive_path: str, config: str, data: str, sentences: int, overrides: str = "") -> Tuple[Model, List[Dict]]:
    """The archive's model, and the first ``sentences`` sentences of ``data`` read by the
    archive's reader and batched by ``config``'s data loader, indexed with the model's vocabulary."""
    archive = load_archive(archive_path)
    default_data_paths(data)
    params = Params.from_file(config, overrides)
    reader = archive.dataset_reader
    reader.max_instances = sentences
    loader = DataLoader.from_params(params.pop("data_loader"), reader=reader, data_path=data)
    loader.index_with(archive.model.vocab)
    return archive.model, list(loader)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("data")
    parser.add_argument("--switch", required=True, help="module.path.ATTRIBUTE, a boolean")
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--inference", action="store_true", help="time greedy decoding (no autograd) instead")
    parser.add_argument("--archive", help="a trained model.tar.gz to decode with (needs --inference)")
    parser.add_argument("-o", "--overrides", default="")
    args = parser.parse_args()
    if args.archive and not args.inference:
        parser.error("--archive needs --inference")
    module, attribute = boolean_switch(parser, args.switch)

    if args.archive:
        model, batches = trained_batches(args.archive, args.config, args.data, args.sentences, args.overrides)
    else:
        model, optimizer, batches = build_training(args.config, args.data, args.sentences, args.overrides)

    def train_step(tensors) -> None:
        optimizer.zero_grad()
        model(**tensors)["loss"].backward()
        optimizer.step()

    def decode(tensors) -> None:
        with torch.no_grad():
            model(**{key: value for key, value in tensors.items() if not key.startswith(("target_", "entity_tags"))})

    model.train(not args.inference)
    run = decode if args.inference else train_step
    for setting in (True, False):  # warm-up
        setattr(module, attribute, setting)
        run(batches[0])
    seconds = {True: 0.0, False: 0.0}
    for round_ in range(args.rounds):
        for index, tensors in enumerate(batches):
            # alternate which setting goes first, batch by batch and round by round
            order = (True, False) if (index + round_) % 2 == 0 else (False, True)
            for setting in order:
                setattr(module, attribute, setting)
                started = time.perf_counter()
                run(tensors)
                seconds[setting] += time.perf_counter() - started
    sentences = sum(len(t["metadata"]) for t in batches) * args.rounds
    rates = {setting: sentences / seconds[setting] for setting in seconds}
    print(json.dumps({
        "config": args.config, "overrides": args.overrides, "data": args.data, "switch": args.switch,
        "archive": args.archive,
        "mode": "inference (no autograd, greedy)" if args.inference else "training step (forward, backward, Adam)",
        "sentences_per_setting": sentences, "rounds": args.rounds, "batches": len(batches),
        "sentences_per_second_on": round(rates[True], 1), "sentences_per_second_off": round(rates[False], 1),
        "on_over_off": round(rates[True] / rates[False], 3),
        "threads": torch.get_num_threads(), "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    }, indent=1))


if __name__ == "__main__":
    main()
