"""The tabular network: TabM-mini over number embeddings (PLE), category embeddings and word bags.

Plain torch, no Lightning here, so the same module serves training, saving and the add-in server.

- **Piecewise-linear embeddings** (PLE; Gorishniy et al., NeurIPS 2022, in the form TabM uses): each
  continuous number x is cut at the quantiles of its training values into up to ``N_BINS`` bins and
  becomes w_j·x + b_j + W_j·ple(x), where ple(x) says how far x has come through each bin (1 for the
  bins below it, its share of the bin it is in, 0 above). The network sees thresholds and bends of every
  number without having to find them. Models saved before 23 Nov 2026 use periodic embeddings (PLR:
  ReLU(W_j [sin 2πc_j x, cos 2πc_j x] + b_j) with trained frequencies c_j), which still load.
  Flags (missing indicators, yes/no columns, the month/weekday circles) pass through as they are.
- **TabM-mini** (Gorishniy et al., ICLR 2025): ``k`` members share every weight of the MLP; each has
  its own input scaling vector (initialised to random ±1) and its own output head. The members train
  together on the same batches, each with its own loss, and predict as one: the mean of their
  probabilities (or numbers). An efficient ensemble costs ``k`` × an MLP in arithmetic but one MLP's
  parameters, and beats a single MLP on most tables. ``k`` and the width are chosen by rules on the
  data's size (``training.choose_shape``) so the time budget holds; ``k = 1`` is a plain MLP.
- **An additive path** beside the MLP: one linear map from the same inputs straight to the output,
  added to every member's. Over the number embeddings it is a generalised additive model (a bent line
  per number, a weight per category), the part of a table that a linear model gets right; the MLP
  adds the interactions. Measured over three seeds it gained on the tables where logistic regression
  is strong (breast_cancer, telco churn, credit_data) and lost nowhere beyond one seed's scatter
  (benchmarks/README.md, "The additive path"). Models
  saved before 23 Nov 2026 have no such path and load without it.

- **Pictures** (image columns) join as one more input each: a frozen pretrained backbone's feature
  vector through a trained projection, or raw pixels through a small CNN trained from scratch (with
  random shifts while training). Either way a picture becomes ``IMAGE_EMBEDDING`` numbers beside the
  others, before the TabM members split, so one head sees pictures and columns together (fusion).

``forward(numeric, categorical, text, *images)`` returns one row of outputs per row: log of the members' mean
probability (so ``softmax`` of it is that mean) or the members' mean number. ``members(...)`` gives
each member's raw output, for the loss and for the spread behind regression intervals.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .image import SmallCNN
from .networks import input_scaling, network_of
from .tuning import crop_and_flip, freeze_batchnorm_stats, frozen_start, pretrained_block_state, tuned_block

__all__ = ["TabularNet", "PeriodicEmbeddings", "PiecewiseLinearEmbeddings", "ImageBranch", "embedding_dim",
           "quantile_edges", "IMAGE_EMBEDDING", "NUMBER_EMBEDDING", "N_BINS", "TEXT_DIM"]

#: embedding width of each continuous number (PLE and PLR)
NUMBER_EMBEDDING = 8
#: width of a text column's bag of words
TEXT_DIM = 16
#: most bins of a number's piecewise-linear embedding (TabM's default; fewer for numbers with few values)
N_BINS = 48
#: bins are quantiles of at most this many training values (evenly spaced through the rows)
BIN_SAMPLE = 200_000
#: frequencies of a periodic embedding (PLR, models saved before PLE)
N_FREQUENCIES = 8
#: standard deviation of the initial frequencies, for robust-scaled inputs (mostly within ±3)
FREQUENCY_SCALE = 0.3
#: numbers each picture becomes before joining the other columns
IMAGE_EMBEDDING = 64
#: fine-tuned pretrained blocks learn at this share of the learning rate
TUNED_LR_SHARE = 0.1
#: while training from scratch, pictures shift by up to this share of their size (augmentation)
SHIFT_SHARE = 1 / 16


def embedding_dim(cardinality: int) -> int:
    """fastai's rule of thumb, capped: enough room for many levels, little for few."""
    return int(min(32, round(1.6 * cardinality**0.56)))


