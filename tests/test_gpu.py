"""The package on a GPU: training, saving and loading on ``cuda``, the GPU's outputs against the
CPU's on a fixed batch, mixed precision, and ``allennlp predict --cuda-device 0``.

Marked ``gpu``: where torch sees no CUDA device they skip, with the reason. On a GPU machine,
``pytest -m gpu`` (``benchmarks/gpu_check.sh`` runs them first)."""
import json
import math
import subprocess
import sys

import pytest
import torch
from allennlp.commands.train import train_model_from_file
from allennlp.common.testing import ModelTestCase
from allennlp.data import Batch
from allennlp.models.archival import load_archive
from allennlp.nn import util

from copymtl_allennlp import load_extractor
from tests.conftest import FIXTURES, ROOT

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: torch.cuda.is_available() is False"),
]

DATA = str(FIXTURES / "data" / "sentences.jsonl")
# each model's tiny config (fixtures/configs/<model>_tiny.jsonnet) trained on the CPU long enough on
# the fixture corpus to predict triplets (not only NA)
TRAINED = {
    "copymtl": {"trainer.num_epochs": 40, "model.na_loss": "first", "trainer.optimizer.lr": 0.03},
    "novel_tagging": {"trainer.num_epochs": 60, "data_loader.batch_size": 8, "trainer.optimizer.lr": 0.02},
    "graphrel": {"trainer.num_epochs": 100, "data_loader.batch_size": 8, "trainer.optimizer.lr": 0.02},
}


def tiny_config(model: str) -> str:
    return str(FIXTURES / "configs" / f"{model}_tiny.jsonnet")


class TestOnGpu(ModelTestCase):
    @pytest.mark.parametrize("model", sorted(TRAINED))
    def test_trains_saves_and_loads_on_cuda(self, model):
        self.set_up_model(tiny_config(model), DATA)
        # trained on the GPU, its batches moved there by the loader; the archive loaded onto it
        on_gpu = json.dumps({"trainer.cuda_device": 0, "data_loader.cuda_device": 0})
        trained, loaded = self.ensure_model_can_train_save_and_load(self.param_file, cuda_device=0, overrides=on_gpu)
        assert next(trained.parameters()).is_cuda and next(loaded.parameters()).is_cuda


@pytest.mark.parametrize("amp_dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("model", sorted(TRAINED))
def test_mixed_precision_training_on_cuda(tmp_path, model, amp_dtype):
    overrides = {"trainer.cuda_device": 0, "trainer.type": "mixed_precision", "trainer.amp_dtype": amp_dtype}
    trained = train_model_from_file(tiny_config(model), str(tmp_path / "run"), overrides=json.dumps(overrides))
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert next(trained.parameters()).dtype == torch.float32  # the parameters stay float32
    assert math.isfinite(metrics["training_loss"]) and math.isfinite(metrics["validation_loss"])
    assert f"forward passes under autocast to {amp_dtype}" in (tmp_path / "run" / "out.log").read_text()


@pytest.fixture(scope="module", params=sorted(TRAINED))
def archive(request, tmp_path_factory):
    """Each model's tiny config trained on the CPU until it predicts triplets."""
    run = tmp_path_factory.mktemp(request.param) / "run"
    train_model_from_file(tiny_config(request.param), str(run), overrides=json.dumps(dict(TRAINED[request.param], **{"trainer.cuda_device": -1})))
    return request.param, str(run / "model.tar.gz")


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


@pytest.fixture
def full_float32():
    """No TF32 (cuDNN allows it by default on Ampere and later): float32 on both devices."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def _assert_outputs_equal(on_gpu, on_cpu, name=""):
    """Float tensors up to float tolerance; integer and boolean tensors, lists and the rest exactly."""
    if isinstance(on_cpu, torch.Tensor):
        if on_cpu.is_floating_point():
            torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=1e-4, atol=1e-5, msg=name)
        else:
            assert torch.equal(on_gpu.cpu(), on_cpu), name
    elif isinstance(on_cpu, dict):
        assert on_gpu.keys() == on_cpu.keys(), name
        for key in on_cpu:
            _assert_outputs_equal(on_gpu[key], on_cpu[key], f"{name}.{key}")
    else:
        assert on_gpu == on_cpu, name


def test_gpu_outputs_equal_the_cpu_outputs_on_a_fixed_batch(archive, full_float32):
    """Each model on cuDNN (GPU) against the CPU (CopyMTL and NovelTagging: the package's CPU
    kernels): every output (triplets, tags, scores, loss), and the training loss and gradients,
    equal up to float tolerance."""
    model_name, path = archive
    loaded = load_archive(path)
    model, reader = loaded.model, loaded.dataset_reader
    batch = Batch(list(reader.read(DATA)))
    batch.index_instances(model.vocab)
    on_cpu = _outputs(model, batch, torch.device("cpu"))
    on_gpu = _outputs(model, batch, torch.device("cuda", 0))
    assert any(sentence for sentence in on_cpu[0]["triplets"]), f"the trained {model_name} predicts no triplet"
    _assert_outputs_equal(on_gpu[0], on_cpu[0], model_name)
    assert on_gpu[1] == pytest.approx(on_cpu[1], rel=1e-4)
    assert on_gpu[2].keys() == on_cpu[2].keys()
    for name, gradient in on_cpu[2].items():
        torch.testing.assert_close(on_gpu[2][name], gradient, rtol=1e-3, atol=1e-4, msg=name)


def test_the_python_api_on_cuda_gives_the_cpu_triplets(archive):
    _, path = archive
    sentences = [" ".join(json.loads(line)["tokens"]) for line in open(DATA)]
    assert load_extractor(path, cuda_device=0)(sentences) == load_extractor(path, cuda_device=-1)(sentences)


def test_bfloat16_autocast_keeps_the_predictions_near_float32(archive):
    model_name, path = archive
    loaded = load_archive(path, cuda_device=0)
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
    if "predicted_tags" in full:
        # token decisions (NovelTagging's triplets come from its tags, many of them near ties in
        # a model trained on 8 sentences): nearly all the same
        mask = util.get_text_field_mask(tensors["source_tokens"])
        agree = (mixed["predicted_tags"] == full["predicted_tags"])[mask].float().mean().item()
        assert agree >= 0.9
    if model_name != "novel_tagging":
        same = sum(a == b for a, b in zip(mixed["triplets"], full["triplets"]))
        assert same >= 0.75 * len(full["triplets"])


def test_allennlp_predict_on_cuda_device_0_gives_the_cpu_predictions(archive, tmp_path):
    model_name, path = archive
    if model_name != "copymtl":
        pytest.skip("the CLI once, with CopyMTL (the Python API test covers every model)")
    lines = {}
    for device in ("0", "-1"):
        out = tmp_path / f"out{device}.jsonl"
        result = subprocess.run(
            [sys.executable, "-m", "allennlp", "predict", path, DATA, "--cuda-device", device,
             "--output-file", str(out), "--batch-size", "4", "--silent", "--use-dataset-reader"],
            capture_output=True, text=True, cwd=ROOT,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        lines[device] = [json.loads(line) for line in out.read_text().splitlines()]
    with open(DATA) as handle:
        assert len(lines["0"]) == len(handle.read().splitlines())
    assert any(line["triplets"] for line in lines["0"])
    assert lines["0"] == lines["-1"]
