"""Connectivity kinds of a projection: Dense, Sparse, Conv2d, OneToOne.

Weights are floats in physical units or integers in the target's units. Integer weights may carry
Lava Dense's ``weight_exp``, ``num_weight_bits`` and ``sign_mode`` with exactly Lava's meaning
(../shared/reference/lava.md §3-4): the effective synaptic input is
``floor(sum_i w_i * s_i * 2**weight_exp)`` per projection and post-neuron, after Lava clips the
weights to 8 bits and truncates them to ``num_weight_bits``.

``num_message_bits`` (Lava's parameter of the same name on Dense/Sparse/Conv) says what the projection
reads from its source: ``0`` binary spikes (a graded source's payload counts as a spike when it is not
0), ``1..24`` graded payloads ``s_i`` (the integers the source sends; Lava's CPU models neither scale
nor truncate them by this width, it is the message width on the chip), ``None`` (default): derived
from the source, :data:`GRADED_MESSAGE_BITS` when its neuron model emits payloads (SigmaDelta,
Delta, Sigma), else 0 (see ``neurocomp.semantics.synapses.message_bits``).
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, fields

import numpy as np

from ._checks import as_float_array, as_int_array
from ..errors import ValidationError

#: Width of a graded message (Loihi 2 graded spikes; Lava's SDN ports are annotated 24-bit): the most a
#: projection's ``num_message_bits`` may ask for, and what ``None`` becomes for a graded source.
GRADED_MESSAGE_BITS = 24


class SignMode(enum.IntEnum):
    """Lava's ``SignMode`` values (weightutils.py)."""
    NULL = 0
    MIXED = 1
    EXCITATORY = 2
    INHIBITORY = 3


def determine_sign_mode(weights: np.ndarray) -> SignMode:
    """Lava's rule: excitatory if all >= 0, inhibitory if all <= 0, else mixed."""
    w = np.asarray(weights)
    if w.size == 0 or w.min() >= 0:
        return SignMode.EXCITATORY
    if w.max() <= 0:
        return SignMode.INHIBITORY
    return SignMode.MIXED


def _weights(value, where: str, narrow: bool = False) -> np.ndarray:
    """Integer dtypes stay integers (target units: int64, or with ``narrow`` int32 where they fit); anything
    else becomes finite float64."""
    raw = np.asarray(value)
    if raw.dtype.kind in "iub":
        return as_int_array(raw, where, "weights", narrow=narrow)
    return as_float_array(raw, where, "weights")


