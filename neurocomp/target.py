"""Hardware models: load a chip description (``hw_models/*.toml``) into frozen dataclasses.

A *target* is everything the compiler and the emulator need to know about a chip, and nothing
they could compute themselves: the mesh (chips x tiles x cores), per-core limits, the memory
encoding of synapses, the fixed-point number formats, and per-operation energy and latency.
Every cost is a :class:`Quantity` that carries the number's source and status, because a model is
only as good as its least trustworthy number and a reader of ``mapping.json`` must be able to see
which numbers were measured on silicon and which were assumed.

Status vocabulary (``Quantity.status`` and the ``[sources]`` table of a model file):

- ``measured``     published for fabricated silicon (a measurement or a chip specification);
- ``pre-silicon``  published, but from simulation before tape-out (Davies18 Table 2);
- ``derived``      computed here by arithmetic from published figures (the formula is in the source);
- ``secondary``    only found in a secondary source (survey, another group's paper);
- ``assumed``      not published; the source text says what was assumed and why.

Units inside a model file are SI: energies in joules (``unit = "J"``), latencies in seconds
(``unit = "s"``), power in watts, clock in hertz. The loader refuses anything else rather than
guess a prefix.

Mesh coordinates, hops and link ids (routes are dimension-order, X then Y) are defined once in
:mod:`neurocomp.mapping.mesh`; ``Mesh``'s methods check the core ids and delegate there.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import tomli

from .errors import TargetError
from .mapping import mesh as geometry

STATUSES = ("measured", "pre-silicon", "derived", "assumed", "secondary")

#: Operation classes every model must price (energy and latency), see ``Costs``.
COST_KEYS = ("syn_op", "neuron_update_active", "neuron_update_idle", "spike_out", "spike_within_tile",
             "hop_ew", "hop_ns", "hop_interchip", "learning_update", "barrier")

_UNITS = {"energy": "J", "latency": "s", "static_power": "W", "clock": "Hz"}

#: ``[timing]``: the message-level (cycle) timing model's parameters and their units. ``buffer_depth``:
#: messages one router input port (and a core's input queue) holds; ``flits_per_message``: flits of one
#: spike message; ``flit_time``: seconds one flit occupies a link (link serialisation); ``spike_generation``:
#: seconds the soma spends per fired neuron before its first message (separate from the per-message spike_out).
TIMING_KEYS = {"buffer_depth": "messages", "flits_per_message": "flits", "flit_time": "s", "spike_generation": "s"}


# --------------------------------------------------------------------------------------------
# dataclasses
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Quantity:
    """A number with its unit, where it comes from, and how far to trust it (see module doc)."""
    value: float
    unit: str
    source: str
    status: str

    def to_dict(self) -> dict:
        return {"value": self.value, "unit": self.unit, "source": self.source, "status": self.status}


@dataclass(frozen=True)
class Mesh:
    """``chips`` chips in a ``chips_x`` x ``chips_y`` grid, each a ``tiles_x`` x ``tiles_y`` mesh of
    routers with ``cores_per_tile`` cores behind each router."""
    chips: int
    chips_x: int
    chips_y: int
    tiles_x: int
    tiles_y: int
    cores_per_tile: int

    def __post_init__(self):
        for name in ("chips", "chips_x", "chips_y", "tiles_x", "tiles_y", "cores_per_tile"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise TargetError(f"mesh.{name} = {v!r}: must be a positive integer")
        if self.chips_x * self.chips_y != self.chips:
            raise TargetError(f"mesh.chips = {self.chips} but chips_x * chips_y = {self.chips_x * self.chips_y}; "
                              "make the chip grid hold exactly `chips` chips")

    @property
    def n_tiles(self) -> int:
        """Tiles (routers) over all chips."""
        return self.chips * self.tiles_x * self.tiles_y

    @property
    def n_cores(self) -> int:
        return self.n_tiles * self.cores_per_tile

    @property
    def cores_per_chip(self) -> int:
        return self.tiles_x * self.tiles_y * self.cores_per_tile

    def _check_cores(self, core) -> np.ndarray:
        c = np.asarray(core)
        if c.dtype.kind not in "iu":
            raise TargetError(f"mesh: core id {core!r} is not an integer; pass core ids 0..{self.n_cores - 1}")
        if c.size and (c.min() < 0 or c.max() >= self.n_cores):
            bad = int(c.min()) if c.min() < 0 else int(c.max())
            raise TargetError(f"mesh: core id {bad} is outside the mesh of {self.n_cores} cores "
                              f"({self.chips} chip(s) x {self.tiles_x}x{self.tiles_y} tiles x "
                              f"{self.cores_per_tile} cores); use ids 0..{self.n_cores - 1} or raise mesh.chips")
        return c.astype(np.int64)

    def core_coord(self, core):
        """``(chip, tile_x, tile_y, k)`` of a core id (int or integer array), see ``mapping.mesh.core_coord``.

        ``core = ((chip * tiles_y + tile_y) * tiles_x + tile_x) * cores_per_tile + k``.
        """
        c = self._check_cores(core)
        out = geometry.core_coord(self, c)
        return tuple(int(v) for v in out) if c.ndim == 0 else out

    def global_tile(self, core):
        """``(gx, gy)`` global tile coordinates of a core: the chip's grid offset times the chip's tiles
        plus the tile within the chip (``mapping.mesh.global_tile``)."""
        return geometry.global_tile(self, self._check_cores(core))

    def hops(self, a, b):
        """``(east-west hops, north-south hops, inter-chip hops)`` of the X-then-Y route from core a to b.

        E-W and N-S hops count every router-to-router step in global tile coordinates, including the
        steps that cross a chip boundary; inter-chip hops count those boundary crossings again
        (``|chip_x(a) - chip_x(b)| + |chip_y(a) - chip_y(b)|``, which is exact for a dimension-order
        route), so a crossing pays a normal hop plus the ``hop_interchip`` extra. Cores of one tile
        are 0 hops apart. Works on ints or on integer arrays (broadcast); see ``mapping.mesh.hops``.
        """
        ew, ns, ic = geometry.hops(self, self._check_cores(a), self._check_cores(b))
        if np.ndim(ew) == 0:
            return int(ew), int(ns), int(ic)
        return ew, ns, ic


@dataclass(frozen=True)
class SynapseEncoding:
    """How one input axon's synapses are laid out in a core's synapse memory.

    The synapses of an axon are stored in groups of at most ``group_size``; a group of ``n`` synapses
    takes ``n * (weight_bits + [delay_bits] + [tag_bits + learning_extra_bits] + index_bits)
    + group_header_bits`` bits, rounded up to whole ``word_bits`` memory words (nengo-loihi's
    ``SynapseConfig.bits_per_axon``). Delay bits are stored only when the projection has delays,
    tag (and extra learning) bits only when it learns. A crossbar (TrueNorth, Tianjic) is a group of
    ``group_size = row length`` with ``word_bits`` = one full row, so any used axon costs a whole row.

    ``shared_conv_weights``: the core stores a convolution kernel once instead of one synapse per
    (input, output) pair (Loihi 2's convolutional encoding; assumed where unpublished). A Conv2d
    projection's synapses then cost no per-synapse bits: each input axon carrying them costs
    ``shared_axon_bits`` (its header, one word), and each kernel slice (one output channel's
    ``C_in/groups * kh * kw`` weights) used by the core's neurons costs ``kernel_bits`` once per core.
    """
    weight_bits: int
    delay_bits: int
    tag_bits: int
    index_bits: int
    group_size: int
    group_header_bits: int
    word_bits: int
    learning_extra_bits: int
    shared_conv_weights: bool = False

    def synapse_bits(self, has_delay: bool, learning: bool) -> int:
        """Bits of one stored synapse."""
        return (self.weight_bits + self.index_bits + (self.delay_bits if has_delay else 0)
                + ((self.tag_bits + self.learning_extra_bits) if learning else 0))

    def axon_bits(self, n_synapses, has_delay: bool, learning: bool) -> np.ndarray:
        """Memory bits used by input axons holding ``n_synapses`` synapses each (vectorised, int64).

        ``full = n // G`` full groups cost ``ceil((G*s + h)/W)*W`` each; the remainder ``r = n % G``
        (if > 0) costs ``ceil((r*s + h)/W)*W``. An axon with no synapses costs nothing.
        """
        n = np.asarray(n_synapses, dtype=np.int64)
        if n.size and n.min() < 0:
            raise TargetError(f"synapse encoding: negative synapse count {int(n.min())} per axon")
        s = self.synapse_bits(has_delay, learning)
        g, h, w = self.group_size, self.group_header_bits, self.word_bits
        full_cost = -(-(g * s + h) // w) * w
        rem = n % g
        rem_cost = np.where(rem > 0, -(-(rem * s + h) // w) * w, 0)
        return (n // g) * full_cost + rem_cost

    @property
    def shared_axon_bits(self) -> int:
        """Bits of an input axon whose synapses are a shared kernel: its group header, in whole words."""
        return -(-max(self.group_header_bits, 1) // self.word_bits) * self.word_bits

    def kernel_bits(self, entries, has_delay) -> np.ndarray:
        """Bits of kernel slices of ``entries`` weights each (a delay stored with each weight where
        ``has_delay``), each rounded up to whole words (vectorised, int64)."""
        n = np.asarray(entries, np.int64)
        per = self.weight_bits + np.where(np.asarray(has_delay, bool), self.delay_bits, 0)
        return -(-(n * per) // self.word_bits) * self.word_bits


@dataclass(frozen=True)
class CoreLimits:
    """Per-core capacity. ``max_fan_in``: input synapses per neuron (None: only the axon limit binds);
    ``max_fan_out``: distinct destination cores per neuron (None: only the output-axon limit binds).
    ``max_delay``: largest synaptic delay in extra steps, Lava's convention (a spike sent at step t
    arrives at t + 1 + delay); 0 means the target has no programmable delays."""
    max_neurons: int
    max_input_axons: int
    max_output_axons: int
    synapse_memory_bits: int
    max_fan_in: int | None
    max_fan_out: int | None
    max_delay: int
    synapse_encoding: SynapseEncoding


@dataclass(frozen=True)
class NumberFormats:
    """Fixed-point formats. ``weight_bits``: width of a weight value including its sign when
    ``signed_weights`` (9 -> [-256, 255]); the effective weight is ``w * 2**weight_exp`` with one
    ``weight_exp`` in ``[weight_exp_min, weight_exp_max]`` per projection. ``state_bits``: signed width of
    the neuron state (u, v); ``decay_bits``: width of du/dv (decay = d / 2**decay_bits per step);
    ``vth_bits``: unsigned threshold mantissa width; bias = ``bias_mant * 2**bias_exp`` with a signed
    ``bias_mant_bits``-wide mantissa. ``graded_messages``: the chip sends multi-bit payloads (graded
    spikes) of up to ``max_message_bits`` bits, so it runs SigmaDelta/Delta/Sigma and projections with
    ``num_message_bits > 0`` (optional in a model file: false and 0 when absent). ``resonators``: the cores
    run resonate-and-fire neurons (RF, RF_IZ: two state components, two input channels; optional, false
    when absent). ``spike_packet_bits``:
    bits of one binary spike message on the network; a graded message of ``b`` payload bits costs
    ``1 + b / spike_packet_bits`` times a spike message's network energy and latency (0, absent: the
    same as a spike; the cost model's rule, ``backends/emulator/costmodel.py``)."""
    weight_bits: int
    weight_exp_min: int
    weight_exp_max: int
    state_bits: int
    decay_bits: int
    vth_bits: int
    bias_mant_bits: int
    bias_exp_min: int
    bias_exp_max: int
    signed_weights: bool
    graded_messages: bool = False
    max_message_bits: int = 0
    resonators: bool = False
    spike_packet_bits: int = 0


