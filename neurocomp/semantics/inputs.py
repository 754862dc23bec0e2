"""What a run accepts as inputs and what it can record: the one place every backend validates them.

Every backend (the emulator, Lava, the numpy reference) and the CLI's ``--input`` file check a run's
``steps``, ``inputs`` and ``record`` with the functions here, so a bad input gives the same message
whichever backend runs it. The rules:

* ``steps``: a positive integer.
* ``inputs``: ``None`` leaves every graph input silent; otherwise a dict naming every graph input
  (zeros for a silent one) and nothing else. A spike input is ``[T, *shape]`` (or ``[T, n]``) of 0/1
  with ``T >= steps``; row t-1 fires at step t and rows beyond ``steps`` are unused.
* A *graded input* (one that feeds a projection with ``num_message_bits > 0``, see
  ``neurocomp.semantics.synapses.graded_inputs``) carries integer payloads instead of spikes: ``[T, *shape]``
  of ints within the signed range of the narrowest such projection's ``num_message_bits``
  (24 bits: ``[-2^23, 2^23 - 1]``); 0 sends nothing. Its binary projections (if any) read value != 0 as a spike.
* A *third-factor (reward) input* of a learning rule (:func:`third_factor_inputs`) carries ints 0..127
  instead: ``[T]``, ``[T, 1]`` (one value for every post neuron) or ``[T, n_post]`` of each learning
  projection that reads it. It is not a spike source: it may not feed any projection.
* ``record``: any of :data:`RECORDABLE`.

:class:`InputSpec` says which graph inputs a run has and what each takes; it is built from a Network
(:meth:`InputSpec.of_network`) or, when a backend holds only per-core tables, from their input
names and channel counts. :func:`check_input_rows` validates a user's ``inputs`` against it and
returns them as per-step rows (uint8 ``[steps, n]`` spikes, int64 ``[steps, n]`` graded payloads,
int64 ``[steps, 1 | n_post]`` rewards),
which is all a backend has to convert.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import UnsupportedError, ValidationError

#: Variables a run can record (``Result.spikes``, ``.v``, ``.u``, ``.weights``); the state variables of every
#: registered neuron model can be recorded too (:func:`recordable`, into ``Result.state``).
RECORDABLE = ("spikes", "v", "u", "weights")


def recordable() -> tuple[str, ...]:
    """:data:`RECORDABLE` plus the state variables of every registered neuron model (e.g. SigmaDelta's
    ``sigma``, ``act``, ``residue``, ``error``)."""
    from ..neurons import NEURONS
    key = tuple(NEURONS)
    if _RECORDABLE_CACHE.get("key") != key:          # once per set of registered models
        out = list(RECORDABLE)
        for kind in NEURONS.values():
            out += [v for v in kind.state if v not in out]
        _RECORDABLE_CACHE.update(key=key, value=tuple(out))
    return _RECORDABLE_CACHE["value"]


_RECORDABLE_CACHE: dict = {}


# ----------------------------------------------------------------------------------- steps, record
def check_steps(steps) -> int:
    """``steps`` as an int; a ValidationError unless it is a positive integer."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValidationError(f"steps must be a positive integer, got {steps!r}")
    return int(steps)


def check_record(record) -> tuple[str, ...]:
    """``record`` (a name, a sequence of names, or None for nothing) as a tuple of :func:`recordable` names."""
    record = () if record is None else (record,) if isinstance(record, str) else tuple(record)
    if record in _VALID_RECORDS:                     # checked before (models are never unregistered)
        return record
    known = recordable()
    bad = [r for r in record if r not in known]
    if bad:
        raise ValidationError(f"record: unknown variable(s) {bad}; choose from {list(known)}")
    if len(_VALID_RECORDS) < 256:
        _VALID_RECORDS.add(record)
    return record


_VALID_RECORDS: set = set()


# ----------------------------------------------------------------------------------- which inputs
def third_factor_inputs(net) -> dict[str, list]:
    """``{graph input name: [learning projections whose rule names it as third_factor]}``.

    A third-factor (reward) input carries ints 0..127, not spikes: it must be a graph input and may
    not be the source of any projection (it has no synapses; it only feeds y2 of the rule).
    """
    out: dict[str, list] = {}
    for proj in net.projections.values():
        tf = proj.learning.third_factor if proj.learning is not None else None
        if tf is None:
            continue
        where = f"projection '{proj.name}' (learning rule '{proj.learning.name}')"
        if tf not in net.populations or not net.populations[tf].is_input:
            raise UnsupportedError(f"{where}: third factor '{tf}' must be a graph input (net.input), not a neuron "
                                   "population")
        out.setdefault(tf, []).append(proj)
    for proj in net.projections.values():
        if proj.source in out:
            raise UnsupportedError(f"projection '{proj.name}': its source '{proj.source}' is the third-factor "
                                   f"(reward) input of {[p.name for p in out[proj.source]]}; a reward input carries "
                                   "values 0..127, not spikes, and cannot feed synapses: use a separate input")
    return out


