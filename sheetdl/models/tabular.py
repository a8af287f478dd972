"""The tabular network: embeddings for categories and words, an MLP over everything.

Plain torch, no Lightning here, so the same module serves training, saving and the add-in server.
The accuracy issue replaces the trunk (TabM / PLR embeddings); the constructor's keyword arguments
and ``forward(numeric, categorical, text)`` are the seam.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TabularNet", "embedding_dim"]


def embedding_dim(cardinality: int) -> int:
    """fastai's rule of thumb, capped: enough room for many levels, little for few."""
    return int(min(32, round(1.6 * cardinality**0.56)))


class TabularNet(nn.Module):
    def __init__(
        self,
        *,
        n_numeric: int,
        cardinalities: list[int],
        vocab_sizes: list[int],
        n_outputs: int,
        hidden: int = 128,
        depth: int = 3,
        dropout: float = 0.1,
        text_dim: int = 16,
    ) -> None:
        super().__init__()
        self.config = dict(
            n_numeric=n_numeric,
            cardinalities=list(cardinalities),
            vocab_sizes=list(vocab_sizes),
            n_outputs=n_outputs,
            hidden=hidden,
            depth=depth,
            dropout=dropout,
            text_dim=text_dim,
        )
        self.embeddings = nn.ModuleList(nn.Embedding(c, embedding_dim(c)) for c in cardinalities)
        self.word_bags = nn.ModuleList(nn.EmbeddingBag(v, text_dim, mode="mean", padding_idx=0) for v in vocab_sizes)
        width = n_numeric + sum(embedding_dim(c) for c in cardinalities) + text_dim * len(vocab_sizes)
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Linear(max(width, 1), hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_outputs)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        parts = [numeric]
        parts += [emb(categorical[:, i]) for i, emb in enumerate(self.embeddings)]
        parts += [bag(text[:, i, :]) for i, bag in enumerate(self.word_bags)]
        x = torch.cat(parts, dim=1)
        if x.shape[1] == 0:  # no usable feature: the network learns the prior alone
            x = torch.zeros(len(numeric), 1, device=numeric.device)
        return self.head(self.trunk(x))
