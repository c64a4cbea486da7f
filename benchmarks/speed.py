#!/usr/bin/env python
"""Speed and memory of a config on real sentences, normalised by this machine's matmul peak.

Measures, in one run:
- the float32 matmul peak (GFLOP/s, 2048 x 2048 products) of this machine, best of 5 short
  samples, before and after the run (the higher one normalises);
- training throughput (sentences/s: forward + backward + Adam step) at the config's batch size;
- inference throughput (sentences/s, no autograd, greedy decoding with early exit) through the
  Python API (`extract(tokens=list_of_token_lists, batch_size=...)`, which batches sentences of similar
  length together) at batch sizes 1, 32 and 100, and through
  `allennlp predict` on a JSONL file at --batch-size 100 (a separate process: its ~6 s of start-up
  are included and also reported apart);
- peak resident memory of this process and of the `allennlp predict` process;
- the model's useful FLOPs per sentence (forward), counted analytically for the CopyMTL family
  (see `forward_flops`), by torch's `FlopCounterMode` over the inference sentences for the
  baselines (NovelTagging, GraphRel: `counted_flops`).
Every throughput is also given per 100 GFLOP/s of the measured peak. Training and Python API
figures are the median of --repeats timed passes (default 3): shared machines are noisy.

The model is built from the config with a vocabulary from the data; --archive uses a trained
model instead (early exit then depends on what it learned; an untrained model is given an NA
bias of 0, so it usually decodes all triplets: the slow case).

    python benchmarks/speed.py training_config/copymtl_webnlg.jsonnet ../shared/data/webnlg/dev.jsonl
"""
import argparse
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

import torch
from allennlp.common import Params, cached_transformers
from allennlp.data import Batch, DatasetReader, Vocabulary
from allennlp.models import Model, load_archive
from allennlp.models.archival import archive_model
from allennlp.modules.token_embedders import PretrainedTransformerMismatchedEmbedder
from peak import matmul_peak_gflops, normalise_by_peak
from train_speed import measure_training

import copymtl_allennlp.plugin  # noqa: F401  (registers the components)
from copymtl_allennlp.allocator import keep_freed_memory

keep_freed_memory()  # the figures are with it: COPYMTL_KEEP_FREED_MEMORY=1 gives allennlp predict the same (allocator.py)
from torch.utils.flop_counter import FlopCounterMode

from copymtl_allennlp.models import CopyMTL
from copymtl_allennlp.modules import PooledStateEncoder
from copymtl_allennlp.predictors import CopyMTLPredictor