@dataclass(frozen=True)
class InputSpec:
    """The graph inputs of a run and what each accepts.

    ``owner`` names the network in messages. ``names``: every graph input, in order. ``shapes``: spike
    input -> its shape (``[T, *shape]`` and ``[T, n]`` are accepted). ``rewards``: third-factor input ->
    the ``n_post`` of every learning projection that reads it. ``loose``: spike inputs whose shape is
    unknown (per-core tables know only channel counts): any ``[T, ...]`` with that many channels.
    ``graded``: graded input -> the ``num_message_bits`` its values must fit (signed).
    """
    owner: str
    names: tuple
    shapes: dict
    rewards: dict = field(default_factory=dict)
    loose: frozenset = frozenset()
    graded: dict = field(default_factory=dict)

    @classmethod
    def of_network(cls, net) -> "InputSpec":
        from .synapses import graded_inputs
        rewards = {name: tuple(net.populations[p.target].size for p in projs)
                   for name, projs in third_factor_inputs(net).items()}
        shapes = {name: tuple(net.populations[name].shape) for name in net.inputs if name not in rewards}
        return cls(f"network '{net.name}'", tuple(net.inputs), shapes, rewards, graded=graded_inputs(net))

    @classmethod
    def of_sizes(cls, owner: str, sizes: dict, shapes: dict | None = None, rewards: dict | None = None) -> "InputSpec":
        """From channel counts (``sizes``: name -> n) with the ``shapes`` known for some inputs."""
        rewards = dict(rewards or {})
        shapes = shapes or {}
        spikes = {name: tuple(shapes[name]) if name in shapes else (int(n),) for name, n in sizes.items()
                  if name not in rewards}
        return cls(owner, tuple(sizes), spikes, rewards, frozenset(n for n in spikes if n not in shapes))

    def size_text(self) -> str:
        return f"{sum(self.size(n) for n in self.names if n not in self.rewards):,} input channels"

    def size(self, name: str) -> int:
        return int(np.prod(self.shapes[name], dtype=np.int64))


# ----------------------------------------------------------------------------------- the checks
def check_input_keys(inputs, names, owner: str, shapes: dict | None = None) -> None:
    """``inputs`` must be a dict naming exactly the graph inputs ``names`` of ``owner``."""
    if not isinstance(inputs, dict):
        raise ValidationError(f"inputs must be a dict {{input name: array [T, *shape]}}, got {type(inputs).__name__}")
    names = list(names)
    unknown = sorted(set(inputs) - set(names))
    missing = sorted(set(names) - set(inputs))
    if unknown:
        raise ValidationError(f"inputs {unknown} are not graph inputs of {owner} (graph inputs: "
                              f"{', '.join(names) or 'none'})")
    if missing:
        want = ", ".join(f"'{k}' [T, {', '.join(map(str, shapes[k]))}]" if shapes and k in shapes else f"'{k}'"
                         for k in missing)
        raise ValidationError(f"no input given for graph input(s) {missing} of {owner}; give an array for each "
                              f"({want}; zeros for a silent input)")


def _input_array(values, name: str, shape: tuple | None, steps: int | None, loose: bool) -> np.ndarray:
    """An input ``[T, *shape]`` (or ``[T, n]``) with ``T >= steps`` (shape checks only)."""
    arr = np.asarray(values)
    want = "*shape" if shape is None else f"*{tuple(shape)}"
    if shape is None:
        ok = arr.ndim >= 2
    else:
        n = int(np.prod(shape, dtype=np.int64))
        ok = arr.ndim >= 2 and int(np.prod(arr.shape[1:], dtype=np.int64)) == n if loose else \
            arr.ndim >= 1 and tuple(arr.shape[1:]) in (tuple(shape), (n,))
    if not ok:
        raise ValidationError(f"input '{name}': shape {arr.shape} must be [T, {want}] (T time steps first)")
    if arr.shape[0] == 0:
        raise ValidationError(f"input '{name}': has 0 time steps (shape {arr.shape}); give one row per step")
    if steps is not None and arr.shape[0] < steps:
        raise ValidationError(f"input '{name}': {arr.shape[0]} time steps given but {steps} requested; "
                              "give at least as many rows as steps")
    return arr


#: How a spike input that is given other values is told about graded inputs.
_GRADED_HINT = ("graded (integer) values need a projection that reads them: give the input's projections "
                "num_message_bits > 0 (e.g. nc.OneToOne(1, num_message_bits=24))")


