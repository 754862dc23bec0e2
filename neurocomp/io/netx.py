"""Read a lava-dl netx HDF5 network (``network.net``, written by SLAYER's ``export_hdf5``) into the IR.

The reference for every rule below is what lava-dl's own loader (``lava.lib.dl.netx.hdf5.Network``,
lava-dl 0.x: ``hdf5.py``, ``blocks/process.py``, ``utils.py``) hands to lava-nc 0.10's processes: the
IR built here means exactly the process graph netx builds, so the emulator and the Lava backend
reproduce netx on Lava's ``fixed_pt`` models. Where netx refuses a layer (it raises
NotImplementedError for pool, average, concat) the rule used here is stated with the layer.

File layout (what netx reads)
-----------------------------
``/layer/0 .. /layer/{n-1}`` (consecutive integer names, read in numeric order), each a group with
``type`` (bytes) and ``shape`` (``[C, H, W]`` or ``[N]``, the reverse of Lava's ``(x, y, z)`` =
``(W, H, C)`` shapes), and per type: ``weight`` (float, integral values), ``bias``, ``delay``,
``stride``/``padding``/``dilation`` (``[h, w]`` or a scalar), ``groups``, ``weight_rec``, ``layers``
and a ``neuron`` group (``type`` = CUBA/LOIHI/SDNN/RF..., ``iDecay``, ``vDecay``, ``vThMant``,
``refDelay``, ``wgtExp``, ``messageBits``, ``sigma_output``, ``activation``). ``/simulation`` (``Ts``,
``tSample``) is recorded in the metadata only.

What becomes what
-----------------
=================  ==============================================================================
netx layer         IR
=================  ==============================================================================
``input``          the graph input ``input`` (shape = the layer's ``[C, H, W]``); if the layer has
                   a ``neuron`` group, also a population ``input0`` of that neuron (netx's Input
                   block) fed by ``input -> input0``, ``OneToOne`` integer weight 1 (Lava's
                   RingBuffer -> ``neuron.a_in``: a spike adds 1, a graded value v adds v). The
                   layer's ``weight``/``bias`` are netx's *input transform*, which netx only stores
                   (``in_layer.transform``) for the user's data pipeline: metadata, not synapses.
                   An SDNN input layer (Lava's ``Delta``) runs on the host instead (``sdnn_input=
                   "host"``, the default): no ``input0``; the graph input sends the Delta's payloads
                   (``messageBits`` wide) straight to the next layer, and
                   ``metadata["netx"]["input"]["encoder"]`` holds the Delta's parameters
                   (:mod:`neurocomp.io.netx_input` encodes frames with them).
``conv``           ``Conv2d`` (weights ``[C_out, C_in/groups, kh, kw]`` as stored: SLAYER stores
                   PyTorch's cross-correlation layout, the IR's; netx flips and transposes it into
                   Lava's ``(C_out, kx, ky, C_in)``, ``backends/lava/lower.py`` does the same) +
                   a population ``conv{i}`` of the stored shape ``(C, H, W)``.
``pool``           a ``Conv2d`` with ``groups = C`` and the stored pooling kernel on every channel
                   (SLAYER's Pool synapse), or the same map as ``Sparse`` when SLAYER's end padding
                   of odd sizes makes the output larger than a symmetric padding gives.
``dense``          ``Dense`` with netx's weight optimisation (see below) + population ``dense{i}``.
``dense_rec``      as ``dense`` plus a ``Dense`` self-projection ``dense_rec{i}.rec`` of
                   ``weight_rec``, both optimised together (one exponent), as netx does.
``flatten``        nothing: the IR's C-order of ``(C, H, W)`` is netx's
                   ``out.transpose([2, 1, 0]).flatten()`` of the ``(W, H, C)`` port.
``concat``         nothing: the next layer receives the previous layer followed by the layers
                   listed in ``layers`` (netx README: "a concatenate layer that connects to the
                   previous layer plus a list of non-sequential layers"; a list that names the
                   previous layer itself is taken as the whole, ordered list), concatenated along
                   channels; its weights are split into one projection per source (one exponent).
``average``        only as the last layer: dropped, its source is the output and
                   ``metadata["netx"]["readout"]`` says how to average it (no IR population can
                   hold a mean of spikes). Anywhere else refused.
``dense`` with     netx's ComplexDense block: two ``Dense`` projections ``{src}-{pop}.real`` (port 0,
``weight/real``,   Lava's ``a_real_in``) and ``.imag`` (port 1, ``a_imag_in``), each with its own
``weight/imag``    ``optimize_weight_bits``, into RF/RF_IZ neurons (SLAYER exports its complex dense
                   block so). Its ``delay`` is ignored with a warning, as netx's ComplexDense has none.
``dense_comp``     the same (lava-dl 0.x's own ``dense_comp`` branch calls a ``create_complex_dense``
                   that hdf5.py does not define, so netx fails on it; the layer means what SLAYER's
                   complex dense export means).
``convT``,         refused by name (netx raises NotImplementedError for them too), as is any other
``unpool``         type, and complex weights anywhere but a dense layer.
=================  ==============================================================================

Neurons (``neuron/type``):

* ``CUBA``/``LOIHI`` -> :class:`neurocomp.LoihiLIF` with ``du = iDecay - 1``, ``dv = vDecay``,
  ``vth = vThMant``, ``bias_mant = int(bias)`` (netx broadcasts a per-channel conv bias over H, W),
  ``bias_exp = 6`` (so a bias is in the same units as a weight: both are shifted left by 6).
  ``vThMant > 2**17`` is stored as ``2**17``: ``v`` saturates at ``2**23 - 1 < 2**17 << 6``, so
  neither ever spikes (SLAYER's affine readouts write ``2**18 - 1``). ``iDecay = 0`` gives
  ``du = -1`` (Lava's LIF then keeps ``u``: ``4096 - (du + 1) = 4096``) and ``vDecay = 4096`` gives
  ``dv = 4096`` (``v = u + bias``): LoihiLIF takes both, as Lava's LIF computes them (checked on Lava
  in ``tests/test_netx.py``); values beyond (``iDecay`` outside 0..4096, ``vDecay`` outside 0..4096)
  are refused by name. ``refDelay`` and ``wgtExp`` are ignored, as netx ignores them (a warning if
  they would matter). A dense layer without a ``neuron`` group gets netx's default (a CUBA
  integrator with ``iDecay = 0``, ``vDecay = 4096``).
* ``RF`` -> :class:`neurocomp.neurons.RF_IZ` and ``RF_PHASE`` -> :class:`neurocomp.neurons.RF` (netx:
  ``RF if "PHASE" in type else RF_IZ``), only on complex dense layers (netx wires real weights to
  ``a_in``, which Lava's RF lacks; complex weights into CUBA/SDNN neurons are refused likewise).
  SLAYER's ``neuron_params`` turns ``sinDecay``/``cosDecay`` (12 fractional bits) into ``period =
  1 / (atan2(s, c) / 2 pi)`` and ``decay = 1 - sqrt(s^2 + c^2)``; netx gives Lava ``vth = vThMant``,
  ``state_exp = 6``, ``decay_bits = 12``, and Lava's constructor turns these back into integer decays
  and ``vth << 6`` (``RF.from_period`` with the same float operations, so the same truncations).
  Other ``*RF*`` types (ADRF, ADRF_PHASE), which netx would run as plain RF, are refused by name.
* ``SDNN`` -> ``neurocomp.neurons.delta.Delta`` for the input layer, ``neurocomp.neurons.sigma.Sigma``
  where the neuron group has ``sigma_output``, else ``neurocomp.neurons.sigma_delta.SigmaDelta``,
  with Lava's constructor parameters: ``vth = vThMant``, ``bias = int(bias)``, ``act_mode = RELU``
  (netx never passes ``activation``; Lava's default), ``cum_error = False``,
  ``spike_exp = 6`` (netx's ``Network(spike_exp=6)``; :func:`read_netx` takes another),
  ``state_exp = 6``. Their message width (``messageBits``, default 16) is in the metadata.

Weights and delays:

* Dense (and dense_rec, concat splits): netx's ``optimize_weight_bits`` (``utils.py``): with
  ``s = floor(log2(scale)) + is_mixed`` (scale = 255/max, -256/min or min(127/max, -128/min) for
  excitatory, inhibitory, mixed) the IR weights are ``w << s``, ``weight_exp = -s``,
  ``num_weight_bits = 8 - s - n`` (``n``: trailing zero bits common to all weights, minus 1 if
  mixed), ``sign_mode`` left to Lava's rule on the process's weights, as netx passes none (the
  column blocks of a concat's split get the sign mode of the whole matrix, one Lava Dense).
  Lava then clips and truncates exactly as the IR's Dense semantics say.
* Conv and pool weights are passed raw (netx gives Lava's Conv no exponent). The IR keeps them raw
  whenever Lava's Conv would (always for SLAYER's even weights); odd mixed-sign weights (which
  the IR's 8-bit truncation would change) become ``2*w`` with ``weight_exp = -1``, the same sums.
* ``delay`` (dense only, as in netx): a scalar, one per output neuron (tried first, as netx
  does), one per input, or a full matrix; values above 62 are clipped to 62 with a warning (netx
  does the same), cast with ``int``. netx ignores a conv layer's ``delay``: so does this reader,
  with a warning.
* ``weight`` and ``bias`` are cast with ``astype(int)`` like netx's ``NetDict`` (a warning if a
  value was not integral).

Inputs and step alignment
-------------------------
Lava order is ``(W, H, C)`` per neuron and ``(..., T)`` with time last (``input.npy`` files of
lava-dl are ``(W, H, C, T)``); neurocomp inputs are ``[T, C, H, W]``: use :func:`from_lava`
(``x.transpose(3, 2, 1, 0)``) and :func:`to_lava` for the way back (recorded ``[T, n]`` rows of a
population of shape ``(C, H, W)`` become ``(W, H, C, T)``).

Every IR projection has Lava's one-step synaptic latency, so inside the network the IR steps are
Lava's steps. Only the way in differs: lava-dl feeds the input layer by connecting a RingBuffer
straight to ``in_layer.neuron.a_in`` (column t arrives at step t + 1, no latency), while an IR graph
input reaches ``input0`` through a projection (row t arrives at step t + 2). So an input row reaches
every population one step later than the same column does in Lava; a network whose input layer is
driven by its bias instead (lava-dl's tinynet test sets ``bias_mant``) runs step for step.
``metadata["netx"]["input_latency"]`` is that one extra step (0 when an SDNN input layer runs on the host).

SDNN networks (an input layer of Lava's ``Delta``) take their frames with ``sdnn_input="host"`` (the
default): the Delta runs on the host (:func:`neurocomp.io.netx_input.netx_inputs`, the registered Delta
spec, bit-exact with Lava's), so row t-1 of the graph input is what netx's Delta sends at step t and
reaches the next layer at step t + 1 through the same one-step synapse as in netx: every population
runs step for step with netx (lava-dl's PilotNet SDNN ground truth is reproduced exactly,
``tests/test_netx_sdnn.py``). This is also how Intel runs PilotNet SDNN on Loihi 2 (the lava-dl
tutorial builds the network with ``skip_layers=1`` and feeds it from a Delta encoder process).
``sdnn_input="chip"`` keeps the Delta as population ``input0``, one step behind netx as above: not
an exact shift, as each SigmaDelta layer's bias acts from step 1 on either way.

Running as lava-dl's tests and tutorials do: :func:`with_bias` drives a CUBA input layer by its
bias (``net.in_layer.neuron.bias_mant.init = frame``); :func:`hold_at_rest` reproduces their reset of
layer L after step L (``io.reset.Reset(interval, offset=L - 1)`` on u and v, L = the layer's position
in netx's block list, :func:`layer_positions`) through an initial ``v0``, where one exists (a
negative bias held for several steps can need a ``v`` above threshold: then it refuses); the later
resets (step L + interval) are not expressed. A netx file itself holds no reset interval (netx's
``get_neuron_params`` reads only ``vThMant``, ``iDecay``, ``vDecay``; the resets are separate
``io.reset.Reset`` processes of the test harness), so nothing in the file maps to ``LIFReset``; netx's own
``Network(reset_interval=, reset_offset=)`` arguments do (every CUBA layer becomes Lava's ``LIFReset``, the
block at position L with offset ``reset_offset + 1 + L``, as lava-dl's MNIST tutorial runs it):
:func:`read_netx` takes the same two. SLAYER's ground-truth index j of
layer L is step j + L.


``net.metadata``: ``{"format": "netx", "source", "netx": {"layers": [per layer: id, type,
population, neuron, lava_shape, message_bits], "input": {name, population, lava_shape, transform[, encoder]},
"output", "readout", "simulation", "spike_exp", "reset" ({reset_interval, reset_offset} or None),
"input_latency"}, "warnings"}``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import NetworkFileError, NeurocompError
from ._warn import CollectedWarnings
from ..ir import Conv2d, Dense, LoihiLIF, Network, OneToOne, Sparse
from ..ir.connectivity import GRADED_MESSAGE_BITS, SignMode, determine_sign_mode
from ..semantics.fixedpoint import clip_weights, effective_weights

#: Layer types this reader understands (``average`` only as the last layer).
LAYER_TYPES = ("input", "flatten", "dense", "dense_rec", "dense_comp", "conv", "pool", "concat", "average")
#: Layer types refused by name, with what to do.
REFUSED_LAYERS = {
    "convT": "a transposed convolution, which neither netx (NotImplementedError in lava-dl's hdf5.py) nor the "
             "neurocomp IR implements; replace it by an upsampling + conv block in SLAYER and export again",
    "unpool": "an unpooling layer, which neither netx (NotImplementedError in lava-dl's hdf5.py) nor the "
              "neurocomp IR implements; replace it by a conv block in SLAYER and export again",
}
CUBA_TYPES = ("CUBA", "LOIHI")
#: netx's resonate-and-fire neuron types -> neurocomp model (netx: ``RF if "PHASE" in type else RF_IZ``).
RF_TYPES = {"RF": "RF_IZ", "RF_PHASE": "RF"}
#: netx's fixed RF exponents (hdf5.py get_neuron_params) and SLAYER's decay scale (``p_scale``, 12 bits).
RF_STATE_EXP = 6
RF_DECAY_BITS = 12
RF_P_SCALE = 1 << 12
SDNN_TYPE = "SDNN"
#: netx's fixed exponents: LIF ``bias_exp``, SDNN ``state_exp``, default SDNN ``spike_exp``.
BIAS_EXP = 6
STATE_EXP = 6
SPIKE_EXP = 6
#: netx clips delays to this (Lava's DelayDense ``max_delay=62``).
MAX_DELAY = 62
#: Message bits netx gives SDNN layers without ``messageBits`` (CUBA: 0, binary spikes).
SDNN_MESSAGE_BITS = 16
#: LoihiLIF's largest vth; any larger vth never spikes either (v saturates at 2**23 - 1).
VTH_NEVER = 2 ** 17
#: netx's default neuron for a dense layer without a ``neuron`` group (hdf5.py create_dense).
DEFAULT_DENSE_NEURON = {"type": "CUBA", "iDecay": 0, "vDecay": 4096, "vThMant": 1 << 17, "refDelay": 1}
#: Name of the graph input.
INPUT = "input"
#: How many steps later an input row reaches the input layer than a RingBuffer column does in Lava.
INPUT_LATENCY = 1
#: Where an SDNN input layer (Delta) can run (:func:`read_netx`'s ``sdnn_input``).
SDNN_INPUTS = ("host", "chip")


# ------------------------------------------------------------------------------------- layout helpers
def from_lava(x) -> np.ndarray:
    """Lava's ``(W, H, C, T)`` (or ``(N, T)``) array -> neurocomp's ``[T, C, H, W]`` (``[T, N]``)."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise NetworkFileError(f"from_lava: array of shape {x.shape} has no time axis; give (W, H, C, T) or (N, T)")
    return np.ascontiguousarray(x.transpose(tuple(range(x.ndim - 1, -1, -1))))