#: Widest graded message a model file may declare (Loihi 2: "up to 32-bit payload").
MAX_MESSAGE_BITS = 32


@dataclass(frozen=True)
class Costs:
    """Per-operation energy (J) and latency (s); how each is charged is written in the model file's
    ``assumptions``. ``latency["barrier"]`` is the barrier over the whole single-chip mesh; use
    :meth:`barrier_latency` for the span a step actually covers."""
    energy: dict[str, Quantity]
    latency: dict[str, Quantity]
    barrier_latency_by_tiles: list[tuple[int, float]]
    static_power_w: Quantity | None
    clock_hz: Quantity | None
    #: (source, status) of each ``barrier_latency_by_tiles`` point, same order.
    barrier_sources: list[tuple[str, str]] = field(default_factory=list)
    #: (chips spanned, seconds) points of the barrier of a step spanning more than one chip; empty if
    #: the model has none (then the tile table alone is used).
    barrier_latency_by_chips: list[tuple[int, float]] = field(default_factory=list)
    barrier_chip_sources: list[tuple[str, str]] = field(default_factory=list)
    #: Parameters of the message-level timing model (``[timing]``, ``TIMING_KEYS``); empty if the file has
    #: none (then ``emulate(timing="cycle")`` names the missing section).
    timing: dict[str, Quantity] = field(default_factory=dict)
    #: What ``tiles`` of the barrier table counts (``[barrier] span``, ``BARRIER_SPANS``): "bounding_box" (the
    #: tiles of the box around the used cores; default) or "tiles_used" (tiles holding used cores only).
    barrier_span: str = "bounding_box"
    barrier_span_source: tuple[str, str] = ("default: [barrier] span not given", "assumed")

    def barrier_latency(self, tiles: int, chips: int = 1) -> float:
        """Barrier time (s) of a step whose cores span ``tiles`` tiles (on ``chips`` chips).

        Piecewise-linear interpolation between the model's (tiles, seconds) points, clamped to the
        first/last point outside them (no extrapolation: a span beyond the table costs the last
        published value). When ``chips > 1`` and the model has a per-chip table, the result is the
        larger of the tile value and the chip-table value (a multi-chip barrier crosses chip links).
        """
        if tiles < 1:
            raise TargetError(f"barrier_latency: tiles spanned must be >= 1, got {tiles}")
        xs, ys = zip(*self.barrier_latency_by_tiles)
        t = float(np.interp(float(tiles), np.asarray(xs, float), np.asarray(ys, float)))
        if chips > 1 and self.barrier_latency_by_chips:
            cx, cy = zip(*self.barrier_latency_by_chips)
            t = max(t, float(np.interp(float(chips), np.asarray(cx, float), np.asarray(cy, float))))
        return t

    def message_energy(self, hops_ew, hops_ns, hops_interchip=0):
        """Energy (J) of one spike message to one destination core: ``spike_out + spike_within_tile
        + ew*hop_ew + ns*hop_ns + interchip*hop_interchip`` (vectorised over hop counts)."""
        e = self.energy
        return (e["spike_out"].value + e["spike_within_tile"].value + np.asarray(hops_ew) * e["hop_ew"].value
                + np.asarray(hops_ns) * e["hop_ns"].value + np.asarray(hops_interchip) * e["hop_interchip"].value)


