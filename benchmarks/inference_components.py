#!/usr/bin/env python
"""Where inference time goes, without a profiler: a trained model extracts from the first
--sentences sentences of --data through the Python API (`CopyMTLPredictor`, length-sorted
batches of --batch-size), and timers wrapped around the model's parts add up their wall time.

    python benchmarks/inference_components.py runs/copymtl_h1000/model.tar.gz \\
        ../shared/data/webnlg/dev.jsonl [--sentences 500] [--batch-size 100] [--rounds 3]

Parts (seconds per pass over all sentences; the median of --rounds passes after a warm-up):
`model` (the whole forward), `predictor_overhead` (the call minus the forward: instances,
batching, outputs), `encoder`, `decoder`; inside the decoder, `attention_keys` (U o_i once per
sentence), `attention_step` (the step's scores and weights), `decoder_cell` (the LSTM step),
`step_products` (the packed products the decoder runs before them: the query `h W`, with the
cell's `h W_hh^T` under `FUSED_QUERY`) and `decoder_other` (the rest: input layer, scorers,
argmax, bookkeeping); the tagging
head (`tagging`: emissions and Viterbi). A timer adds a few microseconds per call.

`torch.profiler` was misleading here: under it, large fresh buffers (the attention's
(batch, length, H) sums, the encoder's gate blocks) looked far slower than in a plain run, so it
pointed at costs a plain run does not have.
"""
import argparse
import collections
import itertools
import json
import os
import platform
import statistics
import time
from typing import Callable, Dict

import torch
from allennlp.models import load_archive

import copymtl_allennlp.plugin  # noqa: F401  (registers the components)
from copymtl_allennlp.modules import triplet_decoder
from copymtl_allennlp.predictors import CopyMTLPredictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive")
    parser.add_argument("data", help="JSONL with a 'tokens' list per line")
    parser.add_argument("--sentences", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    archive = load_archive(args.archive)
    model = archive.model
    model.eval()
    seconds: Dict[str, float] = collections.defaultdict(float)

    active = set()  # the parts running now

    def timed(name: str, function: Callable, unless_inside: str = "") -> Callable:
        def wrapper(*arguments, **keywords):
            if unless_inside in active:  # counted by the part it runs inside
                return function(*arguments, **keywords)
            active.add(name)
            started = time.perf_counter()
            try:
                return function(*arguments, **keywords)
            finally:
                seconds[name] += time.perf_counter() - started
                active.discard(name)

        return wrapper

    decoder = model.decoder
    model.forward = timed("model", model.forward)
    model.encoder.forward_with_state = timed("encoder", model.encoder.forward_with_state)
    decoder.forward = timed("decoder", decoder.forward)
    if hasattr(decoder.attention, "attend"):
        decoder.attention.attend = timed("attention_step", decoder.attention.attend)
        decoder.attention.project_matrix = timed("attention_keys", decoder.attention.project_matrix)
    else:  # a plain AllenNLP attention: the whole of it per step
        decoder.attention.forward = timed("attention_step", decoder.attention.forward)
    for cell in decoder.cells:
        cell.forward = timed("decoder_cell", cell.forward)  # nn.LSTMCell / GRUCell (GPU, GRU, switch off)
    triplet_decoder.lstm_cell_step = timed("decoder_cell", triplet_decoder.lstm_cell_step)
    # the packed step products the decoder runs itself, outside the cell step: the attention's query
    # h W, alone or with the cell's h W_hh^T (FUSED_QUERY)
    products = triplet_decoder.RecurrentProducts
    products.forward = timed("step_products", products.forward, unless_inside="decoder_cell")  # type: ignore[method-assign]
    if model.tagging_head is not None:
        model.tagging_head.forward = timed("tagging", model.tagging_head.forward)
        model.tagging_head.decode = timed("tagging", model.tagging_head.decode)

    predictor = CopyMTLPredictor(model, archive.dataset_reader)
    with open(args.data) as handle:
        sentences = [json.loads(line)["tokens"] for line in itertools.islice(handle, args.sentences)]
    predictor(sentences[: args.batch_size], batch_size=args.batch_size)  # warm-up
    passes = []
    for _ in range(args.rounds):
        seconds.clear()
        started = time.perf_counter()
        predictor(sentences, batch_size=args.batch_size)
        total = time.perf_counter() - started
        parts = dict(seconds)
        parts["call"] = total
        parts["predictor_overhead"] = total - parts["model"]
        inside = sum(parts.get(k, 0.0) for k in ("attention_keys", "attention_step", "decoder_cell", "step_products"))
        parts["decoder_other"] = parts["decoder"] - inside
        passes.append(parts)
    names = ["call", "model", "predictor_overhead", "encoder", "decoder", "attention_keys", "attention_step",
             "decoder_cell", "step_products", "decoder_other", "tagging"]
    median = {name: statistics.median(p.get(name, 0.0) for p in passes) for name in names}
    print(json.dumps({
        "archive": args.archive, "data": args.data, "sentences": len(sentences), "batch_size": args.batch_size,
        "rounds": args.rounds,
        "seconds_per_pass_median": {name: round(value, 3) for name, value in median.items()},
        "share_of_call": {name: round(value / median["call"], 3) for name, value in median.items()},
        "sentences_per_second": round(len(sentences) / median["call"], 1),
        "threads": torch.get_num_threads(), "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    }, indent=1))


if __name__ == "__main__":
    main()