class PeriodicEmbeddings(nn.Module):
    """PLR: periodic features → per-column linear → ReLU, for ``n`` numbers at once."""

    def __init__(self, n: int, *, n_frequencies: int = N_FREQUENCIES, dim: int = NUMBER_EMBEDDING,
                 scale: float = FREQUENCY_SCALE) -> None:
        super().__init__()
        self.frequencies = nn.Parameter(torch.randn(n, n_frequencies) * scale)
        bound = 1 / math.sqrt(2 * n_frequencies)
        self.weight = nn.Parameter(torch.empty(n, 2 * n_frequencies, dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n, dim).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, n) → (B, n · dim)
        z = 2 * math.pi * self.frequencies[None] * x[..., None]
        z = torch.cat([torch.cos(z), torch.sin(z)], dim=-1)
        z = torch.einsum("bnf,nfd->bnd", z, self.weight) + self.bias
        return F.relu(z).flatten(1)


class PiecewiseLinearEmbeddings(nn.Module):
    """PLE for ``n`` numbers at once: x → w·x + b + W·ple(x) per column (TabM's "version B", no
    activation). The bin edges are a buffer, saved with the weights and set once from the training
    rows (``set_bins``); W starts at zero, so training starts from a linear embedding and bends it
    where the data asks."""

    edges: torch.Tensor  # a buffer: saved with the weights

    def __init__(self, n: int, n_bins: int, dim: int = NUMBER_EMBEDDING) -> None:
        super().__init__()
        self.n_bins = n_bins
        self.register_buffer("edges", torch.arange(n_bins + 1, dtype=torch.float32).repeat(n, 1))
        bound = 1 / math.sqrt(dim)
        self.linear_weight = nn.Parameter(torch.empty(n, dim).uniform_(-bound, bound))
        self.linear_bias = nn.Parameter(torch.empty(n, dim).uniform_(-bound, bound))
        self.weight = nn.Parameter(torch.zeros(n, n_bins, dim))
        self._derive()
        self.register_load_state_dict_post_hook(lambda module, _: module._derive())

    def set_bins(self, bins: list[list[float]]) -> None:
        """One increasing list of edges per column (at least two, at most ``n_bins + 1``); a column
        with fewer bins is padded with empty ones, which always read 0."""
        rows = [list(b) + [b[-1]] * (self.n_bins + 1 - len(b)) for b in bins]
        with torch.no_grad():
            self.edges.copy_(torch.tensor(rows, dtype=torch.float32))
        self._derive()

    def _derive(self) -> None:
        """What ``forward`` needs from the edges: each bin's start and 1 / width (0 for an empty bin),
        and the clamps: the first bin is open below, each column's last real bin open above."""
        edges = self.edges
        width = edges[:, 1:] - edges[:, :-1]
        real = width > 0
        self.left = edges[:, :-1]
        self.inv_width = torch.where(real, 1 / torch.where(real, width, torch.ones_like(width)), 0.0)
        n = len(edges)
        last = (real.sum(1) - 1).clamp(min=0)
        self.low = torch.zeros_like(width)
        self.low[:, 0] = -math.inf
        self.high = torch.ones_like(width)
        self.high[torch.arange(n, device=edges.device), last] = math.inf
        # for forward: the inner edges (a number at or past one is in a later bin), each column's
        # last real bin, and where each column's bins start in a flat list of all columns' bins
        self.inner = edges[:, 1:-1].contiguous()
        self.last = last[:, None]
        self.offset = torch.arange(n, device=edges.device)[None] * self.n_bins

    def _apply(self, fn, *args, **kwargs):  # .to(device) / .float(): the derived tensors follow
        super()._apply(fn, *args, **kwargs)
        self._derive()
        return self

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # (B, n) → (B, n, n_bins)
        z = (x[..., None] - self.left) * self.inv_width
        return torch.minimum(torch.maximum(z, self.low), self.high) * (self.inv_width > 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, n) → (B, n · dim)
        """The same as ``einsum(encode(x), weight)``, without the (B, n, n_bins) encoding: a number in
        bin i gets every earlier bin's weight in full (a running sum) and bin i's weight times its
        share of it. Explaining a prediction runs this dozens of times over every row; the full
        encoding made that memory-bound (23 Nov 2026, a 10,000 × 20 sheet: explaining 6.7 s → 4.7 s;
        benchmarks/README.md, "speed.py")."""
        n, bins, dim = self.weight.shape
        i = torch.minimum(torch.searchsorted(self.inner, x.t().contiguous(), right=True), self.last).t()
        flat = i + self.offset  # (B, n): row of each number's bin among all columns' bins
        z = (x - self.left.flatten()[flat]) * self.inv_width.flatten()[flat]  # share of its own bin
        before = (torch.cumsum(self.weight, dim=1) - self.weight).reshape(n * bins, dim)
        out = F.embedding(flat, before) + z[..., None] * F.embedding(flat, self.weight.reshape(n * bins, dim))
        return (out + x[..., None] * self.linear_weight + self.linear_bias).flatten(1)