def to_lava(x, shape=None) -> np.ndarray:
    """neurocomp's ``[T, *shape]`` (or ``[T, n]`` rows with ``shape`` given, e.g. a recorded population
    ``(C, H, W)``) -> Lava's ``(W, H, C, T)`` / ``(N, T)``."""
    x = np.asarray(x)
    if shape is not None:
        x = x.reshape((x.shape[0], *tuple(shape)))
    return np.ascontiguousarray(x.transpose(tuple(range(x.ndim - 1, -1, -1))))


# ------------------------------------------------------------------------------------- file access
def _decode(value) -> str:
    v = np.asarray(value)
    if v.ndim:
        if v.size == 0:
            return ""
        v = v.reshape(-1)[0]
    else:
        v = v[()]
    if isinstance(v, bytes):
        v = v.decode("ascii", "replace")
    return str(v).strip("\x00").strip()


@dataclass
class _Layer:
    id: int
    type: str
    group: object
    where: str
    pop: str | None = None          # population name (None: flatten / concat / average / neuron-less input)
    shape: tuple = ()               # IR shape of what the layer outputs
    lava_shape: tuple = ()          # netx's shape of it (W, H, C) / (n,)
    info: dict = field(default_factory=dict)


class _File:
    """An open netx file with readers that name the file, the layer and the key in every refusal."""

    def __init__(self, path: Path, h5):
        self.path = path
        self.h5 = h5

    def fail(self, where: str, msg: str) -> NetworkFileError:
        return NetworkFileError(f"'{self.path}': {where}: {msg}")

    def has(self, group, key: str) -> bool:
        try:
            return key in group
        except Exception:
            return False

    def get(self, group, key: str, where: str, what: str = ""):
        if not self.has(group, key):
            hint = f" ({what})" if what else ""
            raise self.fail(where, f"has no '{key}'{hint}; the file is truncated or not written by netx/SLAYER's "
                                   "export_hdf5")
        obj = group[key]
        if not hasattr(obj, "dtype"):
            raise self.fail(where, f"'{key}' is a group, not a dataset")
        try:
            return obj[()]
        except Exception as exc:
            raise self.fail(where, f"'{key}' cannot be read ({type(exc).__name__}: {exc}); the file is truncated "
                                   "or corrupt") from None

    def text(self, group, key: str, where: str) -> str:
        return _decode(self.get(group, key, where))

    def array(self, group, key: str, where: str, what: str = "") -> np.ndarray:
        raw = np.asarray(self.get(group, key, where, what))
        if raw.dtype.kind not in "biuf":
            raise self.fail(where, f"'{key}' has dtype {raw.dtype}; numbers expected")
        if raw.dtype.kind == "f" and not np.all(np.isfinite(raw)):
            raise self.fail(where, f"'{key}' has NaN/inf values")
        return raw

    def ints(self, group, key: str, where: str, warn=None, what: str = "") -> np.ndarray:
        """netx's ``NetDict`` copy: ``astype(int)`` (truncation toward 0), warning if that changed a value."""
        raw = self.array(group, key, where, what)
        out = raw.astype(np.int64)
        if warn is not None and raw.dtype.kind == "f" and np.any(out != raw):
            warn(f"'{self.path}': {where}: '{key}' has non-integral values; truncated toward 0 as netx does")
        return out

    def integer(self, group, key: str, where: str, what: str = "") -> int:
        raw = self.array(group, key, where, what).reshape(-1)
        if raw.size != 1:
            raise self.fail(where, f"'{key}' has {raw.size} values; one number expected")
        v = raw[0]
        if float(v) != int(v):
            raise self.fail(where, f"'{key}' = {v} must be an integer")
        return int(v)

    def pair(self, group, key: str, where: str, default: int) -> tuple[int, int]:
        """A conv/pool geometry entry: stored ``[h, w]`` (netx reverses it into Lava's (x, y)) or a scalar."""
        if not self.has(group, key):
            return (default, default)
        v = self.array(group, key, where).reshape(-1)
        if v.size == 1:
            v = np.repeat(v, 2)
        if v.size != 2 or np.any(v != np.round(v)):
            raise self.fail(where, f"'{key}' = {v.tolist()} must be one or two integers ([h, w])")
        return int(v[0]), int(v[1])


