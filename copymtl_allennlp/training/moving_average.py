"""An exponential moving average of the weights that survives ``--recover``.

AllenNLP's ``MovingAverage`` (``trainer.moving_average``) keeps a shadow copy of every parameter,
validates and saves ``best.th`` with the shadows, and puts its state in the trainer's checkpoints.
Its ``load_state_dict`` (AllenNLP 2.10.1), however, replaces the list of the model's parameters
with the unpickled copies from the checkpoint: after ``--recover`` the average follows tensors
that no longer train, and validation and ``best.th`` see the raw weights. The recovered run's
validation losses and its archive then differ from the uninterrupted run's.

``exponential_recoverable`` is AllenNLP's ``exponential`` average (same decay rule, same
arguments) whose state holds the shadows (the averages) only, and whose ``load_state_dict`` copies
them into the live ones, by parameter name: a recovered run ends where the uninterrupted run ends
(``tests/test_training.py``). The backups (the raw weights while the averages are assigned) are
left out: they are written before every read, and a checkpoint is saved with the raw weights in
place. A checkpoint of AllenNLP's own ``exponential`` average loads too (its shadows are used), so
a run trained with it can be continued with this one. Select it in a config as
``"moving_average": {"type": "exponential_recoverable", "decay": 0.999}``.
"""
from typing import Any, Dict

from allennlp.common.checks import ConfigurationError
from allennlp.training.moving_average import ExponentialMovingAverage, MovingAverage

from copymtl_allennlp import compat


@MovingAverage.register("exponential_recoverable")
class RecoverableExponentialMovingAverage(ExponentialMovingAverage):
    def state_dict(self) -> Dict[str, Any]:
        _, shadows = compat.moving_average_shadows(self)
        return {"shadows": shadows}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        names, shadows = compat.moving_average_shadows(self)
        saved = state_dict["shadows"]
        if set(saved) != set(names):  # all checked before anything is copied
            missing, extra = sorted(set(names) - set(saved)), sorted(set(saved) - set(names))
            raise ConfigurationError(
                f"the checkpoint's moving average does not match the model's parameters "
                f"(missing: {missing[:5]}, unexpected: {extra[:5]})"
            )
        for name in names:
            if saved[name].shape != shadows[name].shape:
                raise ConfigurationError(
                    f"the checkpoint's moving average does not match the model's parameters: "
                    f"{name!r} has shape {tuple(saved[name].shape)} in the checkpoint, "
                    f"{tuple(shadows[name].shape)} in the model"
                )
        for name in names:
            shadows[name].copy_(saved[name])
