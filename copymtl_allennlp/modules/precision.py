"""Scores under mixed precision (autocast to float16 / bfloat16, ``training/mixed_precision.py``)."""
import torch


def at_least_float32(scores: torch.Tensor) -> torch.Tensor:
    """``scores`` in float32 where autocast made them float16 or bfloat16; any other tensor as it is.
    Applied to the scores that meet a softmax, the CRF or AllenNLP's masking (whose constants are
    defined for float32 and wider)."""
    return scores.float() if scores.dtype in (torch.float16, torch.bfloat16) else scores