ALLENNLP = os.path.join(os.path.dirname(sys.executable), "allennlp")
CHILD_PEAK_RSS = (
    "import resource, subprocess, sys; "
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def transformer_flops(model: Model, sentences: List[List[str]]) -> float:
    """Multiply-adds x 2 of the pretrained transformer embedders' forward pass (projections, feed-
    forward layers and attention products of every layer), the mean over ``sentences`` at their
    wordpiece lengths (with [CLS] and [SEP]); 0 without a transformer."""
    total = 0.0
    for embedder in model.source_embedder._token_embedders.values():
        if not isinstance(embedder, PretrainedTransformerMismatchedEmbedder):
            continue
        config = embedder._matched_embedder.transformer_model.config
        tokenizer = cached_transformers.get_tokenizer(config._name_or_path)
        d, f, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
        lengths = [len(tokenizer(words, is_split_into_words=True)["input_ids"]) for words in sentences]
        total += statistics.mean(layers * (2 * n * (4 * d * d + 2 * d * f) + 2 * 2 * n * n * d) for n in lengths)
    return total


def forward_flops(model: Model, length: float, sentences: List[List[str]]) -> Dict[str, float]:
    """Multiply-adds x 2 of one forward pass for a sentence of ``length`` tokens, decoding all
    ``max_triplets`` triplets; a pretrained transformer embedder at the mean over ``sentences``.
    Elementwise work (activations, softmax) is left out."""
    encoder = model.encoder
    n, d, h = length, encoder.get_input_dim(), encoder.get_output_dim()
    gates = 4 if encoder.cell == "lstm" else 3
    decoder = model.decoder
    steps = 3 * decoder.max_triplets
    width = decoder.copy_scorer.decoder_projection.out_features
    rel = decoder.num_relations
    if isinstance(encoder, PooledStateEncoder):
        encoder_flops = 2 * n * d * h if encoder.projection is not None else 0
    else:
        encoder_flops = 2 * 2 * n * gates * h * (d + h)  # two directions
    once_per_sentence = 2 * n * h * h + 2 * n * h * width  # attention keys U o_i, copy scorer W_2 o_i
    per_step = (
        2 * h * h + 2 * n * h + 2 * n * h  # attention: W h, v . tanh(.), weighted sum
        + 2 * (d + h) * d  # W_u
        + 2 * gates * h * (d + h)  # decoder cell
        + 2 * h * (rel + 1)  # W_r, W_NA
        + 2 * h * width + 2 * n * width  # copy scorer, step half and W_o
    )
    tagging = 2 * n * h * 3 if model.tagging_head is not None else 0
    transformer = transformer_flops(model, sentences)
    total = transformer + encoder_flops + once_per_sentence + steps * per_step + tagging
    return {
        "transformer": transformer, "encoder": encoder_flops, "decoder": once_per_sentence + steps * per_step,
        "tagging": tagging, "total": total,
    }


def counted_flops(model: Model, instances: List, batch_size: int = 100) -> Dict[str, float]:
    """FLOPs of the forward passes over ``instances`` in batches (no autograd), counted by torch's
    ``FlopCounterMode`` (matrix products and convolutions), per sentence."""
    counter = FlopCounterMode(display=False)
    was_training = model.training
    requires_grad = {name: p.requires_grad for name, p in model.named_parameters()}
    model.eval()
    # parameters that do not require gradients: torch's module tracker (in FlopCounterMode) fails on
    # a view of a parameter made without autograd (the set decoder's slot queries)
    model.requires_grad_(False)
    with torch.no_grad(), counter:
        for start in range(0, len(instances), batch_size):
            batch = Batch(instances[start : start + batch_size])
            batch.index_instances(model.vocab)
            model(**batch.as_tensor_dict())
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(requires_grad[name])
    model.train(was_training)
    return {"total": counter.get_total_flops() / len(instances)}


def decoder_row_steps(model: Model, predictor: CopyMTLPredictor, records: List[Dict], batch_size: int) -> Dict[str, int]:
    """Decoder work as (sentence, step) pairs over ``records`` in the Python API's batches (sorted
    by length): decoding every step; stopping once every sentence of a batch is finished (at a
    triplet boundary); and letting each finished sentence leave the batch (what the decoder does).
    Exact counts, free of the machine's noise: a sentence with k triplets is finished at the
    relation step of triplet k + 1."""
    instances = sorted((predictor._json_to_instance(r) for r in records), key=lambda i: len(i["source_tokens"]))
    for instance in instances:
        predictor._dataset_reader.apply_token_indexers(instance)
    steps_per_triplet, max_triplets = 3, model.decoder.max_triplets
    counts = {"every_step": 0, "until_all_finished": 0, "finished_leave_batch": 0}
    for start in range(0, len(instances), batch_size):
        batch = Batch(instances[start : start + batch_size])
        batch.index_instances(model.vocab)
        with torch.no_grad():
            outputs = model(**batch.as_tensor_dict())["predicted_relations"].tolist()
        decoded = [sum(1 for _ in itertools.takewhile(lambda r: r >= 0, row)) for row in outputs]
        counts["every_step"] += len(outputs) * steps_per_triplet * max_triplets
        counts["until_all_finished"] += len(outputs) * steps_per_triplet * min(max_triplets, max(decoded) + 1)
        counts["finished_leave_batch"] += sum(min(steps_per_triplet * max_triplets, steps_per_triplet * k + 1) for k in decoded)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("data", help="real sentences (any format the reader reads)")
    parser.add_argument("--archive", help="a trained model.tar.gz (default: build from the config)")
    parser.add_argument("-o", "--overrides", default="")
    parser.add_argument("--train-sentences", type=int, default=300)
    parser.add_argument("--infer-sentences", type=int, default=500)
    parser.add_argument("--batch-one-sentences", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per measurement; the median is reported")
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    for name in ("WEBNLG_TRAIN_PATH", "WEBNLG_DEV_PATH", "NYT_TRAIN_PATH", "NYT_DEV_PATH"):
        os.environ.setdefault(name, args.data)
    torch.manual_seed(1)
    peak = matmul_peak_gflops()
    params = Params.from_file(args.config, args.overrides)
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    instances = list(itertools.islice(reader.read(args.data), max(args.train_sentences, args.infer_sentences)))
    if args.archive:
        archive = load_archive(args.archive)
        model, vocab = archive.model, archive.model.vocab
        reader = archive.dataset_reader
    else:
        vocab = Vocabulary.from_instances(instances)
        model = Model.from_params(vocab=vocab, params=params.duplicate().pop("model"))
    mean_length = sum(len(i["source_tokens"]) for i in instances) / len(instances)
    family = isinstance(model, CopyMTL)
    if family:
        flops = forward_flops(model, mean_length, [[t.text for t in i["source_tokens"].tokens] for i in instances])
    else:
        flops = counted_flops(model, instances[: args.infer_sentences])
    result: Dict = {
        "config": args.config,
        "overrides": args.overrides,
        "data": args.data,
        "archive": args.archive,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
        "matmul_peak_gflops": round(peak, 1),
        "mean_sentence_length": round(mean_length, 1),
        "forward_gflop_per_sentence": {k: round(v / 1e9, 4) for k, v in flops.items()},
    }

    def normalised(rate: float) -> Dict[str, float]:
        return {"sentences_per_s": round(rate, 1)}  # per 100 GFLOP/s of the peak: added at the end

    # training: forward + backward + optimizer, batched by the config's data loader
    if not args.archive:
        trained = measure_training(args.config, args.data, args.train_sentences, args.overrides, args.repeats)
        result["train"] = normalised(trained["train_sentences_per_second"])
        result["train"].update({k: trained[k] for k in ("max_batch_size", "padded_tokens_share")})
        if family:
            with torch.no_grad():  # an untrained model: no NA preference, so decoding runs to the end
                model.decoder.na_scorer.bias.fill_(0.0)

    # inference through the Python API
    model.eval()
    predictor = CopyMTLPredictor(model, reader)
    records = [{"tokens": [t.text for t in i["source_tokens"].tokens]} for i in instances[: args.infer_sentences]]
    result["inference_python_api"] = {}
    for size in (1, 32, 100):
        sentences = [r["tokens"] for r in (records[: args.batch_one_sentences] if size == 1 else records)]
        predictor(tokens=sentences[:size], batch_size=size)  # warm-up
        rates = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            predictor(tokens=sentences, batch_size=size)
            rates.append(len(sentences) / (time.perf_counter() - started))
        result["inference_python_api"][f"batch_{size}"] = normalised(statistics.median(rates))
    result["peak_rss_mb_this_process"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if family:
        result["decoder_row_steps_batch_100"] = decoder_row_steps(model, predictor, records, 100)

    # inference through `allennlp predict`
    if not args.skip_cli:
        with tempfile.TemporaryDirectory() as tmp:
            archive_path = args.archive
            if archive_path is None:
                serialization = os.path.join(tmp, "run")
                os.makedirs(serialization)
                torch.save(model.state_dict(), os.path.join(serialization, "best.th"))
                vocab.save_to_files(os.path.join(serialization, "vocabulary"))
                Params.from_file(args.config, args.overrides).to_file(os.path.join(serialization, "config.json"))
                archive_model(serialization)
                archive_path = os.path.join(serialization, "model.tar.gz")
            inputs = os.path.join(tmp, "in.jsonl")
            with open(inputs, "w") as handle:
                handle.writelines(json.dumps(r) + "\n" for r in records)
            timings, peak_rss = {}, 0
            for name, path in (("empty", os.devnull), ("full", inputs)):
                command = [ALLENNLP, "predict", archive_path, path, "--batch-size", "100", "--silent",
                           "--output-file", os.path.join(tmp, f"out_{name}.jsonl")]
                started = time.perf_counter()
                # a small parent process, so the child's peak RSS is its own (not this process's)
                finished = subprocess.run(
                    [sys.executable, "-c", CHILD_PEAK_RSS, *command], check=True, capture_output=True, text=True
                )
                timings[name] = time.perf_counter() - started
                peak_rss = max(peak_rss, int(finished.stdout.split()[-1]))
            result["inference_allennlp_predict_batch_100"] = {
                "end_to_end": normalised(len(records) / timings["full"]),
                "start_up_s": round(timings["empty"], 1),
                "after_start_up": normalised(len(records) / max(timings["full"] - timings["empty"], 1e-9)),
                "peak_rss_mb": round(peak_rss / 1024),
            }
    # the peak again after the run; throughputs are normalised by the higher of the two
    result["matmul_peak_gflops_start_end"] = [round(peak, 1), round(matmul_peak_gflops(), 1)]
    result["matmul_peak_gflops"] = max(result["matmul_peak_gflops_start_end"])
    normalise_by_peak(result, result["matmul_peak_gflops"])
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
