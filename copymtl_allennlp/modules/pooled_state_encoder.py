from typing import Tuple, cast

import torch
from allennlp.modules.seq2seq_encoders import Seq2SeqEncoder
from allennlp.nn import util

from copymtl_allennlp.modules.decoder_state_encoder import DecoderStateEncoder, RnnState


@Seq2SeqEncoder.register("pooled_state")
class PooledStateEncoder(DecoderStateEncoder):
    """No recurrent encoder: the embeddings (e.g. a pretrained transformer's contextual word
    vectors) are the encoder outputs ``o_i``, projected to ``hidden_size`` when their width differs,
    and the decoder starts from their masked mean (``h``; the cell state ``c`` starts at zero).

    The counterpart of :class:`AveragedBidirectionalEncoder` for an embedder that is already
    contextual: ``forward_with_state`` returns the outputs and the decoder's initial ``(h, c)``.
    ``cell`` names the decoder's recurrent cell (``lstm`` or ``gru``), as the BiLSTM encoder's does.
    """

    def __init__(self, input_size: int, hidden_size: int, cell: str = "lstm") -> None:
        super().__init__(input_size, hidden_size, cell)
        self.projection = torch.nn.Linear(input_size, hidden_size) if input_size != hidden_size else None

    def forward_with_state(self, inputs: torch.Tensor, mask: torch.BoolTensor) -> Tuple[torch.Tensor, RnnState]:
        # shape: (batch_size, seq_len, hidden_size), zero at padding
        outputs = (inputs if self.projection is None else self.projection(inputs)) * mask.unsqueeze(-1)
        # shape: (batch_size, hidden_size)
        h = util.masked_mean(outputs, cast(torch.BoolTensor, mask.unsqueeze(-1)), dim=1)
        return outputs, (h, torch.zeros_like(h) if self.cell == "lstm" else None)
