import torch
from torch.func import functional_call

from copymtl_allennlp.modules import cpu_lstm


class LstmTagDecoder(torch.nn.Module):
    """The LSTM decoding layer of NovelTagging's LSTM-LSTM-Bias (Zheng et al. 2017, Section 3.2.2).

    At token ``t`` an LSTM cell reads the encoder output ``h_t`` and the previous token's tag
    prediction vector ``T_{t-1}``, and its new state ``h^d_t`` gives

        T_t = W_ts · h^d_t + b_ts        (the tag prediction vector, fed to the next token)
        y_t = W_y · T_t + b_y            (tag scores; softmax in the model)

    The parameters are those of that cell (``cell``: ``W_ih`` over ``[h_t ; T_{t-1}]``, ``W_hh``),
    ``tag_vector`` (``W_ts``, ``b_ts``) and ``tag_scores`` (``W_y``, ``b_y``). The first token reads
    the tag vector of the zero initial state, ``T_{-1} = b_ts``.

    How it runs: ``T_{t-1}`` is linear in ``h^d_{t-1}``, so its part of the gates,
    ``W_iT T_{t-1} = W_iT W_ts h^d_{t-1} + W_iT b_ts``, folds into the recurrent weight and the
    bias: the decoder is one LSTM over the encoder outputs with ``W_hh + W_iT W_ts`` and
    ``b + W_iT b_ts``, exactly. It runs as one LSTM direction: the package's CPU kernels on a CPU
    (:mod:`~copymtl_allennlp.modules.cpu_lstm`), torch's ``LSTM`` (cuDNN) on a GPU. Padding sits at
    the end of each sentence, so a sentence's scores do not depend on what it is batched with.
    """

    def __init__(self, input_size: int, hidden_size: int, tag_vector_dim: int, num_tags: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.cell = torch.nn.LSTMCell(input_size + tag_vector_dim, hidden_size)
        self.tag_vector = torch.nn.Linear(hidden_size, tag_vector_dim)
        self.tag_scores = torch.nn.Linear(tag_vector_dim, num_tags)
        self.dropout = torch.nn.Dropout(dropout)
        self.input_size = input_size
        self.hidden_size = hidden_size

    def folded_weights(self):
        """``(W_ih over h_t, W_hh + W_iT W_ts, b_ih + b_hh + W_iT b_ts)``: the decoder as a plain LSTM."""
        weight_x, weight_tag = self.cell.weight_ih.split([self.input_size, self.tag_vector.out_features], dim=1)
        weight_hh = self.cell.weight_hh + weight_tag @ self.tag_vector.weight
        bias = self.cell.bias_ih + self.cell.bias_hh + weight_tag @ self.tag_vector.bias
        return weight_x, weight_hh, bias

    def forward(self, encoder_outputs: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        weight_x, weight_hh, bias = self.folded_weights()
        if cpu_lstm.uses_cpu_kernels(encoder_outputs):
            # shape: (batch_size, seq_len, hidden_size), zero at padding
            states, _, _ = cpu_lstm.masked_lstm_direction(encoder_outputs, mask, weight_x, weight_hh, bias)
        else:
            weights = {
                "weight_ih_l0": weight_x,
                "weight_hh_l0": weight_hh,
                "bias_ih_l0": bias,
                "bias_hh_l0": torch.zeros_like(bias),
            }
            # torch's LSTM on the folded weights: a shell on the meta device (no memory, no
            # parameters of the model's own) whose weights functional_call supplies
            shell = torch.nn.LSTM(self.input_size, self.hidden_size, batch_first=True, device="meta")
            states, _ = functional_call(shell, weights, (encoder_outputs,))
        # shape: (batch_size, seq_len, num_tags)
        return self.tag_scores(self.dropout(self.tag_vector(states)))
