"""The trainer of every config, ``"mixed_precision"``: AllenNLP's ``gradient_descent`` with
mixed precision on a GPU (float16 or bfloat16) and its keys checked.

AllenNLP 2.10's ``use_amp`` runs the forward pass under ``torch.cuda.amp.autocast``, which is
float16 only, with a ``GradScaler``. :class:`MixedPrecisionTrainer` is AllenNLP's
``gradient_descent`` trainer with one more argument, ``amp_dtype``:

- ``"float16"``: exactly AllenNLP's ``use_amp: true`` (its autocast and its gradient scaler);
- ``"bfloat16"``: the forward pass (training and validation) under
  ``torch.autocast("cuda", dtype=torch.bfloat16)``; no scaler (bfloat16 has float32's range);
- ``null`` (the default): float32, exactly ``gradient_descent``.

Unlike ``gradient_descent`` (whose ``**kwargs`` swallows them), an unknown key of the trainer
section (``-o '{"trainer.num_epoch": 1}'``) is a ``ConfigurationError`` that names it.

The backward pass and the optimizer step run outside autocast, on the float32 parameters. On a
CPU the trainer trains in float32 and says so in the log: the package's CPU kernels are float32
(``modules/cpu_lstm.py``). The model keeps its scores in float32 where they meet softmax, the CRF
and masking (``modules/triplet_decoder.py``, ``step_attention.py``, ``tagging_head.py``).

In a config (``training_config/copymtl.libsonnet``'s ``amp`` switch writes this)::

    "trainer": {"type": "mixed_precision", "amp_dtype": "bfloat16", ...}
"""
import contextlib
import difflib
import inspect
import logging
from typing import Any, ContextManager, Dict, Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import int_to_device
from allennlp.training.gradient_descent_trainer import GradientDescentTrainer
from allennlp.training.trainer import Trainer

from copymtl_allennlp import compat

logger = logging.getLogger(__name__)

AMP_DTYPES: Dict[str, torch.dtype] = {"float16": torch.float16, "bfloat16": torch.bfloat16}


def amp_dtype_of(name: str) -> torch.dtype:
    """The torch dtype of an ``amp_dtype`` value; a ConfigurationError naming the choices otherwise."""
    if name not in AMP_DTYPES:
        raise ConfigurationError(f"amp_dtype must be one of {sorted(AMP_DTYPES)}, got {name!r}")
    return AMP_DTYPES[name]


_BASE_FROM_PARTIAL_OBJECTS = GradientDescentTrainer.from_partial_objects.__func__


def _check_keys(unknown: Dict[str, Any]) -> None:
    """AllenNLP 2.10's ``gradient_descent`` takes ``**kwargs`` and drops keys it does not know (a
    misspelt ``num_epoch`` trains the configured epochs); here such a key is an error that names it."""
    if not unknown:
        return
    known = sorted(set(_signature().parameters) - _SUPPLIED)
    problems = []
    for key in sorted(unknown):
        close = difflib.get_close_matches(key, known, n=1)
        problems.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise ConfigurationError(
        f"trainer: unknown key {', '.join(problems)} in the config's trainer section or an -o override; the trainer takes: {', '.join(known)}"
    )


def _from_partial_objects(cls, *args: Any, amp_dtype: Optional[str] = None, **kwargs: Any) -> "MixedPrecisionTrainer":
    _check_keys({k: v for k, v in kwargs.items() if k not in _signature().parameters})
    if kwargs.get("num_epochs", 1) < 1:
        raise ConfigurationError(
            f"trainer.num_epochs must be at least 1, got {kwargs['num_epochs']}: a run of no epoch has no model to archive"
        )
    dtype = None if amp_dtype is None else amp_dtype_of(amp_dtype)
    device = kwargs.get("cuda_device")
    on_gpu = torch.cuda.is_available() if device is None else int_to_device(device).type == "cuda"  # as Trainer decides
    # float16: AllenNLP's own autocast and GradScaler (on a GPU only); bfloat16: batch_outputs' autocast below
    kwargs["use_amp"] = dtype == torch.float16 and on_gpu
    trainer = _BASE_FROM_PARTIAL_OBJECTS(cls, *args, **kwargs)
    trainer.amp_dtype = dtype
    if dtype is not None and trainer.cuda_device.type != "cuda":
        logger.warning("mixed_precision: amp_dtype %s applies on a GPU only; training in float32 on %s", amp_dtype, trainer.cuda_device)
    elif dtype is not None:
        logger.info("mixed_precision: forward passes under autocast to %s", amp_dtype)
    return trainer


def _signature() -> inspect.Signature:
    """``gradient_descent``'s arguments, ``use_amp`` replaced by ``amp_dtype`` (what FromParams
    reads); ``**kwargs`` stays, so that an unknown key reaches :func:`_check_keys`."""
    base = inspect.signature(_BASE_FROM_PARTIAL_OBJECTS)
    parameters = [p for p in base.parameters.values() if p.name != "use_amp" and p.kind != p.VAR_KEYWORD]
    parameters.append(inspect.Parameter("amp_dtype", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Optional[str]))
    parameters += [p for p in base.parameters.values() if p.kind == p.VAR_KEYWORD]
    return base.replace(parameters=parameters)


# what AllenNLP supplies to the trainer, not a config key
_SUPPLIED = {"cls", "kwargs", "model", "serialization_dir", "data_loader", "validation_data_loader", "local_rank"}


compat.set_signature(_from_partial_objects, _signature())


@Trainer.register("mixed_precision", constructor="from_partial_objects")
class MixedPrecisionTrainer(GradientDescentTrainer):
    """AllenNLP's ``gradient_descent`` trainer with the forward pass autocast to ``amp_dtype``
    (``"float16"`` or ``"bfloat16"``) on a GPU; see the module's docstring."""

    amp_dtype: Optional[torch.dtype] = None

    from_partial_objects = classmethod(_from_partial_objects)

    def autocast(self) -> ContextManager:
        """The context of a forward pass: bfloat16 autocast on a GPU; nothing otherwise (float16
        is AllenNLP's own ``use_amp`` context, around this one)."""
        if self.amp_dtype == torch.bfloat16 and self.cuda_device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def batch_outputs(self, batch: Dict[str, Any], for_training: bool) -> Dict[str, torch.Tensor]:
        with self.autocast():
            return super().batch_outputs(batch, for_training)
