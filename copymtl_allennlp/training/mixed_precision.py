"""Mixed-precision training on a GPU, float16 or bfloat16: the trainer ``"mixed_precision"``.

AllenNLP 2.10's ``use_amp`` runs the forward pass under ``torch.cuda.amp.autocast``, which is
float16 only, with a ``GradScaler``. :class:`MixedPrecisionTrainer` is AllenNLP's
``gradient_descent`` trainer with one more argument, ``amp_dtype``:

- ``"float16"``: exactly AllenNLP's ``use_amp: true`` (its autocast and its gradient scaler);
- ``"bfloat16"``: the forward pass (training and validation) under
  ``torch.autocast("cuda", dtype=torch.bfloat16)``; no scaler (bfloat16 has float32's range).

The backward pass and the optimizer step run outside autocast, on the float32 parameters. On a
CPU the trainer trains in float32 and says so in the log: the package's CPU kernels are float32
(``modules/cpu_lstm.py``). The model keeps its scores in float32 where they meet softmax, the CRF
and masking (``modules/triplet_decoder.py``, ``step_attention.py``, ``tagging_head.py``).

In a config (``training_config/copymtl.libsonnet``'s ``amp`` switch writes this)::

    "trainer": {"type": "mixed_precision", "amp_dtype": "bfloat16", ...}
"""
import contextlib
import inspect
import logging
from typing import Any, ContextManager, Dict

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.util import int_to_device
from allennlp.training.gradient_descent_trainer import GradientDescentTrainer
from allennlp.training.trainer import Trainer

logger = logging.getLogger(__name__)

AMP_DTYPES: Dict[str, torch.dtype] = {"float16": torch.float16, "bfloat16": torch.bfloat16}


def amp_dtype_of(name: str) -> torch.dtype:
    """The torch dtype of an ``amp_dtype`` value; a ConfigurationError naming the choices otherwise."""
    if name not in AMP_DTYPES:
        raise ConfigurationError(f"amp_dtype must be one of {sorted(AMP_DTYPES)}, got {name!r}")
    return AMP_DTYPES[name]


_BASE_FROM_PARTIAL_OBJECTS = GradientDescentTrainer.from_partial_objects.__func__  # type: ignore[attr-defined]


def _from_partial_objects(cls, *args: Any, amp_dtype: str = "bfloat16", **kwargs: Any) -> "MixedPrecisionTrainer":
    dtype = amp_dtype_of(amp_dtype)
    device = kwargs.get("cuda_device")
    on_gpu = torch.cuda.is_available() if device is None else int_to_device(device).type == "cuda"  # as Trainer decides
    # float16: AllenNLP's own autocast and GradScaler (on a GPU only); bfloat16: batch_outputs' autocast below
    kwargs["use_amp"] = dtype == torch.float16 and on_gpu
    trainer = _BASE_FROM_PARTIAL_OBJECTS(cls, *args, **kwargs)
    trainer.amp_dtype = dtype
    if trainer.cuda_device.type != "cuda":
        logger.warning("mixed_precision: amp_dtype %s applies on a GPU only; training in float32 on %s", amp_dtype, trainer.cuda_device)
    else:
        logger.info("mixed_precision: forward passes under autocast to %s", amp_dtype)
    return trainer


def _signature() -> inspect.Signature:
    """``gradient_descent``'s arguments, ``use_amp`` replaced by ``amp_dtype`` (what FromParams reads)."""
    base = inspect.signature(_BASE_FROM_PARTIAL_OBJECTS)
    parameters = [p for p in base.parameters.values() if p.name != "use_amp" and p.kind != p.VAR_KEYWORD]
    parameters.append(inspect.Parameter("amp_dtype", inspect.Parameter.KEYWORD_ONLY, default="bfloat16", annotation=str))
    return base.replace(parameters=parameters)


_from_partial_objects.__signature__ = _signature()  # type: ignore[attr-defined]


@Trainer.register("mixed_precision", constructor="from_partial_objects")
class MixedPrecisionTrainer(GradientDescentTrainer):
    """AllenNLP's ``gradient_descent`` trainer with the forward pass autocast to ``amp_dtype``
    (``"float16"`` or ``"bfloat16"``) on a GPU; see the module's docstring."""

    amp_dtype: torch.dtype = torch.bfloat16

    from_partial_objects = classmethod(_from_partial_objects)  # type: ignore[assignment]

    def autocast(self) -> ContextManager:
        """The context of a forward pass: bfloat16 autocast on a GPU; nothing otherwise (float16
        is AllenNLP's own ``use_amp`` context, around this one)."""
        if self.amp_dtype == torch.bfloat16 and self.cuda_device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def batch_outputs(self, batch: Dict[str, Any], for_training: bool) -> Dict[str, torch.Tensor]:
        with self.autocast():
            return super().batch_outputs(batch, for_training)