class Connectivity:
    """Common behaviour of connectivity kinds."""

    weights: np.ndarray
    weight_exp: int
    num_weight_bits: int
    sign_mode: SignMode | None
    num_message_bits: int | None

    @property
    def integer(self) -> bool:
        return self.weights.dtype.kind == "i"

    def _check_int_options(self, where: str):
        object.__setattr__(self, "weight_exp", int(as_int_array(self.weight_exp, where, "weight_exp", -16, 16)))
        object.__setattr__(self, "num_weight_bits",
                           int(as_int_array(self.num_weight_bits, where, "num_weight_bits", 1, 8)))
        if self.sign_mode is not None:
            try:
                mode = SignMode(self.sign_mode) if not isinstance(self.sign_mode, str) \
                    else SignMode[self.sign_mode.upper()]
            except (KeyError, ValueError):
                mode = SignMode.NULL
            if mode == SignMode.NULL:  # Lava's NULL is ambiguous (auto in some models, [0,255] in others)
                raise ValidationError(f"{where}: sign_mode {self.sign_mode!r} is not one of "
                                      "mixed/excitatory/inhibitory (or None: determined from the weights)")
            object.__setattr__(self, "sign_mode", mode)
        if self.num_message_bits is not None:
            object.__setattr__(self, "num_message_bits", int(as_int_array(
                self.num_message_bits, where, "num_message_bits", 0, GRADED_MESSAGE_BITS)))

    def _options(self, options: dict) -> dict:
        """``with_weights``' options: the message width is the projection's, not the weights', so it stays."""
        return {"num_message_bits": self.num_message_bits, **options}

    # ---- what every kind answers for itself (so no stage needs an isinstance chain over the kinds)
    def fit(self, n_pre: int, n_post: int, where: str) -> "Connectivity":
        """Check that the connectivity joins ``n_pre`` -> ``n_post`` neurons; returns it, normalised."""
        if tuple(self.shape) != (n_post, n_pre):
            raise ValidationError(f"{where}: shape mismatch: connectivity maps {self.shape[1]} -> {self.shape[0]} "
                                  f"neurons but the populations have {n_pre} -> {n_post}; weights are [n_post, n_pre]")
        return self

    def shape_delay(self, delay: np.ndarray, where: str) -> np.ndarray:
        """A per-synapse delay array in the layout of ``weights`` (one per stored weight)."""
        if delay.size != self.weights.size:
            raise ValidationError(f"{where}: {delay.size} per-synapse delays given for {self.weights.size} "
                                  "synapse slots; give a scalar or one per synapse")
        return delay.reshape(self.weights.shape)

    def post_index(self, n_post: int) -> np.ndarray:
        """The post neuron of every stored weight (``weights``' shape)."""
        raise NotImplementedError(type(self).__name__)

    def kernel_slices(self, n_post: int):
        """``(slice of each post neuron, weights per slice)`` where the weights are a kernel shared by many
        post neurons (a core that shares kernels stores each slice it uses once), else None."""
        return None

    def with_weights(self, weights, **options) -> "Connectivity":
        """The same connectivity with other weights (and integer options weight_exp, num_weight_bits,
        sign_mode): what the quantize pass returns."""
        raise NotImplementedError(type(self).__name__)

    def effective_sign_mode(self) -> SignMode:
        """The sign mode Lava's Dense would use: the given one, else determined from the weights."""
        return self.sign_mode if self.sign_mode is not None else determine_sign_mode(self.weights)

    def fields_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        for a, b in zip(self.fields_dict().values(), other.fields_dict().values()):
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if not (np.asarray(a).dtype.kind == np.asarray(b).dtype.kind and np.array_equal(a, b)):
                    return False
            elif a != b:
                return False
        return True

    def __hash__(self):
        return hash(type(self).__name__)


@dataclass(frozen=True, eq=False)
class Dense(Connectivity):
    """All-to-all weights, shape ``[n_post, n_pre]`` (Lava's convention): ``a = W @ s``."""
    weights: object
    weight_exp: int = 0
    num_weight_bits: int = 8
    sign_mode: object = None
    num_message_bits: object = None

    def __post_init__(self):
        w = _weights(self.weights, "Dense")
        if w.ndim != 2:
            raise ValidationError(f"Dense: weights must be 2-D [n_post, n_pre], got shape {w.shape}")
        object.__setattr__(self, "weights", w)
        self._check_int_options("Dense")

    @property
    def shape(self) -> tuple[int, int]:
        return self.weights.shape

    @property
    def n_synapses(self) -> int:
        return int(np.count_nonzero(self.weights))

    def post_index(self, n_post: int) -> np.ndarray:
        return np.broadcast_to(np.arange(n_post)[:, None], self.weights.shape)

    def with_weights(self, weights, **options) -> "Dense":
        return Dense(weights, **self._options(options))

    def __repr__(self):
        return f"Dense({self.shape[0]}x{self.shape[1]}, {self.weights.dtype})"


