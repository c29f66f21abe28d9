"""BERT-base encoder with a sequence-classification head.

Input: token ids, LongTensor [batch, seq_len]; token types are all 0 and there is no padding mask (every
token attends to every token), which is what a fixed-length workload needs. Output: logits [batch,
num_classes] from the pooled [CLS] token (pooler dense + tanh, then `classifier`), i.e. Hugging Face's
BertForSequenceClassification. Parameters: 109.48 M for BertModel with pooler, plus 768*num_classes +
num_classes for the classifier.

Names follow Hugging Face's BertModel without the `bert.` prefix (embeddings.word_embeddings,
encoder.layer.N.attention.self.query, ..., pooler.dense) plus a top-level `classifier`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sparsesim.errors import ModelError

from ._checks import check_positive
from ._init import build_seeded
from .attention import attend, merge_heads, split_heads

LN_EPS = 1e-12  # BERT's LayerNorm epsilon


def _embedding(rows: int, dim: int) -> nn.Embedding:
    """An nn.Embedding whose weight is left for init_weights (built on the meta device by build_seeded).

    nn.Embedding's own constructor draws normal_ numbers, which on the meta device runs a Python
    decomposition that imports torch._dynamo (about as slow as importing torch); from_pretrained skips it.
    """
    return nn.Embedding.from_pretrained(torch.empty(rows, dim), freeze=False)


class BertEmbeddings(nn.Module):
    """Word + learned position + token-type embeddings, then LayerNorm."""

    def __init__(self, vocab_size: int, hidden: int, max_positions: int, type_vocab_size: int = 2) -> None:
        super().__init__()
        self.word_embeddings = _embedding(vocab_size, hidden)
        self.position_embeddings = _embedding(max_positions, hidden)
        self.token_type_embeddings = _embedding(type_vocab_size, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=LN_EPS)

    def forward(self, input_ids: Tensor) -> Tensor:
        # 0..S-1 derived from the ids' shape by ops, not by slicing with a symbolic size, so fx traces it.
        position_ids = torch.ones_like(input_ids).cumsum(1) - 1
        x = (
            self.word_embeddings(input_ids)
            + self.token_type_embeddings(torch.zeros_like(input_ids))
            + self.position_embeddings(position_ids)
        )
        return self.LayerNorm(x)


class BertSelfAttention(nn.Module):
    def __init__(self, hidden: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (hidden // num_heads) ** -0.5
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def forward(self, x: Tensor) -> Tensor:
        q = split_heads(self.query(x), self.num_heads)
        k = split_heads(self.key(x), self.num_heads)
        v = split_heads(self.value(x), self.num_heads)
        return merge_heads(attend(q, k, v, self.scale))


class BertSelfOutput(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=LN_EPS)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class BertAttention(nn.Module):
    def __init__(self, hidden: int, num_heads: int) -> None:
        super().__init__()
        self.self = BertSelfAttention(hidden, num_heads)
        self.output = BertSelfOutput(hidden)

    def forward(self, x: Tensor) -> Tensor:
        return self.output(self.self(x), x)


class BertIntermediate(nn.Module):
    def __init__(self, hidden: int, intermediate: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, intermediate)
        self.intermediate_act_fn = nn.GELU()

    def forward(self, x: Tensor) -> Tensor:
        return self.intermediate_act_fn(self.dense(x))


class BertOutput(nn.Module):
    def __init__(self, hidden: int, intermediate: int) -> None:
        super().__init__()
        self.dense = nn.Linear(intermediate, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=LN_EPS)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class BertLayer(nn.Module):
    """Post-norm encoder layer: attention + residual + LN, FFN + residual + LN."""

    def __init__(self, hidden: int, num_heads: int, intermediate: int) -> None:
        super().__init__()
        self.attention = BertAttention(hidden, num_heads)
        self.intermediate = BertIntermediate(hidden, intermediate)
        self.output = BertOutput(hidden, intermediate)

    def forward(self, x: Tensor) -> Tensor:
        attn = self.attention(x)
        return self.output(self.intermediate(attn), attn)


class BertEncoder(nn.Module):
    def __init__(self, num_layers: int, hidden: int, num_heads: int, intermediate: int) -> None:
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(hidden, num_heads, intermediate) for _ in range(num_layers))

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layer:  # a fixed list: fx unrolls it
            x = layer(x)
        return x


class BertPooler(nn.Module):
    """dense + tanh on the [CLS] token."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.activation = nn.Tanh()

    def forward(self, x: Tensor) -> Tensor:
        return self.activation(self.dense(x[:, 0]))


class BertClassifier(nn.Module):
    """BERT encoder + pooler + linear classifier: token ids [B, S] -> logits [B, num_classes]."""

    def __init__(
        self,
        *,
        vocab_size: int,
        hidden: int,
        num_layers: int,
        num_heads: int,
        intermediate: int,
        max_positions: int,
        num_classes: int,
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size  # the loader draws example token ids below this
        self.embeddings = BertEmbeddings(vocab_size, hidden, max_positions)
        self.encoder = BertEncoder(num_layers, hidden, num_heads, intermediate)
        self.pooler = BertPooler(hidden)
        self.classifier = nn.Linear(hidden, num_classes)

    def forward(self, input_ids: Tensor) -> Tensor:
        return self.classifier(self.pooler(self.encoder(self.embeddings(input_ids))))


def build_bert_base(
    *,
    num_classes: int = 2,
    input_size: int | None = None,
    seq_len: int = 128,
    seed: int = 0,
    num_layers: int = 12,
    hidden_size: int = 768,
    num_heads: int = 12,
    intermediate_size: int = 3072,
    vocab_size: int = 30522,
) -> BertClassifier:
    """BERT-base by default (the keyword arguments make smaller variants). Position embeddings cover
    max(512, seq_len) tokens, so any input of up to that length runs. `input_size` is ignored."""
    name = "bert_base"
    check_positive("model.num_classes", num_classes, name)
    check_positive("model.seq_len", seq_len, name)
    for key, value in (
        ("num_layers", num_layers),
        ("hidden_size", hidden_size),
        ("num_heads", num_heads),
        ("intermediate_size", intermediate_size),
        ("vocab_size", vocab_size),
    ):
        check_positive(f"model.kwargs.{key}", value, name)
    if hidden_size % num_heads:
        raise ModelError(
            f"{name} hidden_size {hidden_size} is not divisible by num_heads {num_heads}", path="model.kwargs"
        )
    return build_seeded(
        lambda: BertClassifier(
            vocab_size=vocab_size,
            hidden=hidden_size,
            num_layers=num_layers,
            num_heads=num_heads,
            intermediate=intermediate_size,
            max_positions=max(512, seq_len),
            num_classes=num_classes,
        ),
        seed=seed,
        style="transformer",
    )
