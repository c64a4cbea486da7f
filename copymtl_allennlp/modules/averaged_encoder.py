from typing import Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.modules.seq2seq_encoders import Seq2SeqEncoder
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

RnnState = Tuple[torch.Tensor, Optional[torch.Tensor]]  # (h, c); c is None for a GRU


@Seq2SeqEncoder.register("averaged_bidirectional")
class AveragedBidirectionalEncoder(Seq2SeqEncoder):
    """A bidirectional LSTM (or GRU) whose two directions are **averaged**, not concatenated, as in
    CopyRE's and CopyMTL's released code: the output size is ``hidden_size``.

    ``forward_with_state`` also returns the final ``(h, c)`` of each sentence (the two directions
    averaged), which initialises the CopyRE / CopyMTL decoder; AllenNLP's ``PytorchSeq2SeqWrapper``
    does not return the cell state. Padding is packed away, so a sentence's outputs and final
    state do not depend on the rest of the batch.
    """

    def __init__(self, input_size: int, hidden_size: int, cell: str = "lstm", num_layers: int = 1) -> None:
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise ConfigurationError(f"cell must be 'lstm' or 'gru', got {cell!r}")
        rnn_class = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
        self.cell = cell
        self.rnn = rnn_class(input_size, hidden_size, num_layers=num_layers, bidirectional=True, batch_first=True)
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
        # shape: (batch_size,)
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
        packed_outputs, final = self.rnn(packed)
        # shape: (batch_size, seq_len, 2 * hidden_size)
        outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True, total_length=inputs.size(1))
        # shape: (batch_size, seq_len, hidden_size)
        outputs = (outputs[..., : self._hidden_size] + outputs[..., self._hidden_size :]) / 2

        def average_directions(state: torch.Tensor) -> torch.Tensor:
            # shape: (num_layers * 2, batch_size, hidden_size) -> (batch_size, hidden_size), last layer
            return (state[-2] + state[-1]) / 2

        if self.cell == "lstm":
            h, c = final
            return outputs, (average_directions(h), average_directions(c))
        return outputs, (average_directions(final), None)