def is_netx(path) -> bool:
    """True if ``path`` is an HDF5 file laid out as a netx network (a ``layer`` group whose members
    are numbered groups with a ``type``)."""
    import h5py
    try:
        if not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r") as f:
            layer = f.get("layer")
            if not isinstance(layer, h5py.Group) or len(layer) == 0:
                return False
            first = layer.get("0")
            return isinstance(first, h5py.Group) and "type" in first
    except Exception:
        return False


# ------------------------------------------------------------------------------------- weights
def netx_weight_bits(weight: np.ndarray, where: str = "", warn=None) -> tuple[np.ndarray, int, int]:
    """netx's ``optimize_weight_bits`` (lava-dl ``netx/utils.py``), restated: the integer weights
    ``w << s``, ``num_weight_bits`` and ``weight_exp = -s`` netx gives Lava's Dense.

    All-zero weights (where netx divides by zero) give ``(w, 8, 0)``: the input is 0 either way.
    """
    w = np.asarray(weight, dtype=np.int64)
    hi, lo = int(w.max()), int(w.min())
    if (hi > 254 and lo < 0) or (lo < -256 and hi > 0):
        if warn is not None:
            warn(f"{where}: weights in [{lo}, {hi}] do not fit Loihi's 8-bit synapse; clipped to [-256, 254] as "
                 "netx does")
        w = np.clip(w, -256, 254)
        hi, lo = int(w.max()), int(w.min())
    if hi == 0 and lo == 0:
        return w, 8, 0
    if hi < 0:                                   # inhibitory
        scale, signed = -256.0 / lo, 0
    elif lo >= 0:                                # excitatory
        scale, signed = 255.0 / hi, 0
    else:                                        # mixed
        scale = min(127.0 / hi if hi > 0 else np.inf, -128.0 / lo)
        signed = 1
    bits = int(np.floor(np.log2(scale))) + signed
    n = 8
    while n > 0 and np.any(w % (1 << n)):        # largest n with every weight a multiple of 2**n
        n -= 1
    n -= signed
    return w << bits if bits >= 0 else w >> -bits, 8 - bits - n, -bits


def _dense_options(w: np.ndarray, nwb: int, exp: int, where: str, path: Path) -> tuple[int, int]:
    """The IR's (num_weight_bits, weight_exp) meaning what Lava's Dense does with netx's (w, nwb, exp).

    netx's ``num_weight_bits`` can leave 1..8 (odd mixed-sign weights above 127 give 9); Lava then
    drops ``k = 8 - nwb + mixed`` low bits of the clipped weights. Keep nwb when in range, else use
    the in-range value with the same effective weights, else refuse."""
    if 1 <= nwb <= 8:
        return nwb, exp
    mode = determine_sign_mode(w)
    k = 8 - nwb + int(mode == SignMode.MIXED)
    if k >= 0:
        sign = -1 if mode == SignMode.INHIBITORY else 1
        lava = clip_weights(w, mode, 8)
        lava = sign * ((sign * lava >> k) << k)
        for cand in range(8, 0, -1):
            if np.array_equal(effective_weights(w, mode, cand), lava):
                return cand, exp
    raise NetworkFileError(f"'{path}': {where}: netx gives these weights num_weight_bits = {nwb}, which Lava's "
                           "Dense truncates in a way no 1..8-bit setting reproduces; quantize the layer's weights "
                           "to even 8-bit values (SLAYER's default) and export again")


def _conv_weights(w: np.ndarray, where: str, path: Path) -> tuple[np.ndarray, int]:
    """Raw conv/pool weights (netx passes them to Lava's Conv unchanged) as IR (weights, weight_exp)."""
    if np.array_equal(effective_weights(w, None, 8), w):
        return w, 0
    w2 = 2 * w
    if np.array_equal(effective_weights(w2, None, 8), w2):
        return w2, -1                            # odd mixed-sign weights: 2w >> 1 == w, exactly
    raise NetworkFileError(f"'{path}': {where}: weights in [{int(w.min())}, {int(w.max())}] do not fit Loihi's "
                           "8-bit synapse (Lava's Conv would use them unclipped); quantize them to 8 bits and "
                           "export again")


# ------------------------------------------------------------------------------------- the reader
def read_netx(path, *, spike_exp: int = SPIKE_EXP, sdnn_input: str = "host", reset_interval: int | None = None,
              reset_offset: int = 0) -> Network:
    """Read netx HDF5 file ``path`` into an IR ``Network`` (see the module docstring for the mapping).

    ``spike_exp`` is netx's ``Network(spike_exp=...)`` for SDNN layers (default 6, as netx).
    ``reset_interval``/``reset_offset`` are netx's ``Network(reset_interval=..., reset_offset=...)``: every
    CUBA/LOIHI layer becomes :class:`~neurocomp.neurons.LIFReset` (netx's ``LIFReset``), as lava-dl's MNIST
    tutorial runs its network, with netx's staggered phase: the block at position L of netx's block list
    (:func:`layer_positions`) gets ``reset_offset + 1 + L`` ("time starts from 1 in hardware", then one step
    per layer of pipeline). SDNN and RF layers ignore them with a warning (netx warns for SDNN).
    ``sdnn_input``: where an SDNN input layer (Lava's Delta) runs: ``"host"`` (default) encodes the frames
    before the run (:func:`neurocomp.io.netx_input.netx_inputs`), which keeps netx's timing exactly;
    ``"chip"`` makes it a population ``input0`` one step behind netx (module docstring, step alignment).
    Raises NetworkFileError naming the file and the layer for anything it cannot read or express.
    """
    if sdnn_input not in SDNN_INPUTS:
        raise NeurocompError(f"read_netx: sdnn_input must be one of {SDNN_INPUTS}, got {sdnn_input!r}")
    reset = _reset_schedule(reset_interval, reset_offset)
    import h5py
    path = Path(path)
    if not path.exists():
        raise NetworkFileError(f"netx file '{path}' does not exist; check the path")
    if not path.is_file():
        raise NetworkFileError(f"netx path '{path}' is not a file")
    try:
        if not h5py.is_hdf5(path):
            size = path.stat().st_size
            lfs = _lfs_pointer(path)
            if lfs:
                raise NetworkFileError(f"'{path}' is a Git LFS pointer ({lfs}), not the network itself: fetch the "
                                       "file with `git lfs pull` in the repository it came from (lava-dl keeps "
                                       "some networks, e.g. tests/.../netx/mnist.net, in Git LFS)")
            what = "is empty" if size == 0 else "is not an HDF5 file"
            raise NetworkFileError(f"'{path}' {what}; a lava-dl netx network (.net, HDF5) is expected")
        f = h5py.File(path, "r")
    except NeurocompError:
        raise
    except Exception as exc:
        raise NetworkFileError(f"'{path}' cannot be opened as HDF5 ({type(exc).__name__}: {exc}); the file is "
                               "truncated or corrupt") from None
    warn = CollectedWarnings()
    try:
        with f:
            return _Builder(_File(path, f), warn, int(spike_exp), sdnn_input, reset).build()
    except NeurocompError:
        raise
    except Exception as exc:     # h5py raises OSError/KeyError/ValueError for damaged data inside an open file
        raise NetworkFileError(f"'{path}': damaged or truncated netx file ({type(exc).__name__}: {exc})") from None


