"""Mixed precision: the "mixed_precision" trainer and the model under autocast, on the CPU (the GPU
runs are in tests/test_gpu.py)."""
import json

import _jsonnet
import pytest
import torch
from allennlp.commands.train import train_model_from_file
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import Batch, DatasetReader, Vocabulary
from allennlp.models import Model

from copymtl_allennlp.modules import cpu_lstm
from copymtl_allennlp.training.mixed_precision import amp_dtype_of
from tests.conftest import FIXTURES, ROOT

CONFIG = str(FIXTURES / "configs" / "copymtl_tiny.jsonnet")
DATA = str(FIXTURES / "data" / "sentences.jsonl")


def _metrics(run):
    with open(run / "metrics.json") as handle:
        return json.load(handle)


def test_amp_dtype_names_its_choices():
    assert amp_dtype_of("bfloat16") is torch.bfloat16 and amp_dtype_of("float16") is torch.float16
    with pytest.raises(ConfigurationError, match=r"amp_dtype must be one of \['bfloat16', 'float16'\], got 'int8'"):
        amp_dtype_of("int8")


@pytest.mark.parametrize("amp_dtype", ["bfloat16", "float16"])
def test_on_a_cpu_the_trainer_trains_in_float32_exactly_as_gradient_descent(tmp_path, amp_dtype):
    plain = train_model_from_file(CONFIG, str(tmp_path / "plain"))
    mixed = train_model_from_file(
        CONFIG, str(tmp_path / "mixed"), overrides=json.dumps({"trainer.type": "mixed_precision", "trainer.amp_dtype": amp_dtype})
    )
    log = (tmp_path / "mixed" / "out.log").read_text()
    assert f"mixed_precision: amp_dtype {amp_dtype} applies on a GPU only; training in float32 on cpu" in log
    for name, value in plain.state_dict().items():
        assert torch.equal(value, mixed.state_dict()[name]), name
    assert _metrics(tmp_path / "plain")["validation_loss"] == _metrics(tmp_path / "mixed")["validation_loss"]


def test_a_wrong_amp_dtype_stops_training(tmp_path):
    with pytest.raises(ConfigurationError, match="amp_dtype must be one of"):
        train_model_from_file(
            CONFIG, str(tmp_path / "run"), overrides=json.dumps({"trainer.type": "mixed_precision", "trainer.amp_dtype": "half"})
        )


def test_the_config_switch_writes_the_trainer():
    def trainer(arguments):
        snippet = f'local lib = import "copymtl.libsonnet"; lib.config("train.jsonl", "dev.jsonl"{arguments})'
        return json.loads(_jsonnet.evaluate_snippet("config", snippet, jpathdir=[str(ROOT / "training_config")]))["trainer"]

    assert trainer(', amp="bfloat16"')["type"] == "mixed_precision" and trainer(', amp="bfloat16"')["amp_dtype"] == "bfloat16"
    assert trainer("")["type"] == "mixed_precision" and "amp_dtype" not in trainer("")  # float32, keys checked


def build_tiny(config: str, overrides: str = ""):
    """The config's untrained model and one batch of the whole fixture corpus."""
    params = Params.from_file(config, overrides)
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    instances = list(reader.read(DATA))
    vocab = Vocabulary.from_instances(instances)
    torch.manual_seed(0)
    model = Model.from_params(vocab=vocab, params=params.pop("model"))
    batch = Batch(instances)
    batch.index_instances(vocab)
    return model, batch.as_tensor_dict()


