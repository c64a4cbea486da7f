#!/usr/bin/env python
"""The GPU figures of docs/performance.md: paper-size training and inference on one GPU.

For each precision (float32, and AllenNLP mixed precision: bfloat16, float16) it trains the config
(default: CopyMTL-One, H 1000, batch 100) with AllenNLP's trainer for --epochs epochs on the GPU and
records, per epoch, the training time and sentences/s (forward, backward and optimizer step, the
batches as the trainer makes them), the validation time, dev strict F1, and the peak GPU memory.
Then it loads the float32 model and times inference (``Model.forward_on_instances``, what the
predictors call) over the dev sentences at batch 100 and 1000, in float32 and under bfloat16
autocast. Everything goes to one JSON file, written again after each step (a run cut short keeps
what it measured). ``--budget-s`` stops starting new steps once that many seconds have passed.

    python benchmarks/gpu_check.py --data .gpu/data/webnlg_exact --out gpu_check.json
    python benchmarks/gpu_check.py --data ... --out ... --dry-run   # CPU, a small model and corpus

Run by benchmarks/gpu_check.sh (which installs what it needs on the GPU machine).
"""
import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from typing import Any, Dict, List

import torch
from allennlp.commands.train import train_model
from allennlp.common import Params
from allennlp.models.archival import load_archive
from allennlp.training.callbacks import TrainerCallback

import copymtl_allennlp.plugin  # noqa: F401  (registers the components)

PRECISIONS = {"float32": None, "bfloat16": "bfloat16", "float16": "float16"}


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


@TrainerCallback.register("gpu_check_epoch_timer")
class EpochTimer(TrainerCallback):
    """Per epoch: seconds from the epoch's start to the end of its last training batch (the GPU
    synchronized after the optimizer step), sentences trained, the validation seconds after that,
    and the epoch's metrics. Written to ``epochs.json``."""

    def __init__(self, serialization_dir: str) -> None:
        super().__init__(serialization_dir)
        self.epochs: List[Dict[str, Any]] = []
        self._start = self._last_batch = 0.0
        self._sentences = 0

    def on_start(self, trainer, is_primary: bool = True, **kwargs) -> None:
        synchronize()
        self._start = time.perf_counter()

    def on_batch(self, trainer, batch_inputs, batch_outputs, batch_metrics, epoch, batch_number, is_training, is_primary=True, batch_grad_norm=None, **kwargs) -> None:
        if is_training:
            synchronize()
            self._last_batch = time.perf_counter()
            self._sentences += sum(len(batch["metadata"]) for batch in batch_inputs)

    def on_epoch(self, trainer, metrics: Dict[str, Any], epoch: int, is_primary: bool = True, **kwargs) -> None:
        synchronize()
        now = time.perf_counter()
        train_s = self._last_batch - self._start
        self.epochs.append({
            "epoch": epoch,
            "train_s": round(train_s, 3),
            "sentences": self._sentences,
            "train_sentences_per_s": round(self._sentences / train_s, 1),
            "validation_s": round(now - self._last_batch, 3),
            "dev_f1": metrics.get("validation_f1"),
            "training_loss": metrics.get("training_loss"),
        })
        with open(os.path.join(self.serialization_dir, "epochs.json"), "w") as handle:
            json.dump(self.epochs, handle, indent=1)
        self._start, self._sentences = time.perf_counter(), 0


def peak_memory_gib() -> float:
    return round(torch.cuda.max_memory_allocated() / 2**30, 3) if torch.cuda.is_available() else 0.0


def training_overrides(args: argparse.Namespace, amp: str) -> Dict[str, Any]:
    overrides: Dict[str, Any] = {
        "trainer.num_epochs": args.epochs,
        "trainer.cuda_device": -1 if args.dry_run else 0,
        # the check's own timer beside the config's callbacks
        "trainer.callbacks": Params.from_file(args.config).as_dict()["trainer"].get("callbacks", []) + [{"type": "gpu_check_epoch_timer"}],
    }
    if amp is not None:
        overrides.update({"trainer.type": "mixed_precision", "trainer.amp_dtype": amp})
    if args.dry_run:  # a small model on a small corpus, on the CPU
        overrides.update({"model.encoder.hidden_size": 64, "model.attention.vector_dim": 64, "model.attention.matrix_dim": 64, "dataset_reader.max_instances": 200})
    return overrides


