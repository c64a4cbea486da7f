#!/usr/bin/env python
"""Peak memory of a model on long sentences: a training step (forward, backward, Adam) and an
inference pass on a batch of sentences of each given length, each in a process of its own, so each
peak resident set size (RSS) is that setting's alone.

The vocabulary comes from --data (the training file, so the relations are the real ones: the
table-filling tables grow with tokens^2 x relations) or, with --archive, from a trained model; a
sentence of N tokens repeats the first sentence's tokens. Inference decodes what the model
predicts: an untrained table-filling model tags links everywhere, so its decoding stops at the
model's max_decoded_triplets a sentence; a trained one (--archive) shows the memory of use. Prints
one JSON object.

    python benchmarks/table_memory.py training_config/tplinker_glove_webnlg.jsonnet \\
        ../shared/data/webnlg_exact/train.jsonl --lengths 80 200 --batch-sizes 1 32
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys

CHILD = r"""
import itertools, json, resource, sys, time
import torch
from allennlp.common import Params
from allennlp.data import Batch, DatasetReader, Vocabulary
from allennlp.models import Model
import copymtl_allennlp.plugin  # noqa: F401

config, data, length, batch_size, mode, archive = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
params = Params.from_file(config)
reader = DatasetReader.from_params(params.pop("dataset_reader"))
instances = list(itertools.islice(reader.read(data), 1))
if archive:
    from allennlp.models import load_archive
    loaded = load_archive(archive)
    model, vocab, reader = loaded.model, loaded.model.vocab, loaded.dataset_reader
else:
    instances = list(reader.read(data))
    vocab = Vocabulary.from_instances(instances)
    model = Model.from_params(vocab=vocab, params=params.pop("model"))
words = [t.text for t in instances[0]["source_tokens"].tokens]
tokens = list(itertools.islice(itertools.cycle(words), length))
batch = [reader.text_to_instance(tokens, []) for _ in range(batch_size)]
for instance in batch:
    reader.apply_token_indexers(instance)
batch = Batch(batch)
batch.index_instances(vocab)
tensors = batch.as_tensor_dict()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
if mode == "train":
    model.train()
    optimizer = torch.optim.Adam(model.parameters())
    model(**tensors)["loss"].backward()
    optimizer.step()
else:
    model.eval()
    with torch.no_grad():
        model(**{k: v for k, v in tensors.items() if not k.startswith("target_")})
seconds = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_rss_mb": round(after / 1024), "model_and_data_rss_mb": round(before / 1024), "seconds": round(seconds, 2)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("data", help="the training file (vocabulary and relations)")
    parser.add_argument("--lengths", type=int, nargs="+", default=[80, 200])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--modes", nargs="+", default=["inference", "train"], choices=["inference", "train"])
    parser.add_argument("--archive", default="", help="a trained model.tar.gz (its vocabulary; inference decodes what it predicts)")
    args = parser.parse_args()
    for name in ("WEBNLG_TRAIN_PATH", "WEBNLG_DEV_PATH", "NYT_TRAIN_PATH", "NYT_DEV_PATH"):
        os.environ.setdefault(name, args.data)
    results = []
    for length in args.lengths:
        for batch_size in args.batch_sizes:
            for mode in args.modes:
                finished = subprocess.run(
                    [sys.executable, "-c", CHILD, args.config, args.data, str(length), str(batch_size), mode, args.archive],
                    capture_output=True, text=True,
                )
                row = {"tokens": length, "batch_size": batch_size, "mode": mode}
                if finished.returncode == 0:
                    row.update(json.loads(finished.stdout.strip().splitlines()[-1]))
                else:
                    row["error"] = finished.stderr.strip().splitlines()[-1] if finished.stderr.strip() else f"exit {finished.returncode}"
                results.append(row)
                print(json.dumps(row), file=sys.stderr)
    print(json.dumps({
        "config": args.config,
        "data": args.data,
        "archive": args.archive or None,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}",
        "this_process_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "results": results,
    }, indent=1))


if __name__ == "__main__":
    main()
