#!/usr/bin/env python
"""Where a training step's time goes: `torch.profiler` over one epoch of training steps on the
first --sentences sentences of --data (the config's reader, vocabulary, model, optimizer and
batching, as `benchmarks/train_speed.py`), grouped by operator and input shape.

    python benchmarks/profile_training.py training_config/copymtl_webnlg.jsonnet \\
        ../shared/data/webnlg/train.jsonl --sentences 600 [--rows 30]
"""
import argparse

from torch.profiler import ProfilerActivity, profile
from train_speed import measure_training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("data")
    parser.add_argument("--sentences", type=int, default=600)
    parser.add_argument("--rows", type=int, default=30)
    args = parser.parse_args()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as profiler:
        result = measure_training(args.config, args.data, args.sentences)
    print(f"{result['train_sentences_per_second']} sentences/s under the profiler")
    table = profiler.key_averages(group_by_input_shape=True).table(
        sort_by="self_cpu_time_total", row_limit=args.rows, max_name_column_width=24, max_shapes_column_width=70
    )
    print(table)


if __name__ == "__main__":
    main()
