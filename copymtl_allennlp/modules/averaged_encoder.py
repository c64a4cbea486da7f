from typing import List, Optional, Tuple, Union, cast

import torch
from allennlp.modules.seq2seq_encoders import Seq2SeqEncoder
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from copymtl_allennlp.modules.decoder_state_encoder import DecoderStateEncoder, RnnState
from copymtl_allennlp.modules import cpu_lstm


@Seq2SeqEncoder.register("averaged_bidirectional")
class AveragedBidirectionalEncoder(DecoderStateEncoder):
    """A bidirectional LSTM (or GRU) whose two directions are **averaged**, not concatenated, as in
    CopyRE's and CopyMTL's released code: the output size is ``hidden_size``.

    ``forward_with_state`` also returns the final ``(h, c)`` of each sentence (the two directions
    averaged), which initialises the CopyRE / CopyMTL decoder; AllenNLP's ``PytorchSeq2SeqWrapper``
    does not return the cell state. A sentence's outputs and final state do not depend on the
    rest of the batch.

    On a GPU, the ``torch.nn`` RNN runs on packed sequences (cuDNN). On a CPU the RNN (every layer)
    runs as :meth:`_masked_loop` over the same parameters instead, for an LSTM through
    :func:`~copymtl_allennlp.modules.cpu_lstm.masked_lstm_direction` (the module says why): in
    training, and at inference on two sentences or more. A GRU at inference, and a single
    sentence, run the packed ``torch.nn`` RNN.
    """

    def __init__(self, input_size: int, hidden_size: int, cell: str = "lstm", num_layers: int = 1) -> None:
        super().__init__(input_size, hidden_size, cell)
        rnn_class = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
        self.rnn = rnn_class(input_size, hidden_size, num_layers=num_layers, bidirectional=True, batch_first=True)

    def forward_with_state(self, inputs: torch.Tensor, mask: torch.BoolTensor) -> Tuple[torch.Tensor, RnnState]:
        # the final state: (h, c) of an LSTM, h of a GRU, each (num_layers * 2, batch_size, hidden_size)
        final: Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]
        if self._use_masked_loop(inputs):
            # shape: (batch_size, seq_len, hidden_size), the directions already averaged
            outputs, final = self._masked_loop(inputs, mask)
        else:
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

        if isinstance(final, tuple):  # an LSTM
            h, c = final
            return outputs, (average_directions(h), average_directions(c))
        return outputs, (average_directions(final), None)

    def _use_masked_loop(self, inputs: torch.Tensor) -> bool:
        if not cpu_lstm.uses_cpu_kernels(inputs):
            return False
        # a single sentence runs faster through torch.nn.LSTM (0.77x with the loop, measured at
        # batch size 1); from two sentences on the loop is faster
        return torch.is_grad_enabled() or (self.cell == "lstm" and inputs.size(0) > 1)

    def _masked_loop(
        self, inputs: torch.Tensor, mask: torch.BoolTensor
    ) -> Tuple[torch.Tensor, Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]]:
        """The bidirectional RNN of ``self.rnn`` (same weights and equations as ``torch.nn.LSTM`` /
        ``GRU``, every layer), step by step with masking: a padding step leaves the state
        unchanged and outputs zeros, so the forward direction ends at each sentence's last token
        and the backward direction starts there. As in ``torch.nn``, a layer above the first reads
        the two directions of the layer below concatenated. Returns the last layer's outputs with
        the two directions averaged (batch, seq_len, hidden) and, as the packed ``self.rnn``, its
        final state(s) (2, batch, hidden)."""
        layer_inputs = inputs
        for layer in range(self.rnn.num_layers):
            directions, finals = self._masked_layer(layer_inputs, mask, layer)
            layer_inputs = torch.cat(directions, dim=-1)
        outputs_averaged = (directions[0] + directions[1]) / 2
        h_final = torch.stack([finals[0][0], finals[1][0]])
        if self.cell == "lstm":
            return outputs_averaged, (h_final, torch.stack([cast(torch.Tensor, finals[0][1]), cast(torch.Tensor, finals[1][1])]))
        return outputs_averaged, h_final

    def _masked_layer(
        self, inputs: torch.Tensor, mask: torch.BoolTensor, layer: int
    ) -> Tuple[List[torch.Tensor], List[Tuple[torch.Tensor, Optional[torch.Tensor]]]]:
        """One bidirectional layer of :meth:`_masked_loop`: each direction's outputs
        (batch, seq_len, hidden) and final ``(h, c)``."""
        batch_size, seq_len, _ = inputs.shape
        # shape: seq_len x (batch_size, 1)
        step_masks = mask.unsqueeze(2).unbind(1)
        directions = []
        finals: List[Tuple[torch.Tensor, Optional[torch.Tensor]]] = []
        for suffix, steps in (("", range(seq_len)), ("_reverse", range(seq_len - 1, -1, -1))):
            name = f"l{layer}{suffix}"
            w_ih, w_hh = getattr(self.rnn, f"weight_ih_{name}"), getattr(self.rnn, f"weight_hh_{name}")
            b_ih, b_hh = getattr(self.rnn, f"bias_ih_{name}"), getattr(self.rnn, f"bias_hh_{name}")
            if self.cell == "lstm":
                # the CPU kernels (cpu_lstm.py)
                direction_outputs, h, c = cpu_lstm.masked_lstm_direction(inputs, mask, w_ih, w_hh, b_ih + b_hh, reverse=bool(suffix))
                directions.append(direction_outputs)
                finals.append((h, c))
                continue
            # the GRU: autograd through the step loop
            # shape: seq_len x (batch_size, 3 * hidden_size); the input projection for all steps at once
            input_gates = torch.nn.functional.linear(inputs, w_ih, b_ih).unbind(1)
            h = inputs.new_zeros(batch_size, self._hidden_size)
            outputs: list = [None] * seq_len
            for t in steps:
                x_r, x_z, x_n = input_gates[t].chunk(3, dim=1)
                h_r, h_z, h_n = torch.nn.functional.linear(h, w_hh, b_hh).chunk(3, dim=1)
                r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
                h_new = (1 - z) * torch.tanh(x_n + r * h_n) + z * h
                h = torch.where(step_masks[t], h_new, h)
                outputs[t] = h_new * step_masks[t]
            directions.append(torch.stack(outputs, dim=1))
            finals.append((h, None))
        return directions, finals