@dataclass(frozen=True)
class PartialSums:
    """Whether and how a core's dendrite can be split over several cores (``[partial_sums]``,
    docs/fanin.md): a *segment* core accumulates its share of a neuron's synapses and forwards the
    integer partial sum to the neuron's *soma* core in the same step (``latency_steps = 0``; a target
    declaring more is refused by the split, whose exactness is proven for 0 only). ``payload_bits``:
    signed width of a partial-sum message (a split whose worst-case partial sum does not fit is
    refused); ``uses_input_axons``: a partial sum enters the soma core on an input axon (Loihi 2's
    graded spike through a one-synapse axon) rather than the dendrite's own adder port (Tianjic);
    ``energy``/``latency``: per message, on top of the hop costs of ``[energy]``/``[latency]``."""
    supported: bool
    payload_bits: int
    latency_steps: int
    uses_input_axons: bool
    energy: Quantity | None
    latency: Quantity | None
    source: str
    status: str

    def to_dict(self) -> dict:
        d = asdict(self)
        d["energy"] = self.energy.to_dict() if self.energy else None
        d["latency"] = self.latency.to_dict() if self.latency else None
        return d


#: A target file without ``[partial_sums]``: dendrites cannot be split.
NO_PARTIAL_SUMS = PartialSums(False, 0, 0, False, None, None, "not declared in the model file", "assumed")