def _lfs_pointer(path: Path) -> str:
    """``"oid sha256:..., size N"`` when ``path`` is a Git LFS pointer file (what a clone without git-lfs
    holds in place of a large file), else ``""``."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if not head.startswith(b"version https://git-lfs.github.com/spec/"):
        return ""
    fields = dict(line.split(" ", 1) for line in head.decode("ascii", "replace").splitlines() if " " in line)
    return f"oid {fields.get('oid', '?')}, size {fields.get('size', '?')} bytes"


def _reset_schedule(interval, offset) -> dict | None:
    """netx's ``reset_interval``/``reset_offset`` checked as Lava's LIFReset checks them (None: no reset)."""
    if interval is None:
        return None
    for name, val, low in (("reset_interval", interval, 1), ("reset_offset", offset, 0)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < low:
            raise NeurocompError(f"read_netx: {name} must be an integer >= {low}, got {val!r} (netx's "
                                 f"Network({name}=...); Lava's LIFReset takes the same)")
    return {"reset_interval": int(interval), "reset_offset": int(offset)}


class _Builder:
    def __init__(self, file: _File, warn, spike_exp: int, sdnn_input: str = "host", reset: dict | None = None):
        self.f = file
        self.reset = reset                  # netx's reset_interval/reset_offset (None: plain LIF)
        self.path = file.path
        self.warn = warn
        self.spike_exp = spike_exp
        self.sdnn_input = sdnn_input
        self.layers: list[_Layer] = []
        self.net = Network(self.path.stem or "netx")
        self.meta_layers: list[dict] = []
        self.input_meta: dict = {"name": INPUT, "population": None, "transform": None}
        self.input_bits = 0                 # message bits of the graph input (a host-run Delta's payloads)
        self.readout = None

    # ------------------------------------------------------------------ pass 1: layers and shapes
    def _scan(self) -> None:
        import h5py
        f = self.f
        root = f.h5.get("layer")
        if not isinstance(root, h5py.Group):
            raise NetworkFileError(f"'{self.path}' is an HDF5 file but not a netx network (no 'layer' group); "
                                   "give a file written by SLAYER's export_hdf5 (lava-dl)")
        names = list(root.keys())
        if not names:
            raise NetworkFileError(f"'{self.path}': the 'layer' group is empty; the file holds no network")
        bad = [n for n in names if not n.isdigit()]
        if bad:
            raise NetworkFileError(f"'{self.path}': 'layer' holds {bad}, not numbered layers 0..n-1; the file is not "
                                   "a netx network")
        ids = sorted(int(n) for n in names)
        if ids != list(range(len(ids))):
            missing = sorted(set(range(ids[-1] + 1)) - set(ids))
            raise NetworkFileError(f"'{self.path}': layers {missing} are missing (found {ids}); netx numbers layers "
                                   "0..n-1 without gaps; the file is truncated or edited")
        for i in ids:
            group = root[str(i)]
            where = f"layer {i}"
            if not isinstance(group, h5py.Group):
                raise f.fail(where, "is not a group")
            ltype = f.text(group, "type", where)
            where = f"layer {i} ('{ltype}')"
            if ltype in REFUSED_LAYERS:
                raise f.fail(where, f"is {REFUSED_LAYERS[ltype]}")
            if ltype not in LAYER_TYPES:
                raise f.fail(where, f"has type '{ltype}', which netx does not define; supported layer types: "
                                    f"{', '.join(LAYER_TYPES)} (refused: {', '.join(REFUSED_LAYERS)}). Replace "
                                    "the layer and export again")
            lay = _Layer(i, ltype, group, where)
            if f.has(group, "weight") and not hasattr(group["weight"], "dtype"):
                if ltype not in ("dense", "dense_comp"):
                    raise f.fail(where, "has complex weights ('weight/real', 'weight/imag'), which netx reads for "
                                        "dense layers only; make it a dense layer")
                lay.info["complex"] = True
            elif ltype == "dense_comp":
                raise f.fail(where, "is a complex dense layer without 'weight/real' and 'weight/imag'; export it "
                                    "with SLAYER's complex dense block")
            self.layers.append(lay)
        for lay in self.layers:
            self._shape_of(lay)

    def _stored_shape(self, lay: _Layer) -> tuple:
        shp = self.f.array(lay.group, "shape", lay.where).reshape(-1)
        if shp.size == 0 or np.any(shp <= 0) or np.any(shp != np.round(shp)):
            raise self.f.fail(lay.where, f"'shape' = {shp.tolist()} must be positive integers")
        return tuple(int(s) for s in shp)

    def _shape_of(self, lay: _Layer) -> None:
        t = lay.type
        if t in ("flatten", "concat", "average"):
            return
        stored = self._stored_shape(lay)
        if t == "input":
            if lay.id != 0:
                raise self.f.fail(lay.where, "is an input layer that is not layer 0; netx networks have one input "
                                             "layer, first")
            lay.shape = stored
            lay.lava_shape = stored[::-1]
            if self.f.has(lay.group, "neuron"):
                lay.pop = f"input{lay.id}"
                if self.sdnn_input == "host" and self._neuron_cfg(lay)["type"] == SDNN_TYPE:
                    lay.pop = None             # its Delta runs on the host: the graph input carries its payloads
                    lay.info["host_encoder"] = True
        elif t in ("conv", "pool"):
            if len(stored) != 3:
                raise self.f.fail(lay.where, f"'shape' = {list(stored)} must be [C, H, W]")
            lay.shape, lay.lava_shape, lay.pop = stored, stored[::-1], f"{t}{lay.id}"
        else:   # dense, dense_rec, dense_comp
            n = int(np.prod(stored))
            lay.shape, lay.lava_shape, lay.pop = (n,), (n,), f"{t}{lay.id}"

    # ------------------------------------------------------------------ what a layer hands to the next
    def _segments(self, i: int, seen=()) -> list[tuple[str, tuple]]:
        """(population or graph input, IR shape) pieces that layer ``i`` outputs, in order."""
        if i in seen:
            chain = " -> ".join(str(k) for k in (*seen, i))
            raise NetworkFileError(f"'{self.path}': layers {chain} form a loop of flatten/concat layers without a "
                                   "neuron layer; such a loop has no meaning")
        lay = self.layers[i]
        if lay.pop is not None:
            return [(lay.pop, lay.shape)]
        if lay.type == "input":
            return [(INPUT, lay.shape)]
        if i == 0:
            raise self.f.fail(lay.where, "is the first layer but gives no input; start the network with an input "
                                         "layer (its 'shape' is the input shape)")
        if lay.type == "flatten":
            segs = [(name, (int(np.prod(shape)),)) for name, shape in self._segments(i - 1, (*seen, i))]
            n = sum(s[0] for _, s in segs)
            if self.f.has(lay.group, "shape"):
                stored = int(np.prod(self._stored_shape(lay)))
                if stored != n:
                    raise self.f.fail(lay.where, f"'shape' has {stored} values but the layer before gives {n}")
            return segs
        if lay.type == "concat":
            return self._concat(lay, seen)
        raise self.f.fail(lay.where, "is not the last layer; netx's 'average' (SLAYER's mean over groups, no "
                                     "neurons) can only be read as the network's readout")

    def _concat(self, lay: _Layer, seen) -> list:
        ids = self.f.ints(lay.group, "layers", lay.where, what="the ids of the layers it concatenates").reshape(-1)
        ids = [int(k) for k in ids]
        srcs = ids if (lay.id - 1) in ids else [lay.id - 1] + ids
        for k in srcs:
            if not 0 <= k < len(self.layers) or k == lay.id:
                raise self.f.fail(lay.where, f"'layers' names layer {k}, which is not another layer of this network "
                                             f"(0..{len(self.layers) - 1})")
        segs = []
        for k in srcs:
            segs += self._segments(k, (*seen, lay.id))
        if self.f.has(lay.group, "shape"):
            stored = self._stored_shape(lay)
            total = sum(int(np.prod(s)) for _, s in segs)
            if int(np.prod(stored)) != total:
                raise self.f.fail(lay.where, f"'shape' {list(stored)} holds {int(np.prod(stored))} values but layers "
                                             f"{srcs} give {total}")
        return segs

    # ------------------------------------------------------------------ neurons
    def _neuron_cfg(self, lay: _Layer) -> dict | None:
        f = self.f
        if not f.has(lay.group, "neuron"):
            return None
        g = lay.group["neuron"]
        where = f"{lay.where} neuron"
        cfg = {"type": f.text(g, "type", where)}
        for key in g.keys():
            if key == "type":
                continue
            obj = g[key]
            if not hasattr(obj, "dtype"):
                continue
            val = obj[()]
            cfg[key] = _decode(val) if np.asarray(val).dtype.kind in "SOU" else np.asarray(val)
        return cfg

    def _int_param(self, cfg: dict, key: str, where: str) -> int:
        if key not in cfg:
            raise NetworkFileError(f"'{self.path}': {where}: neuron has no '{key}' (netx reads it for "
                                   f"{cfg['type']} neurons); the file is truncated or not a netx file")
        v = np.asarray(cfg[key]).reshape(-1)
        if v.size != 1 or v.dtype.kind not in "biuf" or float(v[0]) != int(v[0]):
            raise NetworkFileError(f"'{self.path}': {where}: neuron '{key}' = {cfg[key]!r} must be one integer")
        return int(v[0])

    def _bias(self, lay: _Layer, n: int):
        """netx's ``AbstractBlock._neuron`` bias broadcasting, in IR (C, H, W) order; 0 without a bias."""
        if not self.f.has(lay.group, "bias"):
            return 0
        b = self.f.ints(lay.group, "bias", lay.where, self.warn)
        lava = lay.lava_shape
        if len(lava) == 1:
            if b.size not in (1, n):
                raise self.f.fail(lay.where, f"'bias' has {b.size} values for {n} neurons")
            out = b.reshape(-1)
        elif list(b.shape) == list(lava):                  # per neuron, Lava (W, H, C)
            out = b.transpose(tuple(range(b.ndim - 1, -1, -1))).reshape(-1)
        elif b.ndim == 1 and b.shape[0] == lava[-1]:      # per channel (the last Lava axis)
            out = np.repeat(b, int(np.prod(lava[:-1])))
        else:
            raise self.f.fail(lay.where, f"'bias' of shape {list(b.shape)} cannot be broadcast to the neurons "
                                         f"(Lava shape {list(lava)}): give one per channel or one per neuron")
        if out.size > 1 and np.all(out == out[0]):
            return int(out[0])
        return int(out[0]) if out.size == 1 else out

    def _model(self, lay: _Layer, cfg: dict | None, is_input: bool = False):
        n = int(np.prod(lay.shape))
        where = lay.where
        if cfg is None:
            cfg = dict(DEFAULT_DENSE_NEURON)
            where = f"{lay.where} (no 'neuron' group: netx's default CUBA integrator)"
        ntype = str(cfg["type"])
        info = {"neuron": ntype}
        if lay.info.get("complex") and ntype in (*CUBA_TYPES, SDNN_TYPE):
            raise NetworkFileError(f"'{self.path}': {where}: complex weights ('weight/real', 'weight/imag') into "
                                   f"{ntype} neurons: netx's ComplexDense feeds a_real_in/a_imag_in, which only "
                                   f"resonate-and-fire neurons have; give the layer {' or '.join(RF_TYPES)} neurons")
        bias = 0 if is_input else self._bias(lay, n)
        if ntype in CUBA_TYPES:
            idecay = self._int_param(cfg, "iDecay", where)
            vdecay = self._int_param(cfg, "vDecay", where)
            vth = self._int_param(cfg, "vThMant", where)
            du, dv = idecay - 1, vdecay
            if not -1 <= du <= 4095:
                raise NetworkFileError(
                    f"'{self.path}': {where}: iDecay = {idecay} gives Lava's LIF du = iDecay - 1 = {du}, outside "
                    "LoihiLIF's -1..4095; give the layer a current decay in 0..4096")
            if not 0 <= dv <= 4096:
                raise NetworkFileError(f"'{self.path}': {where}: vDecay = {vdecay} is outside LoihiLIF's dv range "
                                       "0..4096; give the layer a voltage decay in 0..4096")
            if vth < 0 or vth >= 2 ** 25:
                raise NetworkFileError(f"'{self.path}': {where}: vThMant = {vth} is outside 0..2**25-1 (Lava's "
                                       "int32 vth << 6); give a threshold in 0..131072")
            if vth > VTH_NEVER:
                info["vThMant"] = vth
                vth = VTH_NEVER            # same behaviour: v <= 2**23 - 1 < vth << 6, never a spike
            for key, neutral in (("refDelay", 1), ("wgtExp", 0)):
                if key in cfg and np.asarray(cfg[key]).size == 1 and int(np.asarray(cfg[key]).reshape(-1)[0]) != neutral:
                    self.warn(f"'{self.path}': {where}: neuron {key} = {np.asarray(cfg[key]).reshape(-1)[0]} is "
                              "ignored, as netx ignores it (Lava's LIF has no such parameter)")
            bits = int(np.asarray(cfg.get("messageBits", 0)).reshape(-1)[0])
            info["message_bits"] = bits
            try:
                if self.reset is None:
                    model = LoihiLIF(du=du, dv=dv, vth=vth, bias_mant=bias, bias_exp=BIAS_EXP)
                else:       # netx: "time starts from 1 in hardware", then one step later per block
                    from ..neurons import LIFReset
                    offset = self.reset["reset_offset"] + 1 + lay.info["block"]
                    info["reset_offset"] = offset
                    model = LIFReset(du=du, dv=dv, vth=vth, bias_mant=bias, bias_exp=BIAS_EXP,
                                     reset_interval=self.reset["reset_interval"], reset_offset=offset)
            except NeurocompError as exc:
                raise NetworkFileError(f"'{self.path}': {where}: {exc}") from None
            return model, info
        if self.reset is not None and ntype in (SDNN_TYPE, *RF_TYPES):
            self.warn(f"'{self.path}': {where}: reset_interval is ignored for {ntype} neurons, as netx ignores it "
                      "(Lava's SigmaDelta and RF processes have no reset)")
        if ntype == SDNN_TYPE:
            return self._sdnn_model(lay, cfg, where, bias, is_input, info)
        if ntype in RF_TYPES:
            return self._rf_model(lay, cfg, where, is_input, info)
        raise NetworkFileError(f"'{self.path}': {where}: neuron type '{ntype}' has no neurocomp model; supported: "
                               f"{', '.join(CUBA_TYPES)} (-> LoihiLIF), {SDNN_TYPE} (-> Delta/SigmaDelta/Sigma), "
                               "RF (-> RF_IZ) and RF_PHASE (-> RF)"
                               + ("; netx would run it as a plain RF, without its adaptive dynamics" if "RF" in ntype
                                  else ""))

    def _rf_model(self, lay, cfg, where, is_input, info):
        """netx's RF mapping: SLAYER's ``neuron_params`` turns ``sinDecay``/``cosDecay`` (12 fractional bits) into a
        period and a decay, which netx gives Lava's RF/RF_IZ with ``vth = vThMant``, ``state_exp = 6``,
        ``decay_bits = 12``; Lava's constructor turns them back into integers (:func:`lava_decays`, the same
        float operations, so the same truncations)."""
        from ..neurons import RF, RF_IZ
        if is_input or not lay.info.get("complex"):
            what = "an input layer" if is_input else "a layer with real weights"
            raise NetworkFileError(f"'{self.path}': {where}: {cfg['type']} neurons in {what}: netx connects such a "
                                   "layer to the neuron's a_in, which Lava's RF has not (it has a_real_in/a_imag_in); "
                                   "give resonate-and-fire neurons complex dense weights (weight/real, weight/imag)")
        if lay.type == "dense_rec":
            raise NetworkFileError(f"'{self.path}': {where}: a recurrent dense layer of RF neurons; netx builds "
                                   "complex layers without recurrence: export it as a dense layer")
        vals = {}
        for key in ("sinDecay", "cosDecay", "vThMant"):
            if key not in cfg:
                raise NetworkFileError(f"'{self.path}': {where}: neuron has no '{key}' (netx reads it for "
                                       f"{cfg['type']} neurons); the file is truncated or not a netx file")
            v = np.asarray(cfg[key])
            if v.dtype.kind not in "biuf" or not np.all(np.isfinite(v)) or v.size not in (1, int(np.prod(lay.shape))):
                raise NetworkFileError(f"'{self.path}': {where}: neuron '{key}' must be one number or one per neuron")
            vals[key] = v.reshape(-1) if v.size > 1 else v.reshape(-1)[0]
        vth = vals["vThMant"]
        if np.ndim(vth) or float(vth) != int(vth):
            raise NetworkFileError(f"'{self.path}': {where}: neuron 'vThMant' = {vth!r} must be one integer")
        sin, cos = vals["sinDecay"] / RF_P_SCALE, vals["cosDecay"] / RF_P_SCALE    # SLAYER's rf.neuron_params
        with np.errstate(divide="ignore"):
            decay = 1 - np.sqrt(sin ** 2 + cos ** 2)
            period = 1 / (np.arctan2(sin, cos) / 2 / np.pi)
        cls = RF if RF_TYPES[cfg["type"]] == "RF" else RF_IZ
        info["lava_process"] = cls.__name__
        try:
            return cls.from_period(period, decay, int(vth), decay_bits=RF_DECAY_BITS, state_exp=RF_STATE_EXP), info
        except NeurocompError as exc:
            raise NetworkFileError(f"'{self.path}': {where}: {exc}") from None

    def _sdnn_model(self, lay, cfg, where, bias, is_input, info):
        from ..neurons import ActivationMode, Delta, Sigma, SigmaDelta
        bits = cfg.get("messageBits")
        info["message_bits"] = SDNN_MESSAGE_BITS if bits is None else int(np.asarray(bits).reshape(-1)[0])
        act = cfg.get("activation")
        if act is not None and str(act).lower() != "relu":
            self.warn(f"'{self.path}': {where}: activation '{act}' is ignored, as netx ignores it: Lava's SigmaDelta "
                      "default (ReLU) is used")
        try:
            if is_input:
                info["sdnn"] = "Delta"
                return Delta(vth=self._int_param(cfg, "vThMant", where), cum_error=False, spike_exp=self.spike_exp,
                             state_exp=STATE_EXP), info
            if "sigma_output" in cfg and bool(np.asarray(cfg["sigma_output"]).reshape(-1)[0]):
                if np.any(np.asarray(bias) != 0):
                    raise NetworkFileError(f"'{self.path}': {where}: a Sigma output layer with a 'bias': netx passes "
                                           "it to Lava's Sigma, which has no bias (TypeError); remove the bias")
                info["sdnn"] = "Sigma"
                return Sigma(), info
            info["sdnn"] = "SigmaDelta"
            relu = ActivationMode.RELU if ActivationMode is not None else 1
            return SigmaDelta(vth=self._int_param(cfg, "vThMant", where), bias=bias, act_mode=relu, cum_error=False,
                              spike_exp=self.spike_exp, state_exp=STATE_EXP), info
        except NetworkFileError:
            raise
        except NeurocompError as exc:
            raise NetworkFileError(f"'{self.path}': {where}: {exc}") from None

    # ------------------------------------------------------------------ synapses
    def _delay(self, lay: _Layer, n_post: int, n_pre: int):
        """netx's delay rules for a dense layer -> scalar or [n_post, n_pre] int steps (None: no delay)."""
        if not self.f.has(lay.group, "delay"):
            return None
        raw = self.f.array(lay.group, "delay", lay.where)
        if raw.size and raw.max() > MAX_DELAY:
            self.warn(f"'{self.path}': {lay.where}: delays up to {raw.max()} steps; clipped to {MAX_DELAY} as netx "
                      "does (Lava's DelayDense max_delay)")
            raw = np.clip(raw, 0 if raw.min() >= 0 else raw.min(), MAX_DELAY)
        d = raw.astype(np.int64)
        if d.size and d.min() < 0:
            raise self.f.fail(lay.where, f"'delay' has negative values (min {int(d.min())}); delays are >= 0 steps")
        if d.ndim == 0 or d.size == 1:
            return int(d.reshape(-1)[0]) if d.size else 0
        if d.ndim == 1:
            if d.size == n_post:                         # netx tries per output neuron first
                d = np.repeat(d[:, None], n_pre, axis=1)
            elif d.size == n_pre:
                d = np.repeat(d[None, :], n_post, axis=0)
            else:
                raise self.f.fail(lay.where, f"'delay' has {d.size} values; netx needs 1, one per output neuron "
                                             f"({n_post}) or one per input ({n_pre})")
        elif d.shape != (n_post, n_pre):
            raise self.f.fail(lay.where, f"'delay' of shape {list(d.shape)} does not fit the weights "
                                         f"[{n_post}, {n_pre}]")
        return int(d.flat[0]) if np.all(d == d.flat[0]) else d

    def _weights(self, lay: _Layer, key: str = "weight") -> np.ndarray:
        return self.f.ints(lay.group, key, lay.where, self.warn, what="the synaptic weights")

    def _connect(self, src: str, dst: str, conn, delay=0, name: str | None = None, port: int = 0) -> None:
        name = name or f"{src}-{dst}"
        if src == INPUT and self.input_bits:         # the host Delta's payloads: graded, as netx's Delta sends
            conn = replace(conn, num_message_bits=self.input_bits)
        try:
            self.net.connect(src, dst, conn, delay=delay, name=name, port=port)
        except NeurocompError as exc:
            raise NetworkFileError(f"'{self.path}': projection {src} -> {dst}: {exc}") from None

    def _complex_dense(self, lay: _Layer, segs: list) -> None:
        """netx's complex dense block (``ComplexDense``): a real and an imaginary Dense, each with its own
        ``optimize_weight_bits``, into the RF neurons' ``a_real_in`` (port 0) and ``a_imag_in`` (port 1)."""
        if len(segs) != 1:
            raise self.f.fail(lay.where, "a complex dense layer after a concat layer (netx's ComplexDense takes one "
                                         "input); concatenate before a real layer instead")
        if self.f.has(lay.group, "delay"):
            self.warn(f"'{self.path}': {lay.where}: the complex dense layer's 'delay' is ignored, as netx ignores it "
                      "(its ComplexDense has no delays)")
        (src, _), n_post = segs[0], lay.shape[0]
        for port, part in enumerate(("real", "imag")):
            w = self._dense_matrix(lay, segs, f"weight/{part}")
            w, nwb, exp = netx_weight_bits(w, f"'{self.path}': {lay.where} ({part})", self.warn)
            nwb, exp = _dense_options(w, nwb, exp, f"{lay.where} ({part})", self.path)
            self._connect(src, lay.pop, Dense(w, weight_exp=exp, num_weight_bits=nwb), 0, f"{src}-{lay.pop}.{part}",
                          port)
            lay.info.update({f"num_weight_bits_{part}": nwb, f"weight_exp_{part}": exp})

    def _dense_matrix(self, lay: _Layer, segs: list, key: str = "weight") -> np.ndarray:
        """The ``[n_post, n_pre]`` weights ``key`` of a dense layer (netx reshapes a flat one to ``(n_post, -1)``)."""
        n_post = lay.shape[0]
        n_pre = sum(int(np.prod(s)) for _, s in segs)
        w = self._weights(lay, key)
        if w.ndim == 1:
            if w.size % n_post:
                raise self.f.fail(lay.where, f"'{key}' has {w.size} values, not a multiple of {n_post} neurons")
            w = w.reshape(n_post, -1)
        if w.ndim != 2 or w.shape != (n_post, n_pre):
            raise self.f.fail(lay.where, f"'{key}' of shape {list(w.shape)} does not map the {n_pre} inputs "
                                         f"({' + '.join(f'{name} {list(s)}' for name, s in segs)}) to its {n_post} "
                                         "neurons ([out, in] expected)")
        return w

    def _dense(self, lay: _Layer, segs: list) -> None:
        n_post = lay.shape[0]
        n_pre = sum(int(np.prod(s)) for _, s in segs)
        w = self._dense_matrix(lay, segs)
        if any(len(shape) > 1 for _, shape in segs):
            self.warn(f"'{self.path}': {lay.where}: receives {[list(s) for _, s in segs if len(s) > 1]} without a "
                      "flatten layer (netx would not connect the shapes); flattened in (C, H, W) order as netx's "
                      "flatten does")
        rec = lay.type == "dense_rec"
        wr = None
        if rec:
            wr = self._weights(lay, "weight_rec")
            if wr.ndim == 1 and wr.size == n_post * n_post:
                wr = wr.reshape(n_post, n_post)
            if wr.shape != (n_post, n_post):
                raise self.f.fail(lay.where, f"'weight_rec' of shape {list(wr.shape)} must be [{n_post}, {n_post}]")
        full = np.hstack((w, wr)) if rec else w
        full, nwb, exp = netx_weight_bits(full, f"'{self.path}': {lay.where}", self.warn)
        delay = self._delay(lay, n_post, n_pre)
        if rec and delay is not None:
            self.warn(f"'{self.path}': {lay.where}: netx builds a delayed dense_rec without its weight exponent "
                      f"(weight_exp {exp} dropped in blocks/process.py); the IR keeps the exponent")
        mats = [(name, full[:, off:off + int(np.prod(s))]) for (name, s), off in
                zip(segs, np.cumsum([0] + [int(np.prod(s)) for _, s in segs])[:-1])]
        if rec:
            mats.append((lay.pop, full[:, n_pre:]))
        for k, (name, m) in enumerate(mats):
            where = f"{lay.where} (weights from {name})"
            # netx passes no sign mode: Lava determines it per process (the whole concatenated input is
            # one process; the recurrent weights are a second one)
            one = full[:, :n_pre] if rec else full
            sign = determine_sign_mode(one) if len(segs) > 1 and not (rec and k == len(mats) - 1) else None
            nwb_k, exp_k = _dense_options(m if sign is None else one, nwb, exp, where, self.path)
            opts = dict(weight_exp=exp_k, num_weight_bits=nwb_k, sign_mode=sign)
            is_rec = rec and k == len(mats) - 1
            if is_rec:
                d = delay if delay is None or np.ndim(delay) == 0 else None
                if delay is not None and np.ndim(delay) != 0:
                    if np.all(delay == delay[:, :1]):       # per output neuron: the same on the recurrent synapses
                        d = np.repeat(delay[:, :1], n_post, axis=1)
                    elif n_pre == n_post:
                        d = delay                          # netx passes the same matrix to both synapses
                    else:
                        raise self.f.fail(lay.where, "per-input delays of a dense_rec layer whose input and output "
                                                     "sizes differ (netx would fail too); give per-neuron delays")
                self._connect(lay.pop, lay.pop, Dense(m, **opts), 0 if d is None else d, name=f"{lay.pop}.rec")
            else:
                off = sum(int(np.prod(s)) for _, s in segs[:k])
                d = delay
                if d is not None and np.ndim(d) != 0:
                    d = d[:, off:off + m.shape[1]]
                self._connect(name, lay.pop, Dense(m, **opts), 0 if d is None else d)
        lay.info.update(num_weight_bits=nwb, weight_exp=exp)

    def _conv(self, lay: _Layer, segs: list) -> None:
        f = self.f
        w = self._weights(lay)
        if w.ndim == 5 and w.shape[-1] == 1:
            w = w[..., 0]
        if w.ndim != 4:
            raise f.fail(lay.where, f"'weight' of shape {list(w.shape)} must be [C_out, C_in/groups, kh, kw]")
        stride = f.pair(lay.group, "stride", lay.where, 1)
        padding = f.pair(lay.group, "padding", lay.where, 0)
        dilation = f.pair(lay.group, "dilation", lay.where, 1)
        groups = f.integer(lay.group, "groups", lay.where) if f.has(lay.group, "groups") else 1
        if f.has(lay.group, "delay"):
            self.warn(f"'{self.path}': {lay.where}: the conv layer's 'delay' is ignored, as netx ignores it "
                      "(hdf5.py create_conv)")
        for name, s in segs:
            if len(s) != 3:
                raise f.fail(lay.where, f"receives '{name}' of shape {list(s)}; a conv layer needs (C, H, W) inputs "
                                        "(no flatten before it)")
        if len({s[1:] for _, s in segs}) != 1:
            raise f.fail(lay.where, f"concatenates inputs of different sizes {[list(s) for _, s in segs]}; channels "
                                    "can only be concatenated over equal H, W")
        c_in = sum(s[0] for _, s in segs)
        if len(segs) > 1 and groups != 1:
            raise f.fail(lay.where, f"a grouped conv (groups={groups}) after a concat layer is not supported; use "
                                    "groups=1")
        if w.shape[1] * groups != c_in:
            raise f.fail(lay.where, f"'weight' {list(w.shape)} with groups={groups} needs {w.shape[1] * groups} input "
                                    f"channels but receives {c_in} ({', '.join(f'{n} {list(s)}' for n, s in segs)})")
        raw, exp = _conv_weights(w, lay.where, self.path)
        off = 0
        for name, s in segs:
            part = raw if len(segs) == 1 else raw[:, off:off + s[0]]
            off += s[0]
            try:
                conv = Conv2d(part, s, stride=stride, padding=padding, dilation=dilation, groups=groups,
                              weight_exp=exp)
            except NeurocompError as exc:
                raise f.fail(lay.where, str(exc)) from None
            if conv.output_shape != lay.shape:
                raise f.fail(lay.where, f"the convolution of {list(s)} gives {list(conv.output_shape)} but 'shape' is "
                                        f"{list(lay.shape)}; the file's geometry is inconsistent")
            self._connect(name, lay.pop, conv)

    def _pool(self, lay: _Layer, segs: list) -> None:
        f = self.f
        if len(segs) != 1 or len(segs[0][1]) != 3:
            raise f.fail(lay.where, "a pool layer needs one (C, H, W) input (not a concat or flatten)")
        name, (c, h, wd) = segs[0]
        if lay.shape[0] != c:
            raise f.fail(lay.where, f"'shape' {list(lay.shape)} has {lay.shape[0]} channels but its input has {c}")
        k = self._weights(lay)
        if k.ndim == 5 and k.shape[-1] == 1:              # SLAYER's (1, 1, kh, kw, 1) before its reshape
            k = k[..., 0]
        if k.ndim < 2 or int(np.prod(k.shape[:-2])) != 1:
            raise f.fail(lay.where, "'weight' must hold one pooling kernel [kh, kw] (SLAYER's Pool synapse, "
                                    "shape [1, 1, kh, kw])")
        k = k.reshape(k.shape[-2:])
        stride = f.pair(lay.group, "stride", lay.where, 0) if f.has(lay.group, "stride") else k.shape
        padding = f.pair(lay.group, "padding", lay.where, 0)
        dilation = f.pair(lay.group, "dilation", lay.where, 1)
        if f.has(lay.group, "delay"):
            self.warn(f"'{self.path}': {lay.where}: the pool layer's 'delay' is ignored (netx ignores conv delays)")
        kernel = np.broadcast_to(k, (c, 1, *k.shape)).copy()
        raw, exp = _conv_weights(kernel, lay.where, self.path)
        try:
            conv = Conv2d(raw, (c, h, wd), stride=stride, padding=padding, dilation=dilation, groups=c,
                          weight_exp=exp)
        except NeurocompError as exc:
            conv = None
            err = str(exc)
        if conv is not None and conv.output_shape == lay.shape:
            self._connect(name, lay.pop, conv)
            return
        # SLAYER pads odd sizes at the end (H % kh extra rows): the same windows, clipped to the input
        _, ho, wo = lay.shape
        ok = all(o > 0 and (o - 1) * s - p <= n - 1 for o, s, p, n in zip((ho, wo), stride, padding, (h, wd)))
        if not ok:
            raise f.fail(lay.where, f"pooling {list((c, h, wd))} with kernel {list(k.shape)}, stride {list(stride)}, "
                                    f"padding {list(padding)} cannot give 'shape' {list(lay.shape)}"
                                    + (f" ({err})" if conv is None else ""))
        co, a, b, yo, xo = np.meshgrid(np.arange(c), np.arange(k.shape[0]), np.arange(k.shape[1]), np.arange(ho),
                                       np.arange(wo), indexing="ij")
        y = yo * stride[0] - padding[0] + a * dilation[0]
        x = xo * stride[1] - padding[1] + b * dilation[1]
        wv = raw[co, 0, a, b]
        keep = (y >= 0) & (y < h) & (x >= 0) & (x < wd) & (wv != 0)
        post = ((co * ho + yo) * wo + xo)[keep]
        pre = ((co * h + y) * wd + x)[keep]
        self._connect(name, lay.pop, Sparse.from_coo(post, pre, wv[keep], (c * ho * wo, c * h * wd), weight_exp=exp))

    # ------------------------------------------------------------------ pass 2: build
    def build(self) -> Network:
        self._scan()
        f = self.f
        layers = self.layers
        last = len(layers) - 1
        first = layers[0]
        # the graph input
        if first.type == "input":
            self.net.input(INPUT, first.shape)
            self.input_meta["lava_shape"] = list(first.lava_shape)
            if f.has(first.group, "weight") or f.has(first.group, "bias"):
                tr = {}
                for key, default in (("weight", 64), ("bias", 0)):
                    v = f.ints(first.group, key, first.where).reshape(-1) if f.has(first.group, key) else [default]
                    tr[key] = int(v[0])
                self.input_meta["transform"] = tr
            if first.info.get("host_encoder"):
                self._host_encoder(first)
        else:
            self._implicit_input(first)
        # populations, in layer order; ``block``: the position in netx's block list (layer_positions)
        block = 0
        for lay in layers:
            if lay.pop is None:
                block += bool(lay.info.get("host_encoder"))
                continue
            lay.info["block"], block = block, block + 1
            cfg = self._neuron_cfg(lay)
            model, info = self._model(lay, cfg, is_input=lay.type == "input")
            try:
                self.net.population(lay.pop, lay.shape, model)
            except NeurocompError as exc:
                raise f.fail(lay.where, str(exc)) from None
            lay.info.update(info)
        # synapses
        for lay in layers:
            if lay.type == "input":
                if lay.pop is not None:
                    n = int(np.prod(lay.shape))
                    # a RingBuffer hands a_in its values as they are: an SDNN (Delta) input layer takes integers
                    bits = GRADED_MESSAGE_BITS if lay.info.get("sdnn") else None
                    self._connect(INPUT, lay.pop, OneToOne(np.ones(n, dtype=np.int64), num_message_bits=bits))
                    self.input_meta["population"] = lay.pop
                continue
            if lay.type == "average":
                if lay.id != last:
                    self._segments(lay.id)          # raises: average only as the readout
                continue
            if lay.pop is None:
                continue
            segs = self._segments(lay.id - 1) if lay.id > 0 else [(INPUT, self.net.populations[INPUT].shape)]
            if lay.info.get("complex"):
                self._complex_dense(lay, segs)
            elif lay.type in ("dense", "dense_rec", "dense_comp"):
                self._dense(lay, segs)
            elif lay.type == "conv":
                self._conv(lay, segs)
            else:
                self._pool(lay, segs)
        out = self._output()
        self.net.metadata = self._metadata(out)
        return self.net

    def _host_encoder(self, first: _Layer) -> None:
        """The SDNN input layer's Delta, run on the host: its parameters go into the metadata (the encoder
        of :mod:`neurocomp.io.netx_input`) and the graph input sends its payloads (``messageBits`` wide)."""
        model, info = self._model(first, self._neuron_cfg(first), is_input=True)
        first.info.update(info)
        self.input_bits = int(info["message_bits"])
        self.input_meta["encoder"] = {"model": "Delta", "vth": int(model.vth), "cum_error": bool(model.cum_error),
                                      "spike_exp": int(model.spike_exp), "state_exp": int(model.state_exp),
                                      "message_bits": self.input_bits}

    def _implicit_input(self, first: _Layer) -> None:
        """No input layer: netx needs ``input_shape`` for a conv; a dense layer's input size is its weight's."""
        if first.type in ("dense", "dense_rec", "dense_comp"):
            w = self._weights(first, "weight/real" if first.info.get("complex") else "weight")
            n_in = w.shape[1] if w.ndim == 2 else w.size // first.shape[0]
            self.net.input(INPUT, (int(n_in),))
            self.input_meta["lava_shape"] = [int(n_in)]
            return
        raise self.f.fail(first.where, "is the first layer; without an input layer the input shape is unknown "
                                       "(netx asks for Network(input_shape=...)); add an input layer with its 'shape'")

    def _output(self) -> str:
        layers = self.layers
        last = layers[-1]
        k = len(layers) - 1
        if last.type == "average":
            segs = self._segments(k - 1)
            if len(segs) != 1 or segs[0][0] == INPUT:
                raise self.f.fail(last.where, "averages more than one population (or the graph input); only an "
                                              "average of one neuron layer can be read as the readout")
            name, shape = segs[0]
            n = int(np.prod(shape))
            groups = int(np.prod(self._stored_shape(last))) if self.f.has(last.group, "shape") else None
            if groups is None or groups <= 0 or n % groups:
                raise self.f.fail(last.where, f"'shape' must give the number of output groups dividing the {n} "
                                              f"neurons of '{name}'")
            self.readout = {"type": "average", "population": name, "groups": groups,
                            "how": f"mean of spikes[:, {name}] reshaped to [T, {groups}, {n // groups}] over axis 2"}
            self.warn(f"'{self.path}': {last.where}: the average readout has no neurons; '{name}' is the output and "
                      f"metadata['netx']['readout'] says how to average its spikes into {groups} values")
            self.net.output(name)
            return name
        while k >= 0 and layers[k].pop is None:
            k -= 1
        if k < 0:
            raise NetworkFileError(f"'{self.path}': the network has no neuron layer; nothing to compile")
        self.net.output(layers[k].pop)
        return layers[k].pop

    def _metadata(self, out: str) -> dict:
        f = self.f
        layers = []
        for lay in self.layers:
            entry = {"id": lay.id, "type": lay.type, "population": lay.pop}
            if lay.lava_shape:
                entry["lava_shape"] = [int(s) for s in lay.lava_shape]
            for key, val in lay.info.items():
                entry[key] = val if isinstance(val, (str, int, float, bool)) or val is None else int(val)
            layers.append(entry)
        sim = {}
        if f.has(f.h5, "simulation"):
            for key in ("Ts", "tSample"):
                if f.has(f.h5["simulation"], key):
                    v = np.asarray(f.h5["simulation"][key][()]).reshape(-1)
                    if v.size == 1 and v.dtype.kind in "biuf":
                        sim[key] = v[0].item()
        netx = {"layers": layers, "input": self.input_meta, "output": out, "readout": self.readout,
                "simulation": sim, "spike_exp": self.spike_exp, "reset": self.reset,
                "input_latency": 0 if self.input_bits else INPUT_LATENCY}   # host-run Delta: netx timing
        return {"format": "netx", "source": Path(self.path).name, "netx": netx, "warnings": self.warn.messages}