def check_spike_input(values, name: str, shape: tuple | None, steps: int | None = None,
                      loose: bool = False) -> np.ndarray:
    """One spike input ``[T, *shape]`` (or ``[T, n]``) of 0/1 with ``T >= steps``; returns uint8 ``[steps, n]``.

    ``shape`` None: any ``[T, ...]`` (at least 2-D); ``loose``: any trailing shape with ``prod(shape)``
    channels. ``steps`` None: every row is kept (no length requirement).
    """
    arr = _input_array(values, name, shape, steps, loose)
    if arr.dtype.kind not in "biuf":
        raise ValidationError(f"input '{name}': values must be spikes 0/1 (got dtype {arr.dtype}); {_GRADED_HINT}")
    # bool and unsigned: only values above 1 are wrong, one max over the array (three passes otherwise)
    maybe_wrong = arr.dtype.kind in "if" or (arr.dtype.kind == "u" and arr.size and arr.max() > 1)
    if maybe_wrong:
        wrong = (arr != 0) & (arr != 1)
        if wrong.any():
            bad = arr[wrong]
            raise ValidationError(f"input '{name}': values must be spikes 0/1; found value {bad.flat[0]!r} "
                                  f"({bad.size} entries not 0/1); {_GRADED_HINT}")
    t = arr.shape[0] if steps is None else steps
    return arr[:t].reshape(t, -1).astype(np.uint8)