@dataclass(frozen=True)
class Target:
    """One chip (or board of chips) as the compiler sees it. ``sources`` maps the key path of every
    plain number in the file (e.g. ``core.max_neurons``) to its ``(source, status)``."""
    name: str
    description: str
    path: str
    mesh: Mesh
    core: CoreLimits
    formats: NumberFormats
    costs: Costs
    learning: bool
    assumptions: list[str]
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)
    partial_sums: PartialSums = NO_PARTIAL_SUMS
    #: sha256 of the model file's bytes ("" for a Target built in Python)
    sha256: str = ""

    def to_dict(self) -> dict:
        """JSON-able description with every source, for the artifact's ``mapping.json``."""
        c = self.costs
        return {
            "name": self.name,
            "description": self.description,
            "path": Path(self.path).name,   # the file name only: artifacts must not depend on the machine
            "sha256": self.sha256,
            "mesh": {**asdict(self.mesh), "n_tiles": self.mesh.n_tiles, "n_cores": self.mesh.n_cores},
            "core": asdict(self.core),
            "formats": asdict(self.formats),
            "costs": {
                "energy": {k: q.to_dict() for k, q in c.energy.items()},
                "latency": {k: q.to_dict() for k, q in c.latency.items()},
                "barrier_latency_by_tiles": [
                    {"tiles": t, "seconds": s, "source": src, "status": st}
                    for (t, s), (src, st) in zip(c.barrier_latency_by_tiles, c.barrier_sources)],
                "barrier_latency_by_chips": [
                    {"chips": n, "seconds": s, "source": src, "status": st}
                    for (n, s), (src, st) in zip(c.barrier_latency_by_chips, c.barrier_chip_sources)],
                "static_power_w": c.static_power_w.to_dict() if c.static_power_w else None,
                "clock_hz": c.clock_hz.to_dict() if c.clock_hz else None,
                "timing": {k: q.to_dict() for k, q in c.timing.items()},
                "barrier_span": {"rule": c.barrier_span, "source": c.barrier_span_source[0],
                                 "status": c.barrier_span_source[1]},
            },
            "learning": self.learning,
            **({"partial_sums": self.partial_sums.to_dict()} if self.partial_sums.supported else {}),
            "assumptions": list(self.assumptions),
            "sources": {k: {"source": s, "status": st} for k, (s, st) in sorted(self.sources.items())},
        }


# --------------------------------------------------------------------------------------------
# parsing: every check names the file, the key path and what to do
# --------------------------------------------------------------------------------------------
#: Largest values this implementation accepts (not chip limits: the integer widths of the tables, the
#: emulator's state and a mesh whose per-core arrays fit in memory); key path -> (minimum, maximum).
_BOUNDS = {
    "mesh.chips": (1, 4096), "mesh.chips_x": (1, 4096), "mesh.chips_y": (1, 4096),
    "mesh.tiles_x": (1, 4096), "mesh.tiles_y": (1, 4096), "mesh.cores_per_tile": (1, 4096),
    "core.max_neurons": (1, 1 << 24), "core.max_input_axons": (1, 1 << 24), "core.max_output_axons": (1, 1 << 24),
    "core.synapse_memory_bits": (1, 1 << 40), "core.max_fan_in": (1, 1 << 30), "core.max_fan_out": (1, 1 << 24),
    "core.max_delay": (0, (1 << 15) - 1),   # per-synapse delays are int16 in the tables
    "formats.weight_bits": (1, 24), "formats.weight_exp_min": (-32, 32), "formats.weight_exp_max": (-32, 32),
    "formats.state_bits": (1, 32), "formats.decay_bits": (1, 16), "formats.vth_bits": (1, 32),
    "formats.bias_mant_bits": (1, 32), "formats.bias_exp_min": (-32, 32), "formats.bias_exp_max": (-32, 32),
}
#: every synapse_encoding field: a bit count or group size of at most this
_ENCODING_MAX = 1 << 20
#: most cores a mesh may have (per-core arrays are allocated for all of them)
MAX_MESH_CORES = 1 << 24


