from typing import Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.modules.seq2seq_encoders import Seq2SeqEncoder

RnnState = Tuple[torch.Tensor, Optional[torch.Tensor]]  # (h, c); c is None for a GRU


class DecoderStateEncoder(Seq2SeqEncoder):
    """An encoder of the CopyRE / CopyMTL family: besides its outputs ``o_i`` (``hidden_size``
    wide) it gives the decoder its initial state, ``forward_with_state(inputs, mask) -> (outputs,
    (h, c))``. ``cell`` (``lstm`` or ``gru``) is the recurrent cell of encoder and decoder."""

    def __init__(self, input_size: int, hidden_size: int, cell: str = "lstm") -> None:
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise ConfigurationError(f"cell must be 'lstm' or 'gru', got {cell!r}")
        self.cell = cell
        self._input_size = input_size
        self._hidden_size = hidden_size

    def get_input_dim(self) -> int:
        return self._input_size

    def get_output_dim(self) -> int:
        return self._hidden_size

    def is_bidirectional(self) -> bool:
        return False  # the outputs are not a concatenation of two directions

    def forward(self, inputs: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        return self.forward_with_state(inputs, mask)[0]

    def forward_with_state(self, inputs: torch.Tensor, mask: torch.BoolTensor) -> Tuple[torch.Tensor, RnnState]:
        raise NotImplementedError
