#!/usr/bin/env python
"""Where a paper-size training step's time goes, timed without a profiler: the encoder (forward +
backward), the decoder (forward + backward, from the encoder's outputs), the tagging head (CRF
loss, forward + backward), the optimizer step, and the whole step, each over the same batches
(the config's reader, vocabulary, model, optimizer and batching, as `benchmarks/train_speed.py`),
the parts alternating batch by batch in one process so that the machine's drift hits them alike.

    python benchmarks/training_components.py training_config/copymtl_webnlg.jsonnet \\
        ../shared/data/webnlg/train.jsonl --sentences 500 [--rounds 2]

Each part's backward starts from fixed random gradients of its outputs (the encoder, whose real
gradients come from the decoder and the tagging head) or from its own loss (decoder, tagging
head), so the parts do the work they do inside a step; their sum can differ from the whole step
(the step also embeds, averages and sums losses).

With ``--switch module.ATTRIBUTE`` (a boolean, as in `benchmarks/ab_switch.py`) every part is
also timed with the switch off, alternating with the switch on batch by batch: the parts
"NAME [off]" and the ratio of each part's time off over on ("speed-up").
"""
import argparse
import json
import statistics
import time
from typing import Callable, Dict

import torch
from allennlp.nn import util
from train_speed import boolean_switch, build_training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("data")
    parser.add_argument("--sentences", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("-o", "--overrides", default="")
    parser.add_argument("--switch", help="module.path.ATTRIBUTE, a boolean: each part also timed with it off")
    args = parser.parse_args()
    module, attribute = boolean_switch(parser, args.switch) if args.switch else (None, None)
    model, optimizer, batches = build_training(args.config, args.data, args.sentences, args.overrides)

    # per batch: the inputs of each part, computed once (detached leaves where a part starts)
    prepared = []
    for tensors in batches:
        mask = util.get_text_field_mask(tensors["source_tokens"])
        with torch.no_grad():
            embedded = model.source_embedder(tensors["source_tokens"])
            outputs, (h, c) = model.encoder.forward_with_state(embedded, mask)
        targets = {
            "relations": tensors["target_relations"],
            "head_ends": tensors["target_head_ends"],
            "tail_ends": tensors["target_tail_ends"],
        }
        prepared.append((tensors, mask, embedded, outputs, h, c, targets))

    def leaf(x: torch.Tensor) -> torch.Tensor:
        return x.detach().requires_grad_()

    def encoder(tensors, mask, embedded, outputs, h, c, targets) -> None:
        out, (h1, c1) = model.encoder.forward_with_state(leaf(embedded), mask)
        torch.autograd.backward([out, h1, c1], [torch.ones_like(out) * 1e-3, torch.ones_like(h1), torch.ones_like(c1)])

    def decoder(tensors, mask, embedded, outputs, h, c, targets) -> None:
        # as the model calls it in a training step
        loss = model.decoder(
            leaf(outputs), mask, leaf(embedded), (leaf(h), leaf(c)), targets=targets, feeding=model.feeding, early_exit=True, predictions=False
        )["loss"]
        loss.backward()

    def tagging(tensors, mask, embedded, outputs, h, c, targets) -> None:
        if model.tagging_head is not None:
            model.tagging_head.loss(model.tagging_head(leaf(outputs)), tensors["entity_tags"], mask).backward()

    def optimizer_step(*_) -> None:
        optimizer.step()

    def whole_step(tensors, *_) -> None:
        optimizer.zero_grad()
        model(**tensors)["loss"].backward()
        optimizer.step()

    parts: Dict[str, Callable] = {
        "encoder": encoder, "decoder": decoder, "tagging_head": tagging,
        "optimizer": optimizer_step, "whole_step": whole_step,
    }
    if module is not None:
        def switched_off(part: Callable) -> Callable:
            def run(*batch) -> None:
                setattr(module, attribute, False)
                try:
                    part(*batch)
                finally:
                    setattr(module, attribute, True)
            return run

        parts = {key: value for name, part in parts.items() for key, value in ((name, part), (f"{name} [off]", switched_off(part)))}
        setattr(module, attribute, True)
    whole_step(batches[0])  # warm-up, and gradients exist for the optimizer part
    seconds: Dict[str, list] = {name: [] for name in parts}
    for _ in range(args.rounds):
        for batch in prepared:
            for name, part in parts.items():
                started = time.perf_counter()
                part(*batch)
                seconds[name].append(time.perf_counter() - started)
    sentences = sum(len(t["metadata"]) for t in batches) * args.rounds
    totals = {name: sum(values) for name, values in seconds.items()}
    result = {
        "config": args.config, "overrides": args.overrides, "data": args.data,
        "sentences_per_round": sentences // args.rounds, "rounds": args.rounds, "batches": len(batches),
        "mean_tokens": round(statistics.mean(float(m.sum(1).float().mean()) for _, m, *_ in prepared), 1),
        "ms_per_sentence": {name: round(1000 * total / sentences, 2) for name, total in totals.items()},
        "share_of_whole_step": {name: round(total / totals["whole_step"], 3) for name, total in totals.items()},
        "whole_step_sentences_per_second": round(sentences / totals["whole_step"], 1),
        **({"switch": args.switch, "speed_up": {
            name: round(totals[f"{name} [off]"] / totals[name], 3) for name in totals if not name.endswith("[off]")
        }} if module is not None else {}),
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
