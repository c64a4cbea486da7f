#!/usr/bin/env python
"""The comparison of the package's decoder families on the same encoders: one Markdown table (dev
strict and text F1, training time per epoch, epochs to the best dev score, inference sentences/s,
peak memory) and a plot of dev strict F1 against inference speed, from the results files.

The rows are a JSON list (default ``benchmarks/results/comparison_rows.json``), each
``{"system", "encoder", "results": FILE, "label": LABEL, "speed": SPEED_JSON, "command": ...}``:
the record of ``benchmarks/quality.py`` with that label (the first if several) gives the F1, the
epochs and the wall time; the ``benchmarks/speed.py`` JSON gives inference at batch 100 (Python
API) and the peak RSS of ``allennlp predict``. A row whose record is missing is printed as not run,
with its command and, where the row gives one, ``not_run_because`` (why it was left empty).
Published test figures (``published`` in the same file) follow, labelled so.

    python benchmarks/comparison.py [--rows benchmarks/results/comparison_rows.json] \\
        [--plot docs/comparison_webnlg_exact.png] > table.md

--measure-speed first runs ``benchmarks/speed.py CONFIG DEV --archive ARCHIVE`` for every row whose
archive exists and whose speed file does not, one after the other (same machine, same conditions),
and writes each JSON to the row's ``speed`` path.
"""
import argparse
import json
import os
import subprocess
import sys
from typing import Any, Dict, List, Optional


def load_record(path: str, label: str) -> Optional[Dict[str, Any]]:
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        for line in handle:
            record = json.loads(line)
            if record.get("label") == label:
                return record
    return None


def load_json(path: Optional[str]) -> Optional[Dict[str, Any]]:
    if not path or not os.path.exists(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def row_figures(row: Dict[str, Any]) -> Dict[str, Any]:
    """The figures of one row (``None`` where not measured)."""
    record = load_record(row["results"], row["label"])
    speed = load_json(row.get("speed"))
    figures: Dict[str, Any] = {
        "system": row["system"], "encoder": row["encoder"], "command": row.get("command", ""),
        "not_run_because": row.get("not_run_because"),
    }
    if record is not None:
        metrics = record["dev_metrics"]
        figures.update(
            strict_f1=metrics["f1"],
            text_f1=metrics.get("text_f1"),
            minutes_per_epoch=record["wall_time_s"] / record["epochs"] / 60,
            # the records keep AllenNLP's best_epoch, counted from 0; the table counts from 1
            best_epoch=record["best_epoch"] + 1,
            epochs=record["epochs"],
            seed=record.get("seed"),
        )
    if speed is not None:
        figures["sentences_per_s"] = speed["inference_python_api"]["batch_100"]["sentences_per_s"]
        predict = speed.get("inference_allennlp_predict_batch_100", {})
        figures["peak_rss_mb"] = predict.get("peak_rss_mb", speed.get("peak_rss_mb_this_process"))
    return figures


def markdown(rows: List[Dict[str, Any]], published: List[Dict[str, Any]]) -> str:
    def number(value: Any, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    lines = [
        "| system | encoder | dev strict F1 | dev text F1 | min / epoch | best epoch / epochs | inference sent/s (batch 100) | peak RSS, predict (MB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    not_run: List[str] = []
    for f in rows:
        if "strict_f1" not in f:
            because = f" (not run: {f['not_run_because']})" if f.get("not_run_because") else ""
            not_run.append(f"{f['system']}, {f['encoder']}{because}: `{f['command']}`")
            lines.append(f"| {f['system']} | {f['encoder']} | not run ({len(not_run)}) | | | | | |")
            continue
        lines.append(
            f"| {f['system']} | {f['encoder']} | {number(f['strict_f1'])} | {number(f.get('text_f1'))} | "
            f"{number(f['minutes_per_epoch'], 1)} | {f['best_epoch']} / {f['epochs']} | "
            f"{number(f.get('sentences_per_s'), 0)} | {f.get('peak_rss_mb', '-')} |"
        )
    for p in published:
        lines.append(f"| {p['system']} (published, **test**) | {p['encoder']} | - | {p['text_f1']:.3f} | | | | |")
    if not_run:
        lines += ["", "Not run yet:"] + [f"({number}) {command}" for number, command in enumerate(not_run, 1)]
    return "\n".join(lines)


def measure_speed(spec_rows: List[Dict[str, Any]], dev: str) -> None:
    """``benchmarks/speed.py`` on each row's archive that has no speed file yet."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "speed.py")
    for row in spec_rows:
        archive, target = row.get("archive"), row.get("speed")
        if not archive or not target or not os.path.exists(archive) or os.path.exists(target):
            continue
        print(f"speed of {row['system']} ({row['encoder']}): {archive}", file=sys.stderr)
        finished = subprocess.run(
            [sys.executable, script, row["config"], dev, "--archive", archive], capture_output=True, text=True
        )
        if finished.returncode != 0:
            raise RuntimeError(f"speed.py failed on {archive}: {finished.stderr.strip().splitlines()[-1:]}")
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        with open(target, "w") as handle:
            handle.write(finished.stdout)


def plot(rows: List[Dict[str, Any]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.5, 4.5))
    for f in rows:
        if f.get("strict_f1") is None or f.get("sentences_per_s") is None:
            continue
        marker = "o" if "GloVe" in f["encoder"] else "s"
        axes.scatter(f["sentences_per_s"], f["strict_f1"], marker=marker)
        axes.annotate(f"{f['system']} ({'GloVe' if marker == 'o' else 'MiniLM'})", (f["sentences_per_s"], f["strict_f1"]),
                      textcoords="offset points", xytext=(4, 4), fontsize=8)
    axes.set_xscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    axes.xaxis.set_major_formatter(ScalarFormatter())
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("inference, sentences/s (Python API, batch 100, this 2-core CPU)")
    axes.set_ylabel("webnlg_exact dev strict F1")
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="benchmarks/results/comparison_rows.json")
    parser.add_argument("--plot", help="write the F1 / speed plot here (PNG)")
    parser.add_argument("--measure-speed", action="store_true", help="measure the rows' speed files that are missing first")
    parser.add_argument("--dev", default="../shared/data/webnlg_exact/dev.jsonl", help="the sentences --measure-speed decodes")
    args = parser.parse_args()
    with open(args.rows) as handle:
        spec = json.load(handle)
    if args.measure_speed:
        measure_speed(spec["rows"], args.dev)
    rows = [row_figures(row) for row in spec["rows"]]
    print(markdown(rows, spec.get("published", [])))
    if args.plot:
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