def quantile_edges(values: np.ndarray, n_bins: int = N_BINS) -> list[list[float]]:
    """Bin edges for each column of ``values`` (rows × columns, the encoded training numbers):
    quantiles (interpolated, as TabM computes them), repeated ones merged, so a column with few
    distinct values gets fewer bins. Between two neighbouring values of a count or a rating there
    may be several edges, more where more rows cross: taking only edges at values the column takes
    measured worse (23 Nov 2026: TV16 0.8916 → 0.8883, lower AUC on all five folds; telco churn
    0.8062 → 0.8034, mlc_churn 0.9484 → 0.9438)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) > BIN_SAMPLE:
        values = values[np.linspace(0, len(values) - 1, BIN_SAMPLE).astype(np.int64)]
    out = []
    for column in values.T:
        column = column[np.isfinite(column)]
        levels = np.linspace(0, 1, n_bins + 1)
        edges = np.unique(np.quantile(column, levels)) if len(column) else np.zeros(1)
        if len(edges) < 2:  # one value: one bin around it
            edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
        out.append([float(e) for e in edges])
    return out


class ImageBranch(nn.Module):
    """One image column → ``IMAGE_EMBEDDING`` numbers.

    ``mode`` "features": the input is a frozen backbone's feature vector (B, dim) → LayerNorm →
    linear → ReLU. ``mode`` "pixels": the input is uint8 pixels (B, size, size, 3) → SmallCNN →
    linear → ReLU. ``mode`` "tune": uint8 pixels → the pretrained network's frozen start (shared,
    not saved; ResNet-18 or EfficientNet-Lite0, as the spec's ``network`` says) → its last block,
    trained (``block``) → average → LayerNorm → linear → ReLU;
    while training, pictures are randomly cropped and mirrored. ``maps``/``from_maps`` split the
    picture path after the last convolution, for Grad-CAM.
    """

    cnn: SmallCNN | None
    norm: nn.LayerNorm | None
    block: nn.Module | None

    def __init__(self, spec: dict) -> None:
        super().__init__()
        self.mode = spec["mode"]
        self.block = None
        if self.mode == "features":
            self.cnn = None
            self.norm = nn.LayerNorm(spec["dim"])
            self.project = nn.Linear(spec["dim"], IMAGE_EMBEDDING)
        elif self.mode == "tune":
            self.cnn = None
            self.weights = spec.get("weights", "")
            self.network = network_of(spec).key
            self.block = tuned_block(self.network)
            width = network_of(spec).out_dim
            self.norm = nn.LayerNorm(width)
            self.project = nn.Linear(width, IMAGE_EMBEDDING)
        else:
            self.cnn = SmallCNN()
            self.norm = None
            self.project = nn.Linear(self.cnn.out_dim, IMAGE_EMBEDDING)
            self.shift = max(1, round(spec["size"] * SHIFT_SHARE))
        #: uint8 pictures → the scaled input of this branch's network
        self.to_input = input_scaling(spec)

    def maps(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.to_input(pixels)
        if self.block is not None:
            if self.training:
                x = crop_and_flip(x)
            return self.scaled_maps(x)
        if self.training:
            x = _random_shift(x, self.shift)
        assert self.cnn is not None  # "pixels": the branch's own CNN
        return self.cnn.maps(x)

    def scaled_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Scaled input (B, 3, H, W) → the last convolution's maps (for Grad-CAM: no augmentation)."""
        if self.block is None:
            assert self.cnn is not None  # "pixels": the branch's own CNN
            return self.cnn.maps(x)
        start = frozen_start(self.weights, self.network)
        if next(start.parameters()).device != x.device:
            start.to(x.device)
        return self.block(start(x))

    def train(self, mode: bool = True) -> ImageBranch:
        super().train(mode)
        if self.block is not None:  # the tuned block's batch norms keep ImageNet's statistics
            freeze_batchnorm_stats(self.block)
        return self

    def start_from_pretrained(self) -> None:
        """Fine-tuning starts from the pretrained last block (a new branch's block is random;
        a loaded model's block gets its saved values instead)."""
        if self.block is not None:
            self.block.load_state_dict(pretrained_block_state(self.weights, self.network))

    def tuned_parameters(self) -> list[nn.Parameter]:
        """Pretrained weights being adapted: they learn at a tenth of the rate of the rest."""
        return list(self.block.parameters()) if self.block is not None else []

    def from_maps(self, maps: torch.Tensor) -> torch.Tensor:
        pooled = maps.mean(dim=(2, 3))
        if self.block is not None:
            assert self.norm is not None  # "tune" normalises the block's features
            pooled = self.norm(pooled.float())
        return F.relu(self.project(pooled))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cnn is None and self.block is None:
            assert self.norm is not None  # "features" normalises the frozen network's features
            return F.relu(self.project(self.norm(x.float())))
        return self.from_maps(self.maps(x))