# ------------------------------------------------------------------------------------- running as lava-dl does
def layer_positions(net: Network) -> dict[str, int]:
    """Each population's position in netx's block list (``Network.layers``: the input layer 0, the next
    neuron layer 1, ...; flatten/concat layers have no block), from ``net.metadata["netx"]``."""
    try:
        layers = net.metadata["netx"]["layers"]
    except (KeyError, TypeError):
        raise NetworkFileError(f"network '{net.name}' was not read from a netx file (no metadata['netx'])") from None
    blocks = [entry.get("population") for entry in layers if entry.get("population") or entry.get("host_encoder")]
    return {name: k for k, name in enumerate(blocks) if name}


def with_bias(net: Network, population: str, bias, lava_order: bool = True) -> Network:
    """A copy of ``net`` whose LoihiLIF ``population`` has ``bias_mant = bias`` (per neuron; in Lava's
    ``(W, H, C)`` order when ``lava_order``). lava-dl's tests and tutorials drive a CUBA input layer
    this way (``net.in_layer.neuron.bias_mant.init = frame``)."""
    import dataclasses
    pop = net.populations.get(population)
    if pop is None or not isinstance(pop.model, LoihiLIF):
        raise NetworkFileError(f"with_bias: '{population}' is not a LoihiLIF population of network '{net.name}'")
    b = np.asarray(bias)
    if lava_order and b.ndim == len(pop.shape) and b.ndim > 1:
        if tuple(b.shape) != tuple(pop.shape[::-1]):
            raise NetworkFileError(f"with_bias: bias of shape {b.shape} does not fit '{population}' (Lava shape "
                                   f"{tuple(pop.shape[::-1])})")
        b = b.transpose(tuple(range(b.ndim - 1, -1, -1)))
    if b.dtype.kind == "f":
        b = b.astype(np.int64) if np.all(b == np.round(b)) else b
    model = dataclasses.replace(pop.model, bias_mant=b.reshape(-1) if b.ndim else b)
    return _replace_models(net, {population: model})


