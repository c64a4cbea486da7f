"""The package on a GPU: training, saving and loading on ``cuda``, the GPU's outputs against the
CPU's on a fixed batch, mixed precision, and ``allennlp predict --cuda-device 0``.

Marked ``gpu``: where torch sees no CUDA device they skip, with the reason. On a GPU machine,
``pytest -m gpu`` (``benchmarks/gpu_check.sh`` runs them first)."""
import json
import subprocess
import sys

import pytest
import torch
from allennlp.commands.train import train_model_from_file
from allennlp.common.testing import ModelTestCase
from allennlp.data import Batch
from allennlp.models.archival import load_archive
from allennlp.nn import util

from tests.conftest import FIXTURES, ROOT

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: torch.cuda.is_available() is False"),
]

CONFIG = str(FIXTURES / "configs" / "copymtl_tiny.jsonnet")
DATA = str(FIXTURES / "data" / "sentences.jsonl")
# long enough on the fixture corpus for the model to predict triplets (as tests/test_distributed.py)
TRAINED = {"trainer.num_epochs": 40, "model.na_loss": "first", "trainer.optimizer.lr": 0.03, "trainer.cuda_device": -1}


class TestCopyMTLOnGpu(ModelTestCase):
    def test_trains_saves_and_loads_on_cuda(self):
        self.set_up_model(CONFIG, DATA)
        self.ensure_model_can_train_save_and_load(self.param_file, cuda_device=0)


@pytest.mark.parametrize("amp_dtype", ["bfloat16", "float16"])
def test_mixed_precision_training_on_cuda(tmp_path, amp_dtype):
    overrides = {"trainer.cuda_device": 0, "trainer.type": "mixed_precision", "trainer.amp_dtype": amp_dtype}
    model = train_model_from_file(CONFIG, str(tmp_path / "run"), overrides=json.dumps(overrides))
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert next(model.parameters()).dtype == torch.float32  # the parameters stay float32
    assert metrics["training_loss"] == pytest.approx(metrics["training_loss"]) and metrics["training_loss"] > 0  # finite
    assert f"forward passes under autocast to {amp_dtype}" in (tmp_path / "run" / "out.log").read_text()


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """The tiny model trained on the CPU until it predicts triplets."""
    run = tmp_path_factory.mktemp("gpu") / "run"
    train_model_from_file(CONFIG, str(run), overrides=json.dumps(TRAINED))
    return str(run / "model.tar.gz")


def _outputs(model, batch, device):
    model = model.to(device)
    tensors = util.move_to_device(batch.as_tensor_dict(), device)
    model.eval()
    with torch.no_grad():
        evaluation = model(**tensors)
    model.train()
    model.zero_grad()
    training = model(**tensors)
    training["loss"].backward()
    gradients = {name: p.grad.detach().cpu() for name, p in model.named_parameters() if p.grad is not None}
    return evaluation, training["loss"].item(), gradients


def test_gpu_outputs_equal_the_cpu_outputs_on_a_fixed_batch(archive):
    """cuDNN's LSTMs (GPU) against the package's CPU kernels: the same triplets, tags and losses,
    and the same gradients, up to float tolerance."""
    loaded = load_archive(archive)
    model, reader = loaded.model, loaded.dataset_reader
    instances = list(reader.read(DATA))
    batch = Batch(instances)
    batch.index_instances(model.vocab)
    on_cpu = _outputs(model, batch, torch.device("cpu"))
    on_gpu = _outputs(model, batch, torch.device("cuda", 0))
    assert any(sentence for sentence in on_cpu[0]["triplets"]), "the trained model predicts no triplet"
    assert on_gpu[0]["triplets"] == on_cpu[0]["triplets"]
    assert torch.equal(on_gpu[0]["predicted_tags"].cpu(), on_cpu[0]["predicted_tags"])
    assert on_gpu[0]["loss"].item() == pytest.approx(on_cpu[0]["loss"].item(), rel=1e-4)
    assert on_gpu[1] == pytest.approx(on_cpu[1], rel=1e-4)
    assert on_gpu[2].keys() == on_cpu[2].keys()
    for name, gradient in on_cpu[2].items():
        torch.testing.assert_close(on_gpu[2][name], gradient, rtol=1e-3, atol=1e-5, msg=name)


def test_bfloat16_autocast_keeps_the_predictions_near_float32(archive):
    loaded = load_archive(archive, cuda_device=0)
    batch = Batch(list(loaded.dataset_reader.read(DATA)))
    batch.index_instances(loaded.model.vocab)
    tensors = util.move_to_device(batch.as_tensor_dict(), torch.device("cuda", 0))
    loaded.model.eval()
    with torch.no_grad():
        full = loaded.model(**tensors)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            mixed = loaded.model(**tensors)
    assert mixed["loss"].dtype == torch.float32
    assert mixed["loss"].item() == pytest.approx(full["loss"].item(), rel=0.05)
    same = sum(a == b for a, b in zip(mixed["triplets"], full["triplets"]))
    assert same >= len(full["triplets"]) - 1


def test_allennlp_predict_on_cuda_device_0_gives_the_cpu_predictions(archive, tmp_path):
    lines = {}
    for device in ("0", "-1"):
        out = tmp_path / f"out{device}.jsonl"
        result = subprocess.run(
            [sys.executable, "-m", "allennlp", "predict", archive, DATA, "--cuda-device", device,
             "--output-file", str(out), "--batch-size", "4", "--silent", "--use-dataset-reader"],
            capture_output=True, text=True, cwd=ROOT,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        lines[device] = [json.loads(line) for line in out.read_text().splitlines()]
    with open(DATA) as handle:
        assert len(lines["0"]) == len(handle.read().splitlines())
    assert any(line["triplets"] for line in lines["0"])
    assert lines["0"] == lines["-1"]