class _Reader:
    """Typed access to a parsed TOML document that reports errors with the file and key path."""

    def __init__(self, doc: dict, path: str):
        self.doc = doc
        self.path = path

    def fail(self, key: str, problem: str, fix: str) -> TargetError:
        return TargetError(f"hardware model {self.path}: {key}: {problem}; {fix}")

    def table(self, parent: dict, key: str, prefix: str = "", optional: bool = False) -> dict | None:
        kp = prefix + key
        if key not in parent:
            if optional:
                return None
            raise self.fail(kp, "missing table", f"add a [{kp}] section (see the shipped hw_models/*.toml)")
        v = parent[key]
        if not isinstance(v, dict):
            raise self.fail(kp, f"expected a table, got {type(v).__name__}", f"write it as [{kp}] with keys")
        return v

    def value(self, tbl: dict, key: str, prefix: str, kind: str, *, minimum=None, optional=False):
        """kind: 'int', 'float', 'str', 'bool'. Bools are never accepted as numbers."""
        kp = prefix + key
        if key not in tbl:
            if optional:
                return None
            raise self.fail(kp, "missing key", f"add `{key} = <{kind}>` to [{prefix.rstrip('.') or 'top level'}]")
        v = tbl[key]
        ok = {"int": isinstance(v, int) and not isinstance(v, bool),
              "float": isinstance(v, (int, float)) and not isinstance(v, bool),
              "str": isinstance(v, str),
              "bool": isinstance(v, bool)}[kind]
        if not ok:
            want = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}[kind]
            raise self.fail(kp, f"expected {want}, got {type(v).__name__} {v!r}", f"write e.g. `{key} = {_example(kind)}`")
        if kind == "float":
            v = float(v)
            if not math.isfinite(v):
                raise self.fail(kp, f"value {v} is not finite", "give a finite number")
        if minimum is not None and v < minimum:
            raise self.fail(kp, f"value {v} is below the minimum {minimum}",
                            "give a positive value" if minimum > 0 else f"give a value >= {minimum}")
        lo, hi = _BOUNDS.get(kp, (None, _ENCODING_MAX if kp.startswith("core.synapse_encoding.") else None))
        if kind == "int" and ((hi is not None and v > hi) or (lo is not None and v < lo)):
            raise self.fail(kp, f"value {v} is outside the range neurocomp supports, {lo if lo is not None else minimum}"
                            f"..{hi}", "give a value in that range (larger ones exceed the integer widths of the "
                            "tables or the memory of a mesh)")
        return v

    def no_unknown(self, tbl: dict, known, prefix: str):
        extra = sorted(set(tbl) - set(known))
        if extra:
            kp = prefix + extra[0]
            raise self.fail(kp, "unknown key", f"remove it or fix the spelling; known keys here: {', '.join(known)}")


def _example(kind: str) -> str:
    return {"int": "4", "float": "1.5e-12", "str": '"text"', "bool": "true"}[kind]


def _quantity(r: _Reader, tbl: dict, kp: str, unit: str) -> Quantity:
    pre = kp + "."
    r.no_unknown(tbl, ("value", "unit", "source", "status"), pre)
    value = r.value(tbl, "value", pre, "float", minimum=0)
    u = r.value(tbl, "unit", pre, "str")
    if u != unit:
        raise r.fail(pre + "unit", f"unit {u!r} is not {unit!r}", f"give the value in {unit} (SI, e.g. 23.6e-12 not 23.6 pJ)")
    source = r.value(tbl, "source", pre, "str")
    if not source.strip():
        raise r.fail(pre + "source", "empty source", "name the paper/table it comes from, or explain the assumption")
    status = _status(r, r.value(tbl, "status", pre, "str"), pre + "status")
    return Quantity(value, unit, source, status)


def _status(r: _Reader, status: str, kp: str) -> str:
    if status not in STATUSES:
        raise r.fail(kp, f"unknown status {status!r}", f"use one of {', '.join(STATUSES)}")
    return status