@pytest.fixture(scope="module")
def tiny_model_and_batch():
    return build_tiny(CONFIG, json.dumps({"model.beam_size": 2}))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_the_model_under_autocast_runs_torch_modules_and_keeps_scores_in_float32(tiny_model_and_batch, dtype):
    """The GPU's code path (torch's LSTMs: CPU autocast turns the CPU kernels off), on the CPU: the
    loss and its gradients are finite and near float32's, the scores that meet softmax, CRF and
    masking are float32, and beam-search decoding runs."""
    model, batch = tiny_model_and_batch
    model.train()
    model.zero_grad()
    reference = model(**batch)["loss"]
    reference.backward()
    reference_grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    seen = []
    handle = model.tagging_head.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    try:
        with torch.autocast("cpu", dtype=dtype):
            assert not cpu_lstm.uses_cpu_kernels(batch["source_tokens"]["tokens"]["tokens"])
            loss = model(**batch)["loss"]
        loss.backward()
        model.eval()
        with torch.no_grad(), torch.autocast("cpu", dtype=dtype):
            decoded = model(**batch)
    finally:
        handle.remove()
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert loss.item() == pytest.approx(reference.item(), rel=0.05)
    assert seen[0] == torch.float32
    for name, grad in reference_grads.items():
        got = dict(model.named_parameters())[name].grad
        assert torch.isfinite(got).all(), name
        assert torch.nn.functional.cosine_similarity(got.flatten(), grad.flatten(), dim=0) > 0.95, name
    assert len(decoded["triplets"]) == batch["source_tokens"]["tokens"]["tokens"].shape[0]


def _cpu_runs_a_bfloat16_lstm() -> bool:
    """Whether torch's CPU LSTM (oneDNN) runs under bfloat16 autocast here: it needs a CPU with
    bfloat16 instructions (AVX-512 BF16 or AMX); without them oneDNN creates no LSTM primitive."""
    lstm = torch.nn.LSTM(2, 2, batch_first=True)
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.zeros(1, 2, 2))
    except RuntimeError:
        return False
    return True


# torch's CPU LSTM has no float16 kernel (NovelTagging's encoder), and a bfloat16 one only on CPUs with
# bfloat16 instructions; on a GPU cuDNN has both (tests/test_gpu.py)
@pytest.mark.parametrize("model_name,dtype", [("novel_tagging", torch.bfloat16), ("graphrel", torch.bfloat16), ("graphrel", torch.float16)])
def test_the_baselines_under_autocast(model_name, dtype):
    if model_name == "novel_tagging" and not _cpu_runs_a_bfloat16_lstm():
        pytest.skip("torch's CPU LSTM has no bfloat16 kernel on this CPU (no AVX-512 BF16 / AMX)")
    model, tensors = build_tiny(str(FIXTURES / "configs" / f"{model_name}_tiny.jsonnet"))
    model.train()
    reference = model(**tensors)["loss"].item()
    with torch.autocast("cpu", dtype=dtype):
        loss = model(**tensors)["loss"]
    loss.backward()
    assert loss.dtype == torch.float32 and loss.item() == pytest.approx(reference, rel=0.05)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype):
        assert len(model(**tensors)["triplets"]) == len(tensors["metadata"])


def test_without_amp_dtype_the_trainer_is_gradient_descent_in_float32(tmp_path):
    plain = train_model_from_file(CONFIG, str(tmp_path / "plain"))
    checked = train_model_from_file(CONFIG, str(tmp_path / "checked"), overrides=json.dumps({"trainer.type": "mixed_precision"}))
    for (name, a), (_, b) in zip(plain.state_dict().items(), checked.state_dict().items()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize(
    "override, message",
    [
        ({"trainer.num_epoch": 1}, "trainer: unknown key 'num_epoch' (did you mean 'num_epochs'?) in the config's trainer section or an -o override; the trainer takes: "),
        ({"trainer.patients": 3, "trainer.zzz": 1}, "trainer: unknown key 'patients' (did you mean 'patience'?), 'zzz' in the config's"),
    ],
)
def test_an_unknown_trainer_key_is_named(tmp_path, override, message):
    with pytest.raises(ConfigurationError) as error:
        train_model_from_file(CONFIG, str(tmp_path / "run"), overrides=json.dumps({"trainer.type": "mixed_precision", **override}))
    assert str(error.value).startswith(message)
