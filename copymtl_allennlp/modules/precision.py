"""Scores under mixed precision (autocast to float16 / bfloat16, ``training/mixed_precision.py``)."""
import torch


def at_least_float32(scores: torch.Tensor) -> torch.Tensor:
    """``scores`` in float32 where autocast made them float16 or bfloat16; any other tensor as it is.
    Applied to the scores that meet a softmax, the CRF or AllenNLP's masking (whose constants are
    defined for float32 and wider)."""
    return scores.float() if scores.dtype in (torch.float16, torch.bfloat16) else scores


def flush_subnormal_gradient(scores: torch.Tensor) -> torch.Tensor:
    """``scores``, whose gradient will have its subnormal entries (``|g| <`` the smallest normal
    float of its type) set to zero. A softmax over rare classes, trained towards the common one,
    gives those classes probabilities under 1e-38 and its gradient subnormal floats, which a CPU
    multiplies tens of times slower than normal ones (OneRel's training steps on WebNLG slowed
    down step after step without this). Zeroing them changes the gradient by less than 1e-38 an entry."""
    if scores.requires_grad:
        tiny = torch.finfo(scores.dtype).tiny
        scores.register_hook(lambda grad: grad.masked_fill(grad.abs() < tiny, 0.0))
    return scores
