"""Random networks mixing every registered neuron model and message width, for the emulator == reference ==
Lava property tests (``test_model_exactness.py``) and ``benchmarks/model_exactness.py``.

The models come from the registry (``neurocomp.neurons.NEURONS``): each kind's sampler
(``NeuronKind.sample``) draws Lava-runnable parameters, so a model registered later joins these networks as
soon as it has one. Projections are Dense, Sparse, OneToOne or Conv2d (3x3, padding 1, between the 3-D
populations; even weights run as Lava's Conv, odd ones as Sparse), into every input channel of the target
(two-input models such as RF get projections on port 0, the real part, and port 1, the imaginary part;
they are 1-D populations, as their Lava processes are flat), binary or graded with
``num_message_bits`` in 1..24 (or None: derived from the source), every sign mode, weight_exp in -4..3,
num_weight_bits in 1..8, scalar or per-synapse delays 0..3, recurrence. Graph inputs are binary spikes or
graded integers (in the signed range of their narrowest graded projection).

``overflow=True`` drives the int32 wrap of graded sums: graded inputs of up to +-2^23 through 24-bit
projections with large weights, so that dendritic sums leave int32 (Lava wraps them where its process
does; ``neurocomp.semantics.synapses.GRADED_WRAP``).
"""
from __future__ import annotations

import numpy as np

import neurocomp as nc
from neurocomp.neurons import NEURONS
from neurocomp.semantics.inputs import recordable

#: Everything the comparisons record: spikes (and payloads), v, u and every model state variable.
RECORD = tuple(r for r in recordable() if r != "weights")


def kinds():
    """The registered neuron kinds, in registry order."""
    return list(NEURONS.values())


def _weights(rng, shape, overflow: bool):
    sign = rng.choice(["mixed", "exc", "inh"])
    lo, hi = {"mixed": (-256, 255), "exc": (0, 255), "inh": (-255, 0)}[sign]
    w = rng.integers(lo, hi + 1, shape)
    if not overflow and rng.random() < 0.5:
        w = w // int(rng.choice([2, 8]))
    mode = None if rng.random() < 0.5 else {"mixed": "mixed", "exc": "excitatory", "inh": "inhibitory"}[sign]
    return w, mode


def _message_bits(rng, source: str, overflow: bool):
    """num_message_bits of a projection from a ``source`` "graded_input", "binary_input", "graded" or binary
    population: None (derived), 0 (binary) or 1..24."""
    if source == "graded_input":
        return 24 if overflow else int(rng.integers(1, 25))
    if source == "binary_input":
        return None if rng.random() < 0.7 else 0
    if source == "graded":
        return [None, 0, int(rng.integers(1, 25))][int(rng.choice(3, p=[0.4, 0.15, 0.45]))]
    return int(rng.integers(1, 25)) if rng.random() < 0.15 else None       # binary spikes, sometimes "graded"


