#!/usr/bin/env python
"""Trains a system's config on a dataset given by paths, selects the best epoch on dev, and
appends its metrics (strict, lenient, relation-only, entity-only, tagging F1, swaps) to a results
file; with --test, scores the test split with `allennlp evaluate` too.

    python benchmarks/quality.py training_config/copymtl_webnlg.jsonnet \\
        --train ../shared/data/webnlg/train.jsonl --dev ../shared/data/webnlg/dev.jsonl \\
        --serialization-dir runs/copymtl_webnlg --label "CopyMTL-One" \\
        [-o '{"model.feeding": "own"}'] [--test test.jsonl] [--results benchmarks/results/results.jsonl]

The config's data variables (WEBNLG_*_PATH, NYT_*_PATH) are set from --train and --dev.
--record-only records a run trained before (e.g. by `allennlp train ... --recover` across
sessions) without training: its wall time is then the sum of the epoch durations that AllenNLP
logged in the run's out.log (an epoch cut off by an interruption is not counted).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

KEYS = (
    "precision", "recall", "f1",
    "lenient_precision", "lenient_recall", "lenient_f1",
    "relation_precision", "relation_recall", "relation_f1",
    "entity_precision", "entity_recall", "entity_f1",
    "tagging_f1", "swaps", "text_precision", "text_recall", "text_f1",
)
ALLENNLP = os.path.join(os.path.dirname(sys.executable), "allennlp")


def logged_epoch_seconds(log_path: str) -> float:
    """The sum of the "Epoch duration: H:MM:SS.ffffff" lines of an AllenNLP out.log."""
    total = 0.0
    with open(log_path) as handle:
        for line in handle:
            if "Epoch duration: " in line:
                hours, minutes, seconds = line.rsplit("Epoch duration: ", 1)[1].strip().split(":")
                total += int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("--train", required=True)
    parser.add_argument("--dev", required=True)
    parser.add_argument("--test")
    parser.add_argument("--serialization-dir", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("-o", "--overrides", default="")
    parser.add_argument("--results", default="benchmarks/results/results.jsonl")
    parser.add_argument("--recover", action="store_true", help="continue an interrupted run")
    parser.add_argument("--record-only", action="store_true", help="record a finished run without training")
    args = parser.parse_args()

    env = dict(os.environ)
    for dataset in ("WEBNLG", "NYT"):
        env[f"{dataset}_TRAIN_PATH"] = args.train
        env[f"{dataset}_DEV_PATH"] = args.dev
    command = [ALLENNLP, "train", args.config, "-s", args.serialization_dir, "--file-friendly-logging"]
    command += ["--recover"] if args.recover else ["-f"]
    if args.overrides:
        command += ["-o", args.overrides]
    # the code that trains is the code checked out now (the commit is read before training)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    if args.record_only:
        wall = logged_epoch_seconds(os.path.join(args.serialization_dir, "out.log"))
    else:
        started = time.time()
        with open(args.serialization_dir.rstrip("/") + ".log", "w") as log:
            subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
        wall = time.time() - started
    with open(os.path.join(args.serialization_dir, "metrics.json")) as handle:
        metrics = json.load(handle)
    with open(os.path.join(args.serialization_dir, "config.json")) as handle:
        config = json.load(handle)
    result = {
        "label": args.label,
        "config": args.config,
        "overrides": args.overrides,
        "train": args.train,
        "dev": args.dev,
        "seed": config.get("random_seed"),
        "hidden_size": config["model"]["encoder"]["hidden_size"],
        "epochs": config["trainer"]["num_epochs"],
        "best_epoch": metrics.get("best_epoch"),
        "wall_time_s": round(wall),
        **({"wall_time": "sum of the logged epoch durations"} if args.record_only else {}),
        "dev_metrics": {k: metrics[f"best_validation_{k}"] for k in KEYS if f"best_validation_{k}" in metrics},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        ("recorded_at_commit" if args.record_only else "commit"): commit,
        "command": " ".join(sys.argv),
    }
    if args.test:
        output = os.path.join(args.serialization_dir, "test_metrics.json")
        subprocess.run(
            [ALLENNLP, "evaluate", os.path.join(args.serialization_dir, "model.tar.gz"), args.test, "--output-file", output],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
        )
        with open(output) as handle:
            test = json.load(handle)
        result["test_metrics"] = {k: test[k] for k in KEYS if k in test}
    with open(args.results, "a") as handle:
        handle.write(json.dumps(result) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
