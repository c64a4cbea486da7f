#!/usr/bin/env python
"""The paper's Fig. 4 from serialization directories: F1 per epoch on the training set (from the
`training_set_f1` callback) and on dev (AllenNLP's metrics_epoch_<n>.json).

    python benchmarks/plot_training_curves.py --out docs/fig4_webnlg.png --metric lenient_f1 \\
        "CopyRE=runs/copyre_one_webnlg" "CopyRE'=runs/copyre_prime_webnlg"
"""
import argparse
import glob
import json
import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def curve(directory: str, pattern: str, key: str):
    points = []
    for path in glob.glob(os.path.join(directory, pattern)):
        epoch = int(re.search(r"_(\d+)\.json$", path).group(1))
        with open(path) as handle:
            metrics = json.load(handle)
        if key in metrics:
            points.append((epoch + 1, metrics[key]))
    return sorted(points)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="LABEL=SERIALIZATION_DIR")
    parser.add_argument("--out", required=True)
    parser.add_argument("--metric", default="f1", help="f1 (strict) or lenient_f1 (last tokens, CopyRE's)")
    parser.add_argument("--title", default="F1 per epoch")
    args = parser.parse_args()
    figure, axes = plt.subplots(figsize=(6, 4))
    for index, run in enumerate(args.runs):
        label, directory = run.split("=", 1)
        color = f"C{index}"
        for pattern, key, style, split in (
            ("training_set_f1_epoch_*.json", args.metric, "--", "train"),
            ("metrics_epoch_*.json", f"validation_{args.metric}", "-", "dev"),
        ):
            points = curve(directory, pattern, key)
            if points:
                axes.plot(*zip(*points), style, color=color, label=f"{label} {split}")
    axes.set_xlabel("epoch")
    axes.set_ylabel("lenient F1 (last tokens)" if args.metric == "lenient_f1" else "strict F1")
    axes.set_ylim(0, 1)
    axes.set_title(args.title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