def _random_shift(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Each picture moved by up to ``pad`` pixels in each direction (edges repeated): the network
    learns that where in the frame a thing is doesn't change what it is."""
    b, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    dy = torch.randint(0, 2 * pad + 1, (b,), device=x.device)
    dx = torch.randint(0, 2 * pad + 1, (b,), device=x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device)[None])  # (b, h)
    cols = (dx[:, None] + torch.arange(w, device=x.device)[None])  # (b, w)
    idx = torch.arange(b, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]]  # (b, h, w, c)
    return out.permute(0, 3, 1, 2).contiguous()


class ByteDropout(nn.Module):
    """Dropout as ``nn.Dropout`` does it, at a half to a third of its cost on the CPU.

    torch draws a CPU dropout mask at about 8 ns a number (its Bernoulli sampler): about a fifth of CPU
    training on tables with dropout, i.e. below LARGE_TABLE_ROWS (5 Dec 2026: 2.6 of the speed workbook
    networks' 11.7 s). Here the mask is one random byte a number from numpy's PCG64 generator (its
    ``bytes`` are ~0.2 ns each): a number is dropped where its byte is below ``round(p · 256)``, so the
    rate is ``p`` to the nearest 1/256 (0.1 → 0.1016), and the kept ones are scaled up to keep the mean.
    The generator is seeded from torch's at the first training step (which ``seed_everything`` seeded),
    so a seed still gives the same model. On a GPU, torch's own dropout is fast and is used."""

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout rate {p} is not in [0, 1)")
        self.p = p
        self._dropped = min(255, round(p * 256))  # of the 256 byte values, this many drop a number
        self._rng: np.random.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu":
            return F.dropout(x, self.p, True)
        if self._dropped == 0:  # a rate under 1/512
            return x
        if self._rng is None:
            self._rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))
        byte = np.frombuffer(self._rng.bytes(x.numel()), dtype=np.uint8).reshape(x.shape)
        keep = torch.from_numpy(byte >= self._dropped).to(x.dtype)  # a new array: writable, as torch wants
        return x * keep.mul_(256 / (256 - self._dropped))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class TabularNet(nn.Module):
    plr_index: torch.Tensor  # buffers: which numeric inputs are embedded, and which are flags
    flag_index: torch.Tensor
    additive: nn.Linear | None

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
        text_dim: int = TEXT_DIM,
        continuous: list[bool] | None = None,
        ensemble: int = 1,
        number_embedding: int = NUMBER_EMBEDDING,
        image_inputs: list[dict] | None = None,
        number_bins: int = 0,
        additive: bool = False,
    ) -> None:
        super().__init__()
        continuous = [False] * n_numeric if continuous is None else list(continuous)
        assert len(continuous) == n_numeric
        self.config: dict[str, Any] = dict(
            n_numeric=n_numeric,
            cardinalities=list(cardinalities),
            vocab_sizes=list(vocab_sizes),
            n_outputs=n_outputs,
            hidden=hidden,
            depth=depth,
            dropout=dropout,
            text_dim=text_dim,
            continuous=continuous,
            ensemble=ensemble,
            number_embedding=number_embedding,
            image_inputs=list(image_inputs or []),
        )
        self.k = ensemble
        self.n_outputs = n_outputs
        mask = torch.tensor(continuous, dtype=torch.bool)
        self.register_buffer("plr_index", torch.nonzero(mask).flatten(), persistent=False)
        self.register_buffer("flag_index", torch.nonzero(~mask).flatten(), persistent=False)
        n_plr = int(mask.sum())
        # the numbers' embeddings (named "plr" after the first kind): piecewise-linear when training
        # asks for bins, periodic for models saved before them (their config has no number_bins)
        self.plr: nn.Module | None = None
        if n_plr and number_embedding and number_bins:
            self.plr = PiecewiseLinearEmbeddings(n_plr, number_bins, number_embedding)
            self.config["number_bins"] = number_bins  # only then: older SheetDL versions read the rest
        elif n_plr and number_embedding:
            self.plr = PeriodicEmbeddings(n_plr, dim=number_embedding)
        self.embeddings = nn.ModuleList(nn.Embedding(c, embedding_dim(c)) for c in cardinalities)
        self.word_bags = nn.ModuleList(nn.EmbeddingBag(v, text_dim, mode="mean", padding_idx=0) for v in vocab_sizes)
        width = (n_plr * number_embedding if self.plr is not None else n_plr) + (n_numeric - n_plr)
        width += sum(embedding_dim(c) for c in cardinalities) + text_dim * len(vocab_sizes)
        self.images = nn.ModuleList(ImageBranch(spec) for spec in image_inputs or [])
        width += IMAGE_EMBEDDING * len(self.images)
        width = max(width, 1)
        # the additive path: one linear map from the inputs (each number's embedding, each category's,
        # words, pictures) straight to the output, added to every member's. Over piecewise-linear
        # embeddings that is a generalised additive model (a bent line per number, a weight per
        # category) beside the MLP; it starts at zero, so the MLP's start is unchanged
        self.additive = None
        if additive:
            self.additive = nn.Linear(width, n_outputs)
            nn.init.zeros_(self.additive.weight)
            nn.init.zeros_(self.additive.bias)
            self.config["additive"] = True  # only then: older SheetDL versions read the rest
        # TabM-mini: one scaling vector per member on the shared input, random signs
        self.scale = nn.Parameter(torch.randint(0, 2, (ensemble, width)).float() * 2 - 1) if ensemble > 1 else None
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU(), ByteDropout(dropout)]
            width = hidden
        self.trunk = nn.Sequential(*layers)
        bound = 1 / math.sqrt(width)
        self.head_weight = nn.Parameter(torch.empty(ensemble, width, n_outputs).uniform_(-bound, bound))
        self.head_bias = nn.Parameter(torch.empty(ensemble, n_outputs).uniform_(-bound, bound))

    def _inputs(self, numeric: torch.Tensor, categorical: torch.Tensor, text: torch.Tensor,
                images: tuple[torch.Tensor, ...] = (), image_embeddings: dict[int, torch.Tensor] | None = None
                ) -> torch.Tensor:
        parts = []
        if numeric.shape[1]:
            if self.plr is not None:
                parts.append(self.plr(numeric.index_select(1, self.plr_index)))
                parts.append(numeric.index_select(1, self.flag_index))
            else:
                parts.append(numeric)
        parts += [emb(categorical[:, i]) for i, emb in enumerate(self.embeddings)]
        parts += [bag(text[:, i, :]) for i, bag in enumerate(self.word_bags)]
        for i, branch in enumerate(self.images):
            given = (image_embeddings or {}).get(i)
            parts.append(given if given is not None else branch(images[i]))
        if not parts or sum(p.shape[1] for p in parts) == 0:  # no usable feature: learn the prior alone
            return torch.zeros(len(numeric), 1, device=numeric.device)
        return torch.cat(parts, dim=1)

    def members(self, numeric: torch.Tensor, categorical: torch.Tensor, text: torch.Tensor,
                *images: torch.Tensor, image_embeddings: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        """Each member's raw output, (B, k, n_outputs). ``image_embeddings`` replaces image branch
        ``i``'s output by a given tensor (Grad-CAM routes its own computation through it)."""
        x = self._inputs(numeric, categorical, text, images, image_embeddings)
        if self.scale is None:
            h = self.trunk(x)[:, None, :]
        else:
            h = self.trunk(x[:, None, :] * self.scale)
        out = torch.einsum("bkh,kho->bko", h, self.head_weight) + self.head_bias
        if self.additive is not None:
            out = out + self.additive(x)[:, None, :]
        return out

    def set_number_bins(self, values: np.ndarray) -> None:
        """Before training: the piecewise-linear embeddings' bins from the encoded training numbers
        (rows × all numeric inputs; the continuous ones are picked here)."""
        if isinstance(self.plr, PiecewiseLinearEmbeddings):
            columns = self.plr_index.cpu().numpy()
            self.plr.set_bins(quantile_edges(np.asarray(values)[:, columns], self.plr.n_bins))

    @property
    def image_branches(self) -> list[ImageBranch]:
        """The picture branches, one per picture column, typed as what they are."""
        return [cast(ImageBranch, branch) for branch in self.images]

    def optimizer_groups(self, lr: float) -> list[dict]:
        """Parameter groups for the optimiser: pretrained blocks being fine-tuned learn at
        ``TUNED_LR_SHARE`` of the rate, so the first steps of a fresh head don't wreck them."""
        tuned = [p for branch in self.image_branches for p in branch.tuned_parameters()]
        ids = {id(p) for p in tuned}
        rest = [p for p in self.parameters() if id(p) not in ids]
        groups = [{"params": rest, "lr": lr}]
        if tuned:
            groups.append({"params": tuned, "lr": lr * TUNED_LR_SHARE})
        return groups

    def start_from_pretrained(self) -> None:
        """Before training: fine-tuned picture blocks start from their pretrained values."""
        for branch in self.image_branches:
            branch.start_from_pretrained()

    def settle_tuned(self) -> None:
        """Rounds fine-tuned blocks' weights to float16 precision, as they are saved (half the model
        file), so the model predicts the same before saving and after loading."""
        with torch.no_grad():
            for branch in self.image_branches:
                if branch.block is not None:
                    for t in branch.block.state_dict().values():  # weights and batch-norm statistics
                        if t.is_floating_point():
                            t.copy_(t.half().float())

    def combine(self, out: torch.Tensor) -> torch.Tensor:
        """Members' outputs (B, k, n) → one output per row (log mean probability / mean number)."""
        if self.k == 1:
            return out[:, 0]
        if self.n_outputs > 1:
            return torch.logsumexp(torch.log_softmax(out, dim=-1), dim=1) - math.log(self.k)
        return out.mean(dim=1)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor, text: torch.Tensor,
                *images: torch.Tensor) -> torch.Tensor:
        return self.combine(self.members(numeric, categorical, text, *images))
