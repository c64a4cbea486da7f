import torch


class LstmTagDecoder(torch.nn.Module):
    """The LSTM decoding layer of NovelTagging's LSTM-LSTM-Bias (Zheng et al. 2017, Section 3.2.2).

    At token ``t`` an LSTM cell reads the encoder output ``h_t`` and the previous token's tag
    prediction vector ``T_{t-1}`` (zeros at the first token), and the new state ``h^d_t`` gives

        T_t = W_ts · h^d_t + b_ts        (the tag prediction vector, fed to the next token)
        y_t = W_y · T_t + b_y            (tag scores; softmax in the model)

    Returns the tag scores of every token, ``(batch_size, seq_len, num_tags)``. Padding sits at the
    end of each sentence, so a sentence's scores do not depend on what it is batched with.
    """

    def __init__(self, input_size: int, hidden_size: int, tag_vector_dim: int, num_tags: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.cell = torch.nn.LSTMCell(input_size + tag_vector_dim, hidden_size)
        self.tag_vector = torch.nn.Linear(hidden_size, tag_vector_dim)
        self.tag_scores = torch.nn.Linear(tag_vector_dim, num_tags)
        self.dropout = torch.nn.Dropout(dropout)
        self.hidden_size = hidden_size
        self.tag_vector_dim = tag_vector_dim

    def forward(self, encoder_outputs: torch.Tensor) -> torch.Tensor:
        batch_size, seq_len, _ = encoder_outputs.shape
        state = encoder_outputs.new_zeros(batch_size, self.hidden_size)
        memory = encoder_outputs.new_zeros(batch_size, self.hidden_size)
        # shape: (batch_size, tag_vector_dim)
        tag_vector = encoder_outputs.new_zeros(batch_size, self.tag_vector_dim)
        tag_vectors = []
        for t in range(seq_len):
            state, memory = self.cell(torch.cat([encoder_outputs[:, t], tag_vector], dim=-1), (state, memory))
            tag_vector = self.tag_vector(state)
            tag_vectors.append(tag_vector)
        # shape: (batch_size, seq_len, num_tags)
        return self.tag_scores(self.dropout(torch.stack(tag_vectors, dim=1)))
