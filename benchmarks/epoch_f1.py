#!/usr/bin/env python
"""Dev strict F1 after each epoch of AllenNLP runs (their ``metrics_epoch_N.json``), as JSON:
``{run name: [F1 after epoch 1, after epoch 2, ...]}``.

    python benchmarks/epoch_f1.py runs/webnlg_graphrel_1p_s77 runs/webnlg_graphrel_2p_s77 > curves.json
"""
import argparse
import json
import os
import re
import sys


def epoch_f1(run: str, metric: str = "validation_f1") -> list:
    if not os.path.isdir(run):
        sys.exit(f"epoch_f1.py: {run}: no such serialization directory")
    found = {}
    for name in os.listdir(run):
        match = re.fullmatch(r"metrics_epoch_(\d+)\.json", name)
        if match:
            with open(os.path.join(run, name)) as handle:
                metrics = json.load(handle)
            if metric not in metrics:
                sys.exit(f"epoch_f1.py: {os.path.join(run, name)}: no metric {metric!r}")
            found[int(match.group(1))] = round(metrics[metric], 4)
    if not found:
        sys.exit(f"epoch_f1.py: no metrics_epoch_N.json in {run}")
    return [found[epoch] for epoch in sorted(found)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="serialization directories")
    parser.add_argument("--metric", default="validation_f1")
    args = parser.parse_args()
    print(json.dumps({os.path.basename(os.path.normpath(run)): epoch_f1(run, args.metric) for run in args.runs}, indent=1))


if __name__ == "__main__":
    main()