def train(args: argparse.Namespace, precision: str, work: str) -> Dict[str, Any]:
    directory = os.path.join(work, precision)
    params = Params.from_file(args.config, json.dumps(training_overrides(args, PRECISIONS[precision])))
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    train_model(params, directory)
    with open(os.path.join(directory, "epochs.json")) as handle:
        epochs = json.load(handle)
    later = epochs[1:] or epochs  # the first epoch includes cuDNN's and the allocator's warm-up
    return {
        "epochs": epochs,
        "median_epoch_train_s": statistics.median(e["train_s"] for e in later),
        "median_train_sentences_per_s": statistics.median(e["train_sentences_per_s"] for e in later),
        "best_dev_f1": max(e["dev_f1"] for e in epochs),
        "peak_gpu_memory_gib": peak_memory_gib(),
        "wall_s": round(time.perf_counter() - started, 1),
        "archive": os.path.join(directory, "model.tar.gz"),
    }


def inference(archive: str, dev: str, batch_sizes: List[int], dtype: str, dry_run: bool) -> Dict[str, Any]:
    loaded = load_archive(archive, cuda_device=-1 if dry_run else 0)
    model, reader = loaded.model, loaded.validation_dataset_reader
    model.eval()
    instances = list(reader.read(dev))
    device_type = "cpu" if dry_run else "cuda"
    results: Dict[str, Any] = {}
    for batch_size in batch_sizes:
        # enough sentences for three batches: the dev sentences, repeated where there are fewer
        corpus = (instances * (3 * batch_size // len(instances) + 1))[: 3 * batch_size]
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        with torch.no_grad(), torch.autocast(device_type, dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
            model.forward_on_instances(corpus[:batch_size])  # warm-up
            synchronize()
            started = time.perf_counter()
            for start in range(0, len(corpus), batch_size):
                model.forward_on_instances(corpus[start : start + batch_size])
            synchronize()
        seconds = time.perf_counter() - started
        results[str(batch_size)] = {
            "sentences": len(corpus),
            "sentences_per_s": round(len(corpus) / seconds, 1),
            "peak_gpu_memory_gib": peak_memory_gib(),
        }
    return results


def machine() -> Dict[str, Any]:
    info: Dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cpu_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
        info["cudnn"] = torch.backends.cudnn.version()
        # float32 training as AllenNLP leaves it: cuDNN may use TF32, matmuls do not (torch's defaults)
        info["cudnn_allow_tf32"] = torch.backends.cudnn.allow_tf32
        info["matmul_allow_tf32"] = torch.backends.cuda.matmul.allow_tf32
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="a folder with train.jsonl and dev.jsonl")
    parser.add_argument("--out", required=True, help="the JSON file of figures")
    parser.add_argument("--config", default="training_config/copymtl_webnlg.jsonnet")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--precisions", default="float32,bfloat16,float16")
    parser.add_argument("--batch-sizes", default="100,1000", help="inference batch sizes")
    parser.add_argument("--budget-s", type=float, default=420.0, help="no new step starts after this many seconds")
    parser.add_argument("--work", default=None, help="serialization folders (default: a temporary folder)")
    parser.add_argument("--dry-run", action="store_true", help="on the CPU, a small model and 200 training sentences")
    args = parser.parse_args()
    if not args.dry_run and not torch.cuda.is_available():
        sys.exit("gpu_check.py: torch sees no CUDA device (torch.cuda.is_available() is False); --dry-run runs on the CPU")
    os.environ["WEBNLG_TRAIN_PATH"] = os.path.join(args.data, "train.jsonl")
    os.environ["WEBNLG_DEV_PATH"] = os.path.join(args.data, "dev.jsonl")
    for name in ("WEBNLG_TRAIN_PATH", "WEBNLG_DEV_PATH"):
        if not os.path.isfile(os.environ[name]):
            sys.exit(f"gpu_check.py: {os.environ[name]} not found (benchmarks/gpu_check.sh --prepare copies the corpus)")
    started = time.perf_counter()
    work = args.work or tempfile.mkdtemp(prefix="gpu_check_")
    figures: Dict[str, Any] = {
        "command": " ".join(sys.argv), "machine": machine(), "config": args.config, "data": args.data,
        "seed": Params.from_file(args.config).get("random_seed"), "dry_run": args.dry_run,
        "training": {}, "inference": {}, "skipped": [],
    }

    def save() -> None:
        figures["elapsed_s"] = round(time.perf_counter() - started, 1)
        with open(args.out, "w") as handle:
            json.dump(figures, handle, indent=1)

    def in_budget(step: str) -> bool:
        if time.perf_counter() - started > args.budget_s:
            figures["skipped"].append(step)
            save()
            return False
        return True

    for precision in args.precisions.split(","):
        if in_budget(f"training {precision}"):
            figures["training"][precision] = train(args, precision, work)
            save()
    archive = figures["training"].get("float32", {}).get("archive")
    if archive:
        for dtype in ("float32", "bfloat16"):
            if in_budget(f"inference {dtype}"):
                sizes = [int(size) for size in args.batch_sizes.split(",")]
                figures["inference"][dtype] = inference(archive, os.environ["WEBNLG_DEV_PATH"], sizes, dtype, args.dry_run)
                save()
    save()
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