@dataclass(frozen=True, eq=False)
class Sparse(Connectivity):
    """Sparse weights in CSR form with rows = post neurons (Lava Sparse's csr_matrix layout).

    ``indptr`` (n_post + 1, int64), ``indices`` (pre index of each synapse), ``weights`` (one per synapse).
    ``indices`` and integer ``weights`` are int32 where their values fit, else int64: they are the bulk of a
    big network (8 bytes per synapse less at 100M synapses, held through the whole compile), so a reader
    that does arithmetic on them casts to int64 first (numpy's int32 products wrap silently).
    """
    indptr: object
    indices: object
    weights: object
    shape: tuple = (0, 0)
    weight_exp: int = 0
    num_weight_bits: int = 8
    sign_mode: object = None
    num_message_bits: object = None

    def __post_init__(self):
        where = "Sparse"
        n_post, n_pre = (int(s) for s in self.shape)
        if n_post <= 0 or n_pre <= 0:
            raise ValidationError(f"{where}: shape {self.shape} must be positive (n_post, n_pre)")
        indptr = as_int_array(self.indptr, where, "indptr", 0)
        indices = as_int_array(self.indices, where, "indices", 0, n_pre - 1, narrow=True)
        w = _weights(self.weights, where, narrow=True)
        if indptr.shape != (n_post + 1,) or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
            raise ValidationError(f"{where}: indptr must be non-decreasing, start at 0 and have n_post+1 = "
                                  f"{n_post + 1} entries (got {indptr.shape[0]})")
        if indices.shape != w.shape or indices.ndim != 1 or indptr[-1] != indices.size:
            raise ValidationError(f"{where}: indices ({indices.size}) and weights ({w.size}) must both have "
                                  f"indptr[-1] = {int(indptr[-1])} entries")
        object.__setattr__(self, "shape", (n_post, n_pre))
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "indices", indices)
        object.__setattr__(self, "weights", w)
        self._check_int_options(where)

    @classmethod
    def from_dense(cls, weights, **options) -> "Sparse":
        w = np.asarray(weights)
        post, pre = np.nonzero(w)
        indptr = np.zeros(w.shape[0] + 1, dtype=np.int64)
        np.add.at(indptr, post + 1, 1)
        return cls(np.cumsum(indptr), pre, w[post, pre], shape=w.shape, **options)

    @classmethod
    def from_coo(cls, post, pre, weights, shape, **options) -> "Sparse":
        """Build from (post, pre, weight) triplets; duplicate pairs are refused."""
        post = np.asarray(post, dtype=np.int64)
        pre = np.asarray(pre, dtype=np.int64)
        order = np.lexsort((pre, post))
        post, pre, w = post[order], pre[order], np.asarray(weights)[order]
        if post.size and np.any((np.diff(post) == 0) & (np.diff(pre) == 0)):
            raise ValidationError("Sparse: duplicate (post, pre) pairs; merge them into one synapse")
        indptr = np.zeros(int(shape[0]) + 1, dtype=np.int64)
        np.add.at(indptr, post + 1, 1)
        return cls(np.cumsum(indptr), pre, w, shape=tuple(shape), **options)

    def to_dense(self) -> np.ndarray:
        """The ``[n_post, n_pre]`` matrix, int64 or float64 (the dtypes of ``Dense``, whatever width is stored)."""
        out = np.zeros(self.shape, dtype=np.int64 if self.integer else np.float64)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        out[rows, self.indices] = self.weights
        return out

    @property
    def n_synapses(self) -> int:
        return int(self.indices.size)

    def post_index(self, n_post: int) -> np.ndarray:
        return np.repeat(np.arange(n_post), np.diff(self.indptr))

    def with_weights(self, weights, **options) -> "Sparse":
        return Sparse(self.indptr, self.indices, weights, shape=self.shape, **self._options(options))

    def __repr__(self):
        return f"Sparse({self.shape[0]}x{self.shape[1]}, nnz={self.n_synapses}, {self.weights.dtype})"


