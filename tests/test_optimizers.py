"""The "fused_adam" optimizer: AllenNLP's "adam" with torch's fused update."""
import copy

import pytest
import torch
from allennlp.common import Params
from allennlp.training.optimizers import Optimizer

from copymtl_allennlp.training.optimizers import FusedAdamOptimizer


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))


def _train(model: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int = 5) -> None:
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        optimizer.zero_grad()
        x = torch.randn(4, 6, generator=generator)
        model(x).pow(2).sum().backward()
        optimizer.step()


@pytest.mark.parametrize("options", [{}, {"weight_decay": 0.1, "amsgrad": True}, {"betas": [0.8, 0.9], "eps": 1e-6}])
def test_fused_adam_from_a_config_equals_torch_adam(options):
    model = _model()
    reference = copy.deepcopy(model)
    optimizer = Optimizer.from_params(
        model_parameters=list(model.named_parameters()),
        params=Params({"type": "fused_adam", "lr": 0.01, **options}),
    )
    assert isinstance(optimizer, FusedAdamOptimizer) and optimizer.defaults["fused"]
    torch_options = {**options, "betas": tuple(options.get("betas", (0.9, 0.999)))}
    _train(model, optimizer)
    _train(reference, torch.optim.Adam(reference.parameters(), lr=0.01, foreach=False, **torch_options))
    before = _model()
    for got, expected, initial in zip(model.parameters(), reference.parameters(), before.parameters()):
        assert not torch.equal(got, initial)  # it trained
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_parameter_groups_keep_their_own_settings():
    model = _model()
    optimizer = Optimizer.from_params(
        model_parameters=list(model.named_parameters()),
        params=Params({"type": "fused_adam", "lr": 0.01, "parameter_groups": [[["^0\\."], {"lr": 0.0}]]}),
    )
    first_layer = [p.detach().clone() for p in model[0].parameters()]
    last_layer = [p.detach().clone() for p in model[2].parameters()]
    _train(model, optimizer)
    assert all(torch.equal(p, q) for p, q in zip(model[0].parameters(), first_layer))  # lr 0
    assert not any(torch.equal(p, q) for p, q in zip(model[2].parameters(), last_layer))
