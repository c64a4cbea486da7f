#!/usr/bin/env python
"""Renders results files written by benchmarks/quality.py as a Markdown table (dev metrics).

    python benchmarks/results_table.py benchmarks/results/results.jsonl [--label-prefix "CopyRE"]
"""
import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+")
    parser.add_argument("--label-prefix", default="")
    args = parser.parse_args()
    print("| run | P | R | F1 | text F1 | lenient F1 | relation F1 | entity F1 | tagging F1 | swaps | best epoch / epochs | H | seed | wall |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for path in args.results:
        with open(path) as handle:
            for line in handle:
                r = json.loads(line)
                if not r["label"].startswith(args.label_prefix):
                    continue
                m = r["dev_metrics"]

                def f(key):
                    return f"{m[key]:.3f}" if key in m else "-"

                print(
                    f"| {r['label']} | {f('precision')} | {f('recall')} | {f('f1')} | {f('text_f1')} | {f('lenient_f1')} | "
                    f"{f('relation_f1')} | {f('entity_f1')} | {f('tagging_f1')} | {int(m['swaps'])} | "
                    f"{r['best_epoch'] + 1} / {r['epochs']} | {r['hidden_size']} | {r['seed']} | "
                    f"{r['wall_time_s'] / 60:.0f} min |"
                )


if __name__ == "__main__":
    main()