def check_graded_input(values, name: str, shape: tuple | None, bits: int, steps: int | None = None,
                       loose: bool = False) -> np.ndarray:
    """One graded input ``[T, *shape]`` (or ``[T, n]``) of integers in the signed ``bits``-bit range
    (``[-2^(bits-1), 2^(bits-1) - 1]``) with ``T >= steps``; returns int64 ``[steps, n]``."""
    arr = _input_array(values, name, shape, steps, loose)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    what = (f"input '{name}': graded values must be integers in [{lo}, {hi}] (its projections carry "
            f"{bits}-bit messages)")
    if arr.dtype.kind not in "biuf":
        raise ValidationError(f"{what}; got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(np.nan_to_num(arr)))
        if bad.any():
            raise ValidationError(f"{what}; found value {arr[bad].flat[0]!r} ({int(bad.sum())} entries not integers)")
    out = arr.astype(np.int64) if arr.dtype.kind != "f" else np.round(arr).astype(np.int64)
    wrong = (arr < lo) | (arr > hi)
    if wrong.any():
        raise ValidationError(f"{what}; found value {arr[wrong].flat[0]!r} ({int(wrong.sum())} entries out of range)")
    t = out.shape[0] if steps is None else steps
    return out[:t].reshape(t, -1)


def check_reward_input(values, name: str, steps: int | None, n_posts) -> np.ndarray:
    """One third-factor input (ints 0..127, ``[T]``, ``[T, 1]`` or ``[T, n_post]`` for every reader's
    ``n_post``); returns int64 ``[steps, 1]`` or ``[steps, n_post]`` (use :func:`reward_rows` per projection)."""
    from .learning import check_reward
    arr = np.asarray(values)
    t = steps if steps is not None else (arr.shape[0] if arr.ndim else 0)
    for n_post in sorted(set(n_posts)):            # every reader must accept it
        check_reward(arr, name, t, n_post)
    arr = arr[:t].astype(np.int64)
    return arr[:, None] if arr.ndim == 1 else arr


def check_input_rows(spec: InputSpec, steps: int | None, inputs: dict | None, where: str = "") -> dict[str, np.ndarray]:
    """Validate ``inputs`` against ``spec`` and return them per step: uint8 ``[steps, n]`` per spike input,
    int64 ``[steps, n]`` per graded input, int64 ``[steps, 1 | n_post]`` per reward input (``inputs=None``: all zeros). ``steps`` None keeps
    every given row (a file read before the run length is known). ``where`` prefixes every message."""
    try:
        if steps is not None:
            steps = check_steps(steps)
        if inputs is None:
            if steps is None:
                return {}
            return {name: np.zeros((steps, 1), np.int64) if name in spec.rewards else
                    np.zeros((steps, spec.size(name)), np.int64 if name in spec.graded else np.uint8)
                    for name in spec.names}
        check_input_keys(inputs, spec.names, spec.owner, spec.shapes)
        out = {}
        for name in spec.names:
            if name in spec.rewards:
                out[name] = check_reward_input(inputs[name], name, steps, spec.rewards[name])
            elif name in spec.graded:
                out[name] = check_graded_input(inputs[name], name, spec.shapes[name], spec.graded[name], steps,
                                               name in spec.loose)
            else:
                out[name] = check_spike_input(inputs[name], name, spec.shapes[name], steps, name in spec.loose)
        return out
    except ValidationError as exc:
        if not where:
            raise
        raise ValidationError(f"{where}{exc}") from None


def check_step_inputs(spec: InputSpec, given, t: int, silent: dict | None = None) -> dict[str, np.ndarray]:
    """One step's inputs from a closed loop's callback (``on_step`` returned ``given`` before step t + 1):
    ``{graph input: one step's values}`` (missing inputs silent) or None (all silent). Returns rows
    ``[1, n]`` like :func:`check_input_rows`, whose checks they pass (the message names the step).
    ``silent``: ``check_input_rows(spec, 1, None)`` computed once by the caller."""
    silent = check_input_rows(spec, 1, None) if silent is None else silent
    if given is None:
        return silent
    if not isinstance(given, dict):
        raise ValidationError(f"on_step at step {t}: must return a dict {{graph input: one step's values}} or None, "
                              f"got {type(given).__name__}")
    unknown = sorted(set(given) - set(spec.names))
    if unknown:
        raise ValidationError(f"on_step at step {t}: {unknown} are not graph inputs of {spec.owner} "
                              f"(graph inputs: {', '.join(spec.names)})")
    full = {name: np.asarray(given[name])[None] if name in given else silent[name] for name in spec.names}
    return check_input_rows(spec, 1, full, where=f"on_step at step {t}: ")


def check_run(spec: InputSpec, steps, inputs: dict | None, record, n_neurons: int = 0) -> tuple[int, tuple, dict]:
    """Everything a backend checks before it runs, in one order for all of them: ``steps``, ``record``,
    the memory that steps x (input channels + recorded neurons) will take (``n_neurons``: the neurons a
    run records, 0 if unknown), then ``inputs`` against ``spec``. Returns ``(steps, record, rows)``
    (rows: :func:`check_input_rows`)."""
    steps = check_steps(steps)
    record = check_record(record)
    channels = sum(max(spec.rewards[name], default=1) * 8 if name in spec.rewards else
                   spec.size(name) * (8 if name in spec.graded else 1) for name in spec.names)
    per_neuron = (1 if "spikes" in record else 0) + 8 * sum(v != "spikes" and v != "weights" for v in record)
    check_run_memory(steps, channels + n_neurons * per_neuron, f"{spec.size_text()} and recording {list(record)}")
    return steps, record, check_input_rows(spec, steps, inputs)


#: Below this many bytes a run's per-step arrays are not checked against the free RAM.
SMALL_RUN_BYTES = 64 * 2 ** 20


def check_run_memory(steps: int, bytes_per_step: int, what: str) -> None:
    """Refuse a run whose per-step arrays (``bytes_per_step`` x ``steps``) exceed half the available RAM,
    before anything is allocated; the message names the size, the limit and what lowers it."""
    needed = int(steps) * int(bytes_per_step)
    if needed < SMALL_RUN_BYTES:               # not worth a look at the free RAM (a file read per run)
        return
    from ..safeio import RUN_MEMORY_FRACTION, available_memory
    avail = available_memory()
    if avail <= 0 or needed <= avail * RUN_MEMORY_FRACTION:
        return
    budget = avail * RUN_MEMORY_FRACTION
    raise ValidationError(f"steps = {steps:,}: the run's inputs ({what}) need {needed / 2**30:,.2f} GiB, over the "
                          f"limit of {budget / 2**30:,.2f} GiB ({RUN_MEMORY_FRACTION:.0%} of the available RAM); run at "
                          f"most ~{int(budget // max(bytes_per_step, 1)):,} steps (--steps), record less (--record) "
                          "or free memory")


def check_inputs(net, steps: int, inputs: dict | None) -> dict[str, np.ndarray]:
    """Validate user inputs of Network ``net`` and return them as per-step rows (see :func:`check_input_rows`):
    uint8 ``[steps, n]`` per spike input, int64 ``[steps, 1]`` or ``[steps, n_post]`` per third-factor
    (reward) input (use :func:`reward_rows` to broadcast them for one projection)."""
    steps = check_steps(steps)
    return check_input_rows(InputSpec.of_network(net), steps, inputs)


def reward_rows(rows: dict, proj, steps: int) -> np.ndarray | None:
    """The reward of learning projection ``proj`` per step, int64 ``[steps, n_post]`` (None without a third factor),
    from :func:`check_inputs`' rows."""
    tf = proj.learning.third_factor if proj.learning is not None else None
    if tf is None:
        return None
    from .learning import check_reward
    return check_reward(rows[tf], tf, steps, int(np.shape(proj.connectivity.weights)[0]))