def random_model_network(seed: int, kind_names=None, overflow: bool = False, max_kinds: int | None = None):
    """``(net, steps, inputs)``: one random network with a population of each of ``kind_names`` (default: a
    random selection of 3 to ``max_kinds`` (all) registered kinds, seed ``s`` starting with kind ``s % K``, so
    consecutive seeds cover every kind) and random projections."""
    rng = np.random.default_rng(seed)
    all_kinds = kinds()
    if kind_names is None:
        top = len(all_kinds) if max_kinds is None else max(min(max_kinds, len(all_kinds)), 1)
        k = int(rng.integers(min(3, top), top + 1))
        first = all_kinds[seed % len(all_kinds)]            # each kind in turn, so every seed range covers all
        rest = [x for x in all_kinds if x is not first]
        chosen = [first] + [rest[i] for i in rng.choice(len(rest), k - 1, replace=False)]
    else:
        chosen = [NEURONS[next(t for t in NEURONS if t.__name__ == n)] for n in kind_names]
    net = nc.Network(f"models{seed}")
    hw = (int(rng.integers(2, 4)), int(rng.integers(2, 4)))
    graded_in = {}
    n_inputs = int(rng.integers(1, 3))
    for i in range(n_inputs):
        graded = overflow or rng.random() < 0.5
        shape = (int(rng.integers(1, 3)), *hw) if rng.random() < 0.5 else (int(rng.integers(1, 7)),)
        net.input(f"in{i}", shape)
        graded_in[f"in{i}"] = graded
    pops = []
    for j, kind in enumerate(chosen):
        # two-input models (RF, RF_IZ, RFZero) run as flat (n,) Lava processes: 1-D populations
        flat = kind.channels > 1 or rng.random() >= 0.4
        shape = (int(rng.integers(1, 7)),) if flat else (int(rng.integers(1, 3)), *hw)
        size = int(np.prod(shape))
        name = f"{kind.name.lower()}{j}"
        net.population(name, shape, kind.sampler(rng, size))
        pops.append(name)
    channels = {name: kind.channels for name, kind in zip(pops, chosen)}
    edges = []
    for j, dst in enumerate(pops):                          # every population is driven (feed-forward) on
        for port in range(channels[dst]):                   # every input channel (RF: real and imaginary part)
            edges.append((str(rng.choice(list(graded_in) + pops[:j])), dst, port))
    for _ in range(int(rng.integers(0, 4))):                # plus random ones, recurrence included
        dst = str(rng.choice(pops))
        edges.append((str(rng.choice(list(graded_in) + pops)), dst, int(rng.integers(channels[dst]))))
    bits_of_input: dict[str, int] = {}
    for e, (src, dst, port) in enumerate(edges):
        sp, dp = net.populations[src], net.populations[dst]
        if sp.is_input:
            source = "graded_input" if graded_in[src] else "binary_input"
        else:
            source = "graded" if NEURONS[type(sp.model)].graded else "binary"
        bits = _message_bits(rng, source, overflow)
        opts = dict(weight_exp=int(rng.integers(-4, 4)), num_weight_bits=int(rng.integers(1, 9)),
                    num_message_bits=bits)
        if overflow:
            opts.update(weight_exp=int(rng.integers(-4, 2)), num_weight_bits=8)
        forms = ["dense", "sparse"] + ["onetoone"] * (sp.size == dp.size) + \
            ["conv"] * (len(sp.shape) == 3 and len(dp.shape) == 3)
        form = str(rng.choice(forms))
        delay = 0
        if form == "conv":
            kern, mode = _weights(rng, (dp.shape[0], sp.shape[0], 3, 3), overflow)
            lava_conv = rng.random() < 0.7
            if lava_conv:                                   # even MIXED weights: Lava's own Conv process
                kern, mode = 2 * (kern // 2), "mixed"
                opts["weight_exp"] = 0
            conn = nc.Conv2d(kern, input_shape=sp.shape, padding=1, sign_mode=mode, **opts)
            if not lava_conv and rng.random() < 0.3:
                delay = int(rng.integers(1, 4))
        else:
            w, mode = _weights(rng, (dp.size, sp.size), overflow)
            if form == "dense":
                conn = nc.Dense(w, sign_mode=mode, **opts)
                n_syn = w.size
            elif form == "sparse":
                conn = nc.Sparse.from_dense(w * (rng.random(w.shape) < 0.6), sign_mode=mode, **opts)
                n_syn = conn.n_synapses
            else:
                conn = nc.OneToOne(w[0] if rng.random() < 0.7 else int(w[0, 0]), sign_mode=mode, **opts)
                n_syn = sp.size
            r = rng.random()
            delay = 0 if r < 0.4 else (int(rng.integers(1, 4)) if r < 0.6 else rng.integers(0, 4, n_syn))
        if source == "graded_input":
            bits_of_input[src] = min(bits, bits_of_input.get(src, bits))
        net.connect(src, dst, conn, delay=delay, name=f"e{e}", port=port)
    steps = int(rng.integers(12, 21))
    inputs = {}
    for name, graded in graded_in.items():
        shape = (steps, *net.populations[name].shape)
        if graded and name in bits_of_input:
            lim = 2 ** (bits_of_input[name] - 1)
            amp = lim if overflow else min(lim, int(rng.choice([4, 64, 1024, 2 ** 20])))
            x = rng.integers(-amp, amp, shape) * (rng.random(shape) < rng.uniform(0.3, 0.9))
            x = np.clip(x, -lim, lim - 1)
            x[1::3] = x[0::3][:x[1::3].shape[0]]           # repeated frames: deltas below threshold, residues
        else:
            x = (rng.random(shape) < rng.uniform(0.2, 0.7)).astype(np.int64)
        inputs[name] = x
    return net, steps, inputs


def random_mapping(net, seed: int):
    """A random mapping of every neuron onto 1-4 cores (dense core ids): ``(mapping, n_cores)``."""
    rng = np.random.default_rng(seed + 7)
    n_cores = int(rng.integers(1, 5))
    mapping = {p.name: rng.integers(0, n_cores, p.size) for p in net.neuron_populations}
    used = sorted({int(c) for a in mapping.values() for c in a})
    return {k: np.searchsorted(used, v) for k, v in mapping.items()}, len(used)


def union(nets: list) -> tuple:
    """One network holding ``nets`` side by side (names prefixed ``n{i}_``), so that one Lava run checks
    several: ``(net, prefixes)``."""
    out = nc.Network("union")
    prefixes = []
    for i, (net, _, _) in enumerate(nets):
        pre = f"n{i}_"
        prefixes.append(pre)
        for p in net.populations.values():
            if p.is_input:
                out.input(pre + p.name, p.shape)
            else:
                out.population(pre + p.name, p.shape, p.model)
        for proj in net.projections.values():
            out.connect(pre + proj.source, pre + proj.target, proj.connectivity, delay=proj.delay, name=pre + proj.name,
                        port=proj.port)
    return out, prefixes


def lava_states(net, steps: int, inputs: dict) -> dict:
    """Lava's fixed_pt run of ``net``: ``{(population, var): int64 [T, n]}`` for ``"spikes"`` (what ``s_out``
    sends: 0/1, or a graded model's payload) and every state variable its Lava process has a Var of."""
    from lava.proc.monitor.process import Monitor
    from neurocomp.backends.lava import lower
    from neurocomp.backends.lava.run import _run_guarded
    from neurocomp.neurons import kind_of
    low = lower(net, steps, inputs, record=("spikes",))
    probes = {}
    for pop in net.neuron_populations:
        proc = low.lif[pop.name]
        probes[(pop.name, "spikes")] = low.monitors[(pop.name, "spikes")], "s_out"
        for var in kind_of(pop.model).state:
            if hasattr(proc, var):
                mon = Monitor()
                mon.probe(getattr(proc, var), steps)
                probes[(pop.name, var)] = mon, var
    try:
        _run_guarded(low.root, steps, 600)
        return {key: np.asarray(mon.get_data()[low.lif[key[0]].name][var]).astype(np.int64)
                for key, (mon, var) in probes.items()}
    finally:
        low.root.stop()


def emulator_states(res, net) -> dict:
    """The same keys from an emulator (or reference) Result recorded with :data:`RECORD`."""
    out = {}
    for pop in net.neuron_populations:
        n = pop.name
        out[(n, "spikes")] = np.asarray(res.payloads[n] if n in res.payloads else res.spikes[n], np.int64)
        for var in NEURONS[type(pop.model)].state:
            group = {"v": res.v, "u": res.u}.get(var, res.state.get(var, {}))
            if n in group:
                out[(n, var)] = np.asarray(group[n], np.int64)
    return out


def mismatches(want: dict, got: dict, prefix: str = "") -> list:
    """``[(population, var, first (step-1, neuron))]`` where ``got[(prefix + pop, var)]`` differs from
    ``want[(pop, var)]``, over the keys both have; a key of ``got`` missing from ``want`` is a mismatch too."""
    bad = []
    for (pop, var), arr in got.items():
        if not pop.startswith(prefix):
            continue
        key = (pop[len(prefix):], var)
        if key not in want or want[key].shape != arr.shape:
            bad.append((key[0], var, "missing or shape"))
            continue
        diff = np.argwhere(want[key] != arr)
        if diff.size:
            bad.append((key[0], var, diff[0].tolist()))
    return bad
