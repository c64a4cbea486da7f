from typing import Any, Dict, List, Optional, Tuple

import torch
from allennlp.training.optimizers import Optimizer, make_parameter_groups


@Optimizer.register("fused_adam")
class FusedAdamOptimizer(Optimizer, torch.optim.Adam):
    """AllenNLP's ``"adam"`` (same arguments, same update rule) with torch's fused implementation:
    one kernel updates each parameter, its moments and the step in a single pass over memory,
    where the default CPU implementation makes about eight passes with one operator each. Results
    equal ``"adam"``'s up to float rounding. The fused kernel runs on CPU and CUDA tensors of
    floating-point types; ``fused: false`` is torch's default implementation."""

    def __init__(
        self,
        model_parameters: List[Tuple[str, torch.nn.Parameter]],
        parameter_groups: Optional[List[Tuple[List[str], Dict[str, Any]]]] = None,
        lr: float = 0.001,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-08,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        fused: bool = True,
    ) -> None:
        super().__init__(
            params=make_parameter_groups(model_parameters, parameter_groups),
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            fused=fused,
        )