def _replace_models(net: Network, models: dict) -> Network:
    from ..ir import Population
    pops = [Population(p.name, p.shape, models.get(p.name, p.model)) for p in net.populations.values()]
    return Network.from_parts(net.name, pops, net.projections.values(), net.outputs, net.metadata)


def _v0_at_rest(b: np.ndarray, dv: int, vth6: np.ndarray, steps: int, where: str) -> np.ndarray:
    """Integer v0 per neuron such that ``steps`` LoihiLIF steps without input end at v = 0, never
    above threshold and never saturated (u stays 0 without input)."""
    from ..semantics.fixedpoint import trunc0
    c = 4096 - dv
    target = np.zeros_like(b)
    lim = 2 ** 23 - 1
    for k in range(steps):                       # walk back: trunc0(v_prev * c, 12) + b == target
        want = target - b
        guess = (want * 4096) // c
        found = np.zeros(b.shape, bool)
        v = guess.copy()
        for d in range(-2, 4):
            cand = guess + d
            ok = ~found & (trunc0(cand * c, 12) == want)
            v = np.where(ok, cand, v)
            found |= ok
        # v is the state after the previous step: it must not have spiked or saturated
        bad = ~found | (np.abs(v) >= lim) | ((v > vth6) & (k < steps - 1))
        if bad.any():
            j = int(np.argmax(bad))
            raise NetworkFileError(f"{where}: no initial state keeps neuron {j} (bias {int(b[j]) >> 6}) at rest for "
                                   f"{steps} steps without spiking or saturating; compare from the layer's first "
                                   "reset instead")
        target = v
    return target