@dataclass(frozen=True, eq=False)
class Conv2d(Connectivity):
    """2-D convolution kept as a convolution, so weight sharing stays visible.

    NIR/PyTorch layout and meaning (cross-correlation): input ``(C_in, H, W)``, weights
    ``[C_out, C_in/groups, kh, kw]``, output ``(C_out, H_out, W_out)`` with
    ``H_out = (H + 2*pad_h - dil_h*(kh-1) - 1)//stride_h + 1``. Neurons are numbered in C-order of
    these shapes. (Lava's Conv uses (X, Y, C) and a flipped kernel; the Lava backend converts.)
    """
    weights: object
    input_shape: tuple
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1
    weight_exp: int = 0
    num_weight_bits: int = 8
    sign_mode: object = None
    num_message_bits: object = None

    def __post_init__(self):
        where = "Conv2d"
        w = _weights(self.weights, where)
        if w.ndim != 4:
            raise ValidationError(f"{where}: weights must be 4-D [C_out, C_in/groups, kh, kw], got {w.shape}")
        object.__setattr__(self, "weights", w)
        pair = lambda v, name, lo: tuple(int(x) for x in as_int_array(np.broadcast_to(v, (2,)), where, name, lo))
        object.__setattr__(self, "stride", pair(self.stride, "stride", 1))
        object.__setattr__(self, "padding", pair(self.padding, "padding", 0))
        object.__setattr__(self, "dilation", pair(self.dilation, "dilation", 1))
        object.__setattr__(self, "groups", int(self.groups))
        ishape = tuple(int(s) for s in self.input_shape)
        if len(ishape) != 3 or min(ishape) <= 0:
            raise ValidationError(f"{where}: input_shape must be (C_in, H, W) with positive sizes, got {ishape}")
        object.__setattr__(self, "input_shape", ishape)
        c_in = ishape[0]
        if self.groups < 1 or c_in % self.groups or w.shape[0] % self.groups or w.shape[1] * self.groups != c_in:
            raise ValidationError(
                f"{where}: weights {w.shape} with groups={self.groups} do not fit {c_in} input channels")
        if min(self.output_shape) <= 0:
            raise ValidationError(f"{where}: kernel {w.shape[2:]} is larger than the padded input {ishape[1:]}")
        self._check_int_options(where)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        _, h, w = self.input_shape
        kh, kw = self.weights.shape[2:]
        (sh, sw), (ph, pw), (dh, dw) = self.stride, self.padding, self.dilation
        return (self.weights.shape[0], (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1,
                (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1)

    @property
    def shape(self) -> tuple[int, int]:
        return int(np.prod(self.output_shape)), int(np.prod(self.input_shape))

    def to_sparse(self) -> Sparse:
        """The same map as explicit synapses (weight sharing expanded); zero weights are dropped."""
        c_out, h_out, w_out = self.output_shape
        c_in, h, w = self.input_shape
        cg_in = c_in // self.groups
        cg_out = c_out // self.groups
        kh, kw = self.weights.shape[2:]
        _check_expansion(c_out * cg_in * kh * kw * h_out * w_out, self)
        co, ci, a, b, yo, xo = np.meshgrid(np.arange(c_out), np.arange(cg_in), np.arange(kh), np.arange(kw),
                                           np.arange(h_out), np.arange(w_out), indexing="ij")
        y = yo * self.stride[0] - self.padding[0] + a * self.dilation[0]
        x = xo * self.stride[1] - self.padding[1] + b * self.dilation[1]
        cin = (co // cg_out) * cg_in + ci
        wv = self.weights[co, ci, a, b]
        keep = (y >= 0) & (y < h) & (x >= 0) & (x < w) & (wv != 0)
        post = ((co * h_out + yo) * w_out + xo)[keep]
        pre = ((cin * h + y) * w + x)[keep]
        return Sparse.from_coo(post, pre, wv[keep], self.shape, weight_exp=self.weight_exp,
                               num_weight_bits=self.num_weight_bits, sign_mode=self.sign_mode,
                               num_message_bits=self.num_message_bits)

    @property
    def n_synapses(self) -> int:
        return self.to_sparse().n_synapses

    def fit(self, n_pre: int, n_post: int, where: str) -> "Conv2d":
        super().fit(n_pre, n_post, where)
        if int(np.prod(self.input_shape)) != n_pre:
            raise ValidationError(f"{where}: Conv2d input_shape {self.input_shape} does not match source size {n_pre}")
        return self

    def shape_delay(self, delay: np.ndarray, where: str) -> np.ndarray:
        raise ValidationError(f"{where}: a Conv2d projection takes one scalar delay (weights are shared)")

    def kernel_slices(self, n_post: int):
        """Output channel of each post neuron, and the ``C_in/groups * kh * kw`` weights of its kernel."""
        c_out, h_out, w_out = self.output_shape
        return np.arange(n_post, dtype=np.int64) // (h_out * w_out), int(np.prod(self.weights.shape[1:]))

    def post_index(self, n_post: int) -> np.ndarray:
        """Output channel of every kernel weight (the kernel is shared over the output positions)."""
        return np.broadcast_to(np.arange(self.weights.shape[0])[:, None, None, None], self.weights.shape)

    def with_weights(self, weights, **options) -> "Conv2d":
        return Conv2d(weights, self.input_shape, self.stride, self.padding, self.dilation, self.groups,
                      **self._options(options))

    def __repr__(self):
        return f"Conv2d({self.input_shape}->{self.output_shape}, k={self.weights.shape[2:]}, s={self.stride})"


#: bytes the expansion of one Conv2d kernel position takes while it is built (index grids, masks, COO)
_EXPANSION_BYTES = 120


def _check_expansion(positions: int, conv) -> None:
    """Refuse, before any allocation, a Conv2d whose expansion into explicit synapses would not fit: the
    message names the size, the limit and how to raise it."""
    from ..safeio import RUN_MEMORY_FRACTION, available_memory, max_elements
    limit = max_elements()
    avail = available_memory()
    need = positions * _EXPANSION_BYTES
    if positions > limit or (avail > 0 and need > avail * RUN_MEMORY_FRACTION):
        raise ValidationError(
            f"Conv2d {conv.input_shape} -> {conv.output_shape} (kernel {tuple(conv.weights.shape)}): expanding it "
            f"into synapses visits {positions:,} kernel positions and needs ~{need / 2**30:,.1f} GiB; the limits "
            f"are {limit:,} positions (NEUROCOMP_MAX_ELEMENTS raises it) and "
            f"{RUN_MEMORY_FRACTION:.0%} of the available RAM ({avail / 2**30:,.1f} GiB). Use a smaller layer")


@dataclass(frozen=True, eq=False)
class OneToOne(Connectivity):
    """Neuron i of the source drives neuron i of the target with weight ``weights[i]`` (or a scalar)."""
    weights: object = 1.0
    weight_exp: int = 0
    num_weight_bits: int = 8
    sign_mode: object = None
    num_message_bits: object = None

    def __post_init__(self):
        w = _weights(self.weights, "OneToOne")
        if w.ndim > 1:
            raise ValidationError(f"OneToOne: weights must be a scalar or a vector, got shape {w.shape}")
        object.__setattr__(self, "weights", w)
        self._check_int_options("OneToOne")

    @property
    def n_synapses(self) -> int:
        return int(np.count_nonzero(self.weights))

    def fit(self, n_pre: int, n_post: int, where: str) -> "OneToOne":
        """Equal sizes; a scalar weight is stored per neuron (one synapse each)."""
        if n_pre != n_post:
            raise ValidationError(f"{where}: OneToOne needs equal sizes, got {n_pre} -> {n_post}")
        if self.weights.ndim == 1 and self.weights.size != n_pre:
            raise ValidationError(f"{where}: OneToOne has {self.weights.size} weights for {n_pre} neurons")
        if self.weights.ndim == 0:
            return dataclasses.replace(self, weights=np.full(n_pre, self.weights.item(), self.weights.dtype))
        return self

    def shape_delay(self, delay: np.ndarray, where: str) -> np.ndarray:
        if delay.size != self.weights.size:
            raise ValidationError(f"{where}: {delay.size} per-synapse delays given for {self.weights.size} "
                                  "synapse slots; give a scalar or one per synapse")
        return delay.reshape(-1)

    def post_index(self, n_post: int) -> np.ndarray:
        return np.arange(n_post) if self.weights.ndim else np.zeros((), dtype=np.int64)

    def with_weights(self, weights, **options) -> "OneToOne":
        return OneToOne(weights, **self._options(options))

    def to_sparse(self, n: int) -> Sparse:
        w = np.broadcast_to(self.weights, (n,))
        keep = np.nonzero(w)[0]
        return Sparse.from_coo(keep, keep, w[keep], (n, n), weight_exp=self.weight_exp,
                               num_weight_bits=self.num_weight_bits, sign_mode=self.sign_mode,
                               num_message_bits=self.num_message_bits)

    def __repr__(self):
        return f"OneToOne({self.weights.dtype})"


CONNECTIVITY: dict[str, type[Connectivity]] = {c.__name__: c for c in (Dense, Sparse, Conv2d, OneToOne)}
