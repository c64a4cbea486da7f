"""Training through AllenNLP: determinism and --recover."""
import json
import os
import subprocess
import sys

import pytest
from allennlp.commands.train import train_model_from_file
from allennlp.training.callbacks import TrainerCallback

from tests.conftest import FIXTURES, ROOT

ALLENNLP = os.path.join(os.path.dirname(sys.executable), "allennlp")
CONFIG = str(FIXTURES / "configs" / "copymtl_tiny.jsonnet")


def train(serialization_dir, *extra):
    result = subprocess.run(
        [ALLENNLP, "train", CONFIG, "-s", str(serialization_dir), *extra], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(os.path.join(serialization_dir, "metrics.json")) as handle:
        return json.load(handle)


def test_same_config_and_seed_give_the_same_result(tmp_path):
    first = train(tmp_path / "a")
    second = train(tmp_path / "b")
    for key in ("training_loss", "validation_loss", "validation_f1", "validation_tagging_f1"):
        assert first[key] == second[key], key


@TrainerCallback.register("interrupt_once_in_epoch_1")
class InterruptOnce(TrainerCallback):
    """Stops training in the first batch of the second epoch, once (a marker file remembers)."""

    def __init__(self, serialization_dir: str, marker: str) -> None:
        super().__init__(serialization_dir)
        self.marker = marker

    def on_batch(self, trainer, batch_inputs, batch_outputs, batch_metrics, epoch, batch_number, is_training, is_primary=True, batch_grad_norm=None, **kwargs):
        if epoch == 1 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            raise RuntimeError("interrupted")


# dropout and word dropout draw from torch's generator, the shuffled batches from Python's
NOISY = {"model.dropout": 0.3, "model.word_dropout": 0.2, "trainer.num_epochs": 3}


def _metrics(run):
    with open(os.path.join(run, "metrics.json")) as handle:
        return json.load(handle)


def train_uninterrupted_and_recovered(tmp_path, overrides, callbacks):
    """Trains the tiny config twice with ``overrides``: once straight through, once interrupted in
    epoch 1 and continued with --recover. Returns both serialization directories."""
    uninterrupted = str(tmp_path / "uninterrupted")
    train_model_from_file(CONFIG, uninterrupted, overrides=json.dumps(dict(overrides, **{"trainer.callbacks": callbacks})))

    run = str(tmp_path / "run")
    interrupt = [{"type": "interrupt_once_in_epoch_1", "marker": str(tmp_path / "m")}]
    interrupted = json.dumps(dict(overrides, **{"trainer.callbacks": interrupt + callbacks}))
    with pytest.raises(RuntimeError, match="interrupted"):
        train_model_from_file(CONFIG, run, overrides=interrupted)
    assert not os.path.exists(os.path.join(run, "model.tar.gz"))
    # the checkpoint of epoch 0 is loaded (torch's weights_only load) and training goes on
    train_model_from_file(CONFIG, run, overrides=interrupted, recover=True)
    assert os.path.exists(os.path.join(run, "model.tar.gz"))
    return uninterrupted, run


@pytest.mark.parametrize("random_state_callback", [True, False])
def test_recover_ends_where_the_uninterrupted_run_ends(tmp_path, random_state_callback):
    callbacks = [{"type": "random_state_checkpoint"}] if random_state_callback else []
    uninterrupted, run = train_uninterrupted_and_recovered(tmp_path, NOISY, callbacks)

    expected, recovered = _metrics(uninterrupted), _metrics(run)
    assert recovered["epoch"] == 2
    keys = ("training_loss", "validation_loss", "validation_f1", "validation_tagging_f1", "best_epoch")
    same = [recovered[key] == expected[key] for key in keys]
    if random_state_callback:
        assert all(same), {key: (recovered[key], expected[key]) for key in keys}
    else:
        # without the random state, the recovered run draws other batches and dropout from epoch 1 on
        assert recovered["training_loss"] != expected["training_loss"]


@pytest.mark.parametrize("average", ["exponential_recoverable", "exponential"])
def test_recover_with_a_moving_average_of_the_weights(tmp_path, average):
    """AllenNLP's own average follows stale copies of the weights after --recover; ours does not."""
    import torch

    # the best epoch is the last one (falling loss), whose weights come after the recovery
    overrides = dict(NOISY, **{"trainer.moving_average": {"type": average, "decay": 0.9}, "trainer.validation_metric": "-loss"})
    uninterrupted, run = train_uninterrupted_and_recovered(tmp_path, overrides, [{"type": "random_state_checkpoint"}])

    expected, recovered = _metrics(uninterrupted), _metrics(run)
    assert recovered["training_loss"] == expected["training_loss"]  # the raw weights train the same
    assert expected["best_epoch"] == 2, expected["best_epoch"]
    best = [torch.load(os.path.join(directory, "best.th")) for directory in (uninterrupted, run)]
    same_weights = all(torch.equal(best[0][name], best[1][name]) for name in best[0])
    same_validation = recovered["validation_loss"] == expected["validation_loss"]
    if average == "exponential_recoverable":
        assert same_validation and same_weights, (recovered["validation_loss"], expected["validation_loss"])
    else:
        assert not same_validation and not same_weights


def test_a_moving_average_of_another_model_is_refused():
    import torch
    from allennlp.common.checks import ConfigurationError

    from copymtl_allennlp.training.moving_average import RecoverableExponentialMovingAverage

    linear = torch.nn.Linear(2, 1)
    average = RecoverableExponentialMovingAverage(list(linear.named_parameters()))
    state = {key: {name: value + 1.0 for name, value in tensors.items()} for key, tensors in average.state_dict().items()}
    average.load_state_dict(state)  # copied into the live shadows, which the model's parameters feed
    assert torch.equal(average.state_dict()["shadows"]["weight"], linear.weight.detach() + 1.0)
    with pytest.raises(ConfigurationError, match=r"does not match the model's parameters \(missing: \['weight'\], unexpected: \['encoder.weight'\]\)"):
        average.load_state_dict({key: {"bias": torch.zeros(1), "encoder.weight": torch.zeros(1, 2)} for key in state})
    bilinear = RecoverableExponentialMovingAverage(list(torch.nn.Bilinear(2, 2, 1).named_parameters()))  # same names
    with pytest.raises(ConfigurationError, match=r"'weight' has shape \(1, 2, 2\) in the checkpoint, \(1, 2\) in the model"):
        average.load_state_dict(bilinear.state_dict())


def test_the_recoverable_average_keeps_the_shadows_and_loads_allennlps_own_average():
    import torch
    from allennlp.training.moving_average import ExponentialMovingAverage

    from copymtl_allennlp.training.moving_average import RecoverableExponentialMovingAverage

    linear = torch.nn.Linear(2, 1)
    before = linear.weight.detach().clone()
    stock = ExponentialMovingAverage(list(linear.named_parameters()), decay=0.5)
    with torch.no_grad():
        linear.weight.add_(2.0)
    stock.apply()  # shadow = 0.5 * old + 0.5 * (old + 2) = old + 1 (no num_updates: the decay as given)
    average = RecoverableExponentialMovingAverage(list(linear.named_parameters()), decay=0.5)
    assert set(average.state_dict()) == {"shadows"}  # the backups are written before every read
    average.load_state_dict(stock.state_dict())  # a run trained with AllenNLP's average continues with ours
    average.assign_average_value()
    assert torch.allclose(linear.weight, before + 1.0)
    average.restore()
    assert torch.allclose(linear.weight, before + 2.0)
    assert torch.equal(average.state_dict()["shadows"]["weight"], stock.state_dict()["shadows"]["weight"])


def test_training_set_f1_callback_and_fig4_plot(tmp_path):
    run = str(tmp_path / "run")
    overrides = json.dumps({"trainer.callbacks": [{"type": "training_set_f1", "max_sentences": 4}, {"type": "random_state_checkpoint"}]})
    train_model_from_file(CONFIG, run, overrides=overrides)
    for epoch in (0, 1):
        with open(os.path.join(run, f"training_set_f1_epoch_{epoch}.json")) as handle:
            scores = json.load(handle)
        assert scores["epoch"] == epoch and scores["sentences"] >= 4 and 0.0 <= scores["f1"] <= 1.0
    out = tmp_path / "fig.png"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "plot_training_curves.py"), "--out", str(out), f"tiny={run}"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