def hold_at_rest(net: Network, steps: dict | None = None) -> Network:
    """A copy of ``net`` whose LoihiLIF populations end their first ``steps[pop]`` steps exactly at rest
    (u = v = 0, no spike in them): the state lava-dl's tests reach by resetting layer L after step L
    (``io.reset.Reset(interval, offset=L - 1)`` on u and v), the one-step-per-layer start of SLAYER's
    ``delay_shift``. Default ``steps``: :func:`layer_positions` (layer L held for L steps).

    Exact because a population that gets no input keeps u = 0 (``u0 = 0``) and its v follows
    ``v' = trunc0(v * (4096 - dv), 12) + (bias_mant << bias_exp)`` alone, which the chosen ``v0``
    drives to 0 at step ``steps[pop]``. Every population's inputs must be silent in those steps:
    a source held for ``d`` steps first spikes at step ``d + 1`` and reaches its target at
    ``d + 2 + delay``, so ``d + 1 + delay >= steps[target]`` is checked (graph inputs: keep their first
    ``steps[target] - 1`` rows silent). Later resets of such a schedule (step L + interval) are not
    expressed: compare only before them."""
    steps = layer_positions(net) if steps is None else dict(steps)
    models = {}
    for name, d in steps.items():
        pop = net.populations.get(name)
        if pop is None or pop.is_input:
            raise NetworkFileError(f"hold_at_rest: '{name}' is not a neuron population of network '{net.name}'")
        if d <= 0:
            continue
        m = pop.model
        if not isinstance(m, LoihiLIF):
            raise NetworkFileError(f"hold_at_rest: population '{name}' is {type(m).__name__}; only LoihiLIF has an "
                                   "initial state to hold it at rest with")
        if np.any(m.u0 != 0) or np.any(m.v0 != 0) or np.unique(m.dv).size != 1:
            raise NetworkFileError(f"hold_at_rest: population '{name}' already has an initial state or per-neuron dv")
        for proj in net.incoming(name):
            if net.populations[proj.source].is_input:
                continue
            ds = steps.get(proj.source, 0)
            first = ds + 2 + int(np.min(proj.delay))          # earliest step a spike of the source arrives
            if first <= d:
                raise NetworkFileError(f"hold_at_rest: '{name}' is held for {d} steps but '{proj.source}' (held {ds}) "
                                       f"can reach it at step {first}; hold the source longer or this population "
                                       "shorter")
        n = pop.size
        from ..neurons.loihi_lif.spec import LifParams
        p = LifParams.from_model(m, n)
        v0 = _v0_at_rest(p.bias(), int(np.asarray(m.dv).reshape(-1)[0]), p.vth << 6, int(d),
                         f"hold_at_rest: population '{name}'")
        import dataclasses
        models[name] = dataclasses.replace(m, v0=v0)
    return _replace_models(net, models)