def _mesh(r: _Reader) -> Mesh:
    t = r.table(r.doc, "mesh")
    names = ("chips", "chips_x", "chips_y", "tiles_x", "tiles_y", "cores_per_tile")
    r.no_unknown(t, names, "mesh.")
    vals = {n: r.value(t, n, "mesh.", "int", minimum=1, optional=n.startswith("chips")) for n in names}
    # Chips default to one; a missing grid side is filled from the other (a row of chips by default).
    chips = vals["chips"] or 1
    cx, cy = vals["chips_x"], vals["chips_y"]
    if cx is None:
        cx = chips if cy is None else max(chips // cy, 1)
    if cy is None:
        cy = max(chips // cx, 1)
    if cx * cy != chips:
        raise r.fail("mesh.chips", f"chips = {chips} but chips_x * chips_y = {cx} * {cy} = {cx * cy}",
                     "make chips_x * chips_y equal chips (chips form a grid)")
    total = chips * vals["tiles_x"] * vals["tiles_y"] * vals["cores_per_tile"]
    if total > MAX_MESH_CORES:
        raise r.fail("mesh", f"chips * tiles_x * tiles_y * cores_per_tile = {total:,} cores, more than the "
                     f"{MAX_MESH_CORES:,} neurocomp supports", "give a smaller mesh")
    return Mesh(chips, cx, cy, vals["tiles_x"], vals["tiles_y"], vals["cores_per_tile"])


def _core(r: _Reader) -> CoreLimits:
    t = r.table(r.doc, "core")
    names = ("max_neurons", "max_input_axons", "max_output_axons", "synapse_memory_bits", "max_fan_in",
             "max_fan_out", "max_delay", "synapse_encoding")
    r.no_unknown(t, names, "core.")
    v = {n: r.value(t, n, "core.", "int", minimum=1) for n in names[:4]}
    for n in ("max_fan_in", "max_fan_out"):
        v[n] = r.value(t, n, "core.", "int", minimum=1, optional=True)
    v["max_delay"] = r.value(t, "max_delay", "core.", "int", minimum=0)
    e = r.table(t, "synapse_encoding", "core.")
    enc_names = ("weight_bits", "delay_bits", "tag_bits", "index_bits", "group_size", "group_header_bits",
                 "word_bits", "learning_extra_bits")
    pre = "core.synapse_encoding."
    r.no_unknown(e, (*enc_names, "shared_conv_weights"), pre)
    positive = ("weight_bits", "group_size", "word_bits")
    enc = SynapseEncoding(**{n: r.value(e, n, pre, "int", minimum=1 if n in positive else 0) for n in enc_names},
                          shared_conv_weights=bool(r.value(e, "shared_conv_weights", pre, "bool", optional=True)))
    # delay_bits = 0 means delays are not stored per synapse (TrueNorth keeps them per axon).
    if enc.delay_bits > 0 and (1 << enc.delay_bits) - 1 < v["max_delay"]:
        raise r.fail(pre + "delay_bits", f"{enc.delay_bits} bits cannot hold core.max_delay = {v['max_delay']}",
                     f"use at least {int(v['max_delay']).bit_length()} delay bits or lower core.max_delay")
    return CoreLimits(synapse_encoding=enc, **v)


def _formats(r: _Reader) -> NumberFormats:
    t = r.table(r.doc, "formats")
    ints = {"weight_bits": 1, "weight_exp_min": None, "weight_exp_max": None, "state_bits": 1, "decay_bits": 1,
            "vth_bits": 1, "bias_mant_bits": 1, "bias_exp_min": None, "bias_exp_max": None}
    r.no_unknown(t, (*ints, "signed_weights", "graded_messages", "max_message_bits", "resonators",
                     "spike_packet_bits"), "formats.")
    v = {n: r.value(t, n, "formats.", "int", minimum=m) for n, m in ints.items()}
    v["signed_weights"] = r.value(t, "signed_weights", "formats.", "bool")
    v["graded_messages"] = bool(r.value(t, "graded_messages", "formats.", "bool", optional=True))
    v["resonators"] = bool(r.value(t, "resonators", "formats.", "bool", optional=True))
    bits = r.value(t, "max_message_bits", "formats.", "int", minimum=0, optional=True)
    if v["graded_messages"] and not bits:
        raise r.fail("formats.max_message_bits", "missing or 0 while graded_messages = true",
                     f"give the widest graded payload, `max_message_bits = 24` (1..{MAX_MESSAGE_BITS})")
    if not v["graded_messages"] and bits:
        raise r.fail("formats.max_message_bits", f"{bits} while graded_messages is false",
                     "set graded_messages = true, or max_message_bits = 0 for a chip with binary spikes only")
    if bits and bits > MAX_MESSAGE_BITS:
        raise r.fail("formats.max_message_bits", f"value {bits} is above {MAX_MESSAGE_BITS}",
                     f"give at most {MAX_MESSAGE_BITS} bits")
    v["max_message_bits"] = int(bits or 0)
    packet = r.value(t, "spike_packet_bits", "formats.", "int", minimum=0, optional=True)
    if packet and not v["graded_messages"]:
        raise r.fail("formats.spike_packet_bits", f"{packet} while graded_messages is false",
                     "remove it (it scales the cost of graded messages) or set graded_messages = true")
    v["spike_packet_bits"] = int(packet or 0)
    for lo, hi in (("weight_exp_min", "weight_exp_max"), ("bias_exp_min", "bias_exp_max")):
        if v[lo] > v[hi]:
            raise r.fail("formats." + lo, f"{lo} = {v[lo]} is above {hi} = {v[hi]}", "swap them or fix the range")
    return NumberFormats(**v)


def _points(r: _Reader, tbl: dict, key: str, xname: str, optional: bool):
    kp = "barrier." + key
    if key not in tbl:
        if optional:
            return [], []
        raise r.fail(kp, "missing key", f"add `{key} = [{{{xname} = 1, seconds = 1e-7, source = \"...\", "
                                        "status = \"measured\"}}, ...]`")
    pts = tbl[key]
    if not isinstance(pts, list) or not pts or not all(isinstance(p, dict) for p in pts):
        raise r.fail(kp, "expected a non-empty list of inline tables",
                     f"write `{key} = [{{{xname} = 1, seconds = 1e-7, source = \"...\", status = \"...\"}}]`")
    xy, src = [], []
    for i, p in enumerate(pts):
        pre = f"{kp}[{i}]."
        r.no_unknown(p, (xname, "seconds", "source", "status"), pre)
        x = r.value(p, xname, pre, "int", minimum=1)
        s = r.value(p, "seconds", pre, "float", minimum=0)
        source = r.value(p, "source", pre, "str")
        status = _status(r, r.value(p, "status", pre, "str"), pre + "status")
        if xy and x <= xy[-1][0]:
            raise r.fail(pre + xname, f"{xname} = {x} does not increase", f"list the points by increasing {xname}")
        xy.append((x, s))
        src.append((source, status))
    return xy, src


#: ``[barrier] span`` rules: what the tile count of the barrier table counts.
BARRIER_SPANS = ("bounding_box", "tiles_used")


def _barrier_span(r: _Reader, b: dict) -> tuple[str, tuple[str, str]]:
    """``[barrier] span = {rule = "...", source = "...", status = "..."}`` (optional; default bounding_box)."""
    if "span" not in b:
        return "bounding_box", ("default: [barrier] span not given", "assumed")
    pre = "barrier.span."
    t = r.table(b, "span", "barrier.")
    r.no_unknown(t, ("rule", "source", "status"), pre)
    rule = r.value(t, "rule", pre, "str")
    if rule not in BARRIER_SPANS:
        raise r.fail(pre + "rule", f"unknown rule {rule!r}", f"use one of {', '.join(BARRIER_SPANS)}")
    return rule, (r.value(t, "source", pre, "str"), _status(r, r.value(t, "status", pre, "str"), pre + "status"))


def _costs(r: _Reader, mesh: Mesh) -> Costs:
    dicts = {}
    for group in ("energy", "latency"):
        t = r.table(r.doc, group)
        needed = [k for k in COST_KEYS if not (group == "latency" and k == "barrier")]
        for k in needed:
            if k not in t:
                raise r.fail(f"{group}.{k}", "missing cost", f"add [{group}.{k}] with value, unit = "
                             f"\"{_UNITS[group]}\", source and status (0 with status \"assumed\" if the chip has no such cost)")
        if group == "latency" and "barrier" in t:
            raise r.fail("latency.barrier", "given as a single number",
                         "give the barrier as [barrier] tiles = [...] points; latency.barrier is derived from them")
        dicts[group] = {k: _quantity(r, r.table(t, k, group + "."), f"{group}.{k}", _UNITS[group]) for k in t}
    b = r.table(r.doc, "barrier")
    r.no_unknown(b, ("tiles", "chips", "span"), "barrier.")
    tiles, tile_src = _points(r, b, "tiles", "tiles", optional=False)
    chips, chip_src = _points(r, b, "chips", "chips", optional=True)
    span_rule, span_src = _barrier_span(r, b)
    costs = Costs(dicts["energy"], dicts["latency"], tiles, _optional_quantity(r, "static_power"),
                  _optional_quantity(r, "clock"), tile_src, chips, chip_src, _timing(r), span_rule, span_src)
    # The whole-chip barrier, quoted with the table point at or below that span (its status binds).
    span = mesh.tiles_x * mesh.tiles_y
    below = [i for i, (x, _) in enumerate(tiles) if x <= span]
    src, status = tile_src[below[-1] if below else 0]
    costs.latency["barrier"] = Quantity(costs.barrier_latency(span), "s",
                                        f"barrier over all {span} tiles of one chip, interpolated in [barrier] "
                                        f"tiles (nearest point: {src})", status)
    return costs


def _partial_sums(r: _Reader) -> PartialSums:
    t = r.table(r.doc, "partial_sums", optional=True)
    if t is None:
        return NO_PARTIAL_SUMS
    pre = "partial_sums."
    r.no_unknown(t, ("supported", "payload_bits", "latency_steps", "uses_input_axons", "energy", "latency",
                     "source", "status"), pre)
    supported = r.value(t, "supported", pre, "bool")
    source = r.value(t, "source", pre, "str")
    status = _status(r, r.value(t, "status", pre, "str"), pre + "status")
    if not supported:
        return PartialSums(False, 0, 0, False, None, None, source, status)
    bits = r.value(t, "payload_bits", pre, "int", minimum=2)
    if bits > 64:
        raise r.fail(pre + "payload_bits", f"{bits} bits exceeds 64", "give the partial-sum message width (<= 64)")
    q = {k: _quantity(r, r.table(t, k, pre), pre + k, _UNITS[k]) for k in ("energy", "latency")}
    return PartialSums(True, bits, r.value(t, "latency_steps", pre, "int", minimum=0),
                       r.value(t, "uses_input_axons", pre, "bool"), q["energy"], q["latency"], source, status)


def _timing(r: _Reader) -> dict[str, Quantity]:
    """The optional ``[timing]`` section: all of ``TIMING_KEYS`` or none; counts must be whole and >= 1."""
    t = r.table(r.doc, "timing", optional=True)
    if t is None:
        return {}
    r.no_unknown(t, tuple(TIMING_KEYS), "timing.")
    out = {}
    for k, unit in TIMING_KEYS.items():
        if k not in t:
            raise r.fail(f"timing.{k}", "missing", f"add [timing.{k}] with value, unit = \"{unit}\", source and status")
        q = _quantity(r, r.table(t, k, "timing."), f"timing.{k}", unit)
        if unit != "s" and (q.value < 1 or q.value != int(q.value)):
            raise r.fail(f"timing.{k}.value", f"{q.value!r} is not a whole number >= 1", f"give a count of {unit}")
        out[k] = q
    return out


def _optional_quantity(r: _Reader, key: str) -> Quantity | None:
    t = r.table(r.doc, key, optional=True)
    return None if t is None else _quantity(r, t, key, _UNITS[key])


def _sources(r: _Reader, target_dict: dict) -> dict[str, tuple[str, str]]:
    t = r.table(r.doc, "sources", optional=True) or {}
    out = {}
    for kp, entry in t.items():
        pre = f"sources.\"{kp}\"."
        node: Any = target_dict
        for part in kp.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None or isinstance(node, dict):
            raise r.fail(f"sources.\"{kp}\"", "names no number in [mesh], [core] or [formats]",
                         "use the key path of a plain number, e.g. \"core.max_neurons\"")
        if not isinstance(entry, dict):
            raise r.fail(f"sources.\"{kp}\"", "expected an inline table", "write { source = \"...\", status = \"...\" }")
        r.no_unknown(entry, ("source", "status"), pre)
        out[kp] = (r.value(entry, "source", pre, "str"), _status(r, r.value(entry, "status", pre, "str"), pre + "status"))
    return out


def _parse(doc: dict, path: str) -> Target:
    r = _Reader(doc, path)
    top = ("name", "description", "learning", "assumptions", "mesh", "core", "formats", "energy", "latency",
           "barrier", "static_power", "clock", "timing", "sources", "partial_sums")
    name = r.value(doc, "name", "", "str")
    description = r.value(doc, "description", "", "str")
    learning = r.value(doc, "learning", "", "bool")
    assumptions = doc.get("assumptions", [])
    if not isinstance(assumptions, list) or not all(isinstance(a, str) for a in assumptions):
        raise r.fail("assumptions", "expected a list of strings", 'write assumptions = ["...", "..."]')
    mesh = _mesh(r)
    core = _core(r)
    formats = _formats(r)
    costs = _costs(r, mesh)
    psums = _partial_sums(r)
    r.no_unknown(doc, top, "")  # after the required parts, so a misspelt section reads as missing
    plain = {"mesh": asdict(mesh), "core": asdict(core), "formats": asdict(formats)}
    return Target(name, description, path, mesh, core, formats, costs, learning, list(assumptions),
                  _sources(r, plain), psums)


# --------------------------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------------------------
def _shipped() -> dict[str, Path]:
    root = resources.files("neurocomp.hw_models")
    return {Path(str(p)).stem: Path(str(p)) for p in sorted(root.iterdir(), key=lambda p: p.name)
            if p.name.endswith(".toml")}


def load_target_file(path: str | Path) -> Target:
    """Parse one model file (absolute or relative to the current working directory)."""
    from .safeio import parse_toml, regular_file
    p = Path(path).expanduser()
    shown = str(p.resolve()) if p.exists() else str(p)
    regular_file(p, "file", TargetError, where=f"hardware model {shown}",
                 fix=f"give an existing .toml path or one of the shipped targets: {', '.join(_shipped())}")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise TargetError(f"hardware model {shown}: cannot read ({e}); check the path and permissions") from None
    doc = parse_toml(data, f"hardware model {shown}", TargetError)
    import hashlib
    from dataclasses import replace
    return replace(_parse(doc, shown), sha256=hashlib.sha256(data).hexdigest())


def load_target(name_or_path: str | Path | Target) -> Target:
    """A shipped target by name (``"loihi2"``), a user model file by path, or a Target unchanged.

    A string is a path if it names an existing file, ends in ``.toml`` or contains a path separator;
    otherwise it is a shipped target's name.
    """
    if isinstance(name_or_path, Target):
        return name_or_path
    if not isinstance(name_or_path, (str, Path)):
        raise TargetError(f"target {name_or_path!r}: expected a target name, a .toml path or a Target")
    s = str(name_or_path)
    if isinstance(name_or_path, Path) or s.endswith(".toml") or "/" in s or "\\" in s or os.path.lexists(s):
        return load_target_file(name_or_path)
    shipped = _shipped()
    key = s.strip().lower()
    if key not in shipped:
        raise TargetError(f"unknown target {s!r}; shipped targets: {', '.join(shipped)} "
                          "(or give the path of your own .toml model file)")
    return load_target_file(shipped[key])


def list_targets() -> list[Target]:
    """Every shipped target, sorted by name."""
    return [load_target_file(p) for p in _shipped().values()]


def write_multichip(base: str, chips_x: int, chips_y: int, path) -> Path:
    """Write a copy of shipped target ``base``'s model file with a ``chips_x`` x ``chips_y`` chip grid to ``path``
    (named ``{base}_x{chips}``): the user file a network too large for one chip is compiled for (e.g. an
    8-chip Loihi 2 board, ``write_multichip("loihi2", 4, 2, "loihi2_x8.toml")``). Every figure and its
    source stay those of ``base``; the [mesh] chip keys must still be the shipped single-chip values."""
    import re
    from .atomic import atomic_file
    shipped = _shipped()
    if base not in shipped:
        raise TargetError(f"write_multichip: unknown target {base!r}; shipped targets: {', '.join(shipped)}")
    if min(int(chips_x), int(chips_y)) < 1:
        raise TargetError(f"write_multichip: chips_x = {chips_x}, chips_y = {chips_y} must be >= 1")
    text = shipped[base].read_text(encoding="utf-8")
    name = f"{base}_x{int(chips_x) * int(chips_y)}"
    for key, val in (("chips", int(chips_x) * int(chips_y)), ("chips_x", int(chips_x)), ("chips_y", int(chips_y)),
                     ("name", f'"{name}"')):
        text, n = re.subn(rf"^{key} = (1\b|\"{base}\")", f"{key} = {val}", text, count=1, flags=re.M)
        if n != 1:
            raise TargetError(f"write_multichip: {shipped[base].name} has no single-chip '{key}' line to replace")
    _parse(tomli.loads(text), name)                 # the copy must still be a valid model
    path = Path(path)
    with atomic_file(path, "w") as fh:
        fh.write(text)
    return path
