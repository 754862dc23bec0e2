"""Random integer networks shared by the cross-backend tests and benchmarks (emulator, reference, Lava)."""
import numpy as np

import neurocomp as nc

STEPS = 40


def _weights(rng, shape, kind):
    lo, hi = {"exc": (0, 300), "inh": (-300, 0), "mixed": (-300, 300)}[kind]
    return rng.integers(lo, hi + 1, shape)


def _conn_options(rng):
    mode = rng.choice([None, "mixed", "excitatory", "inhibitory"])
    return dict(weight_exp=int(rng.integers(-8, 7)), num_weight_bits=int(rng.integers(1, 9)),
                sign_mode=None if mode is None else str(mode))


def random_lava_connection(rng, n_post: int, n_pre: int) -> tuple:
    """(connectivity, delay) Lava can run between two populations: Dense or (30 %) Sparse with 60 % of the
    weights kept, Lava's weight range, a random weight_exp and sign mode, delays 0..2 on 30 % of them."""
    w = rng.integers(-250, 256, (n_post, n_pre))
    opts = dict(weight_exp=int(rng.integers(-2, 3)), sign_mode=(None, "mixed")[int(rng.integers(2))])
    delay = rng.integers(0, 3, (n_post, n_pre)) if rng.random() < 0.3 else 0
    conn = nc.Dense(w, **opts)
    if rng.random() < 0.3:
        conn = nc.Sparse.from_dense(w * (rng.random(w.shape) < 0.6), **opts)
        delay = rng.integers(0, 3, conn.n_synapses) if np.ndim(delay) else 0
    return conn, delay


def random_network(seed: int, n_pops: int, n_inputs: int, conv: bool, max_size: int = 200,
                   lava_compatible: bool = False):
    """A random LoihiLIF network: 1-4 populations, recurrent and feed-forward projections of every
    connectivity kind, sign mode, weight_exp and num_weight_bits, scalar and per-synapse delays.

    ``lava_compatible``: du, dv, vth are one value per population (Lava's LIF takes scalars there).
    """
    rng = np.random.default_rng(seed)
    net = nc.Network(f"rand{seed}")
    names = []
    for i in range(n_inputs):
        net.input(f"in{i}", (int(rng.integers(1, max_size // 2 + 1)),))
        names.append(f"in{i}")
    pops = []
    for i in range(n_pops):
        n = int(rng.integers(1, max_size + 1))
        per = lambda lo, hi: rng.integers(lo, hi + 1, n) if rng.random() < 0.5 else int(rng.integers(lo, hi + 1))
        uniform = (lambda lo, hi: int(rng.integers(lo, hi + 1))) if lava_compatible else per
        model = nc.LoihiLIF(du=uniform(0, 4095), dv=uniform(0, 4095), vth=uniform(0, 600), bias_mant=per(-300, 300),
                            bias_exp=per(-3, 6), u0=per(-2000, 2000), v0=per(-2000, 2000))
        net.population(f"p{i}", (n,), model)
        pops.append(f"p{i}")
    n_proj = int(rng.integers(1, 2 * n_pops + 2))
    for _ in range(n_proj):
        src = str(rng.choice(names + pops))
        dst = str(rng.choice(pops))
        n_pre, n_post = net.populations[src].size, net.populations[dst].size
        kind = str(rng.choice(["exc", "inh", "mixed"]))
        opts = _conn_options(rng)
        form = rng.choice(["dense", "sparse", "onetoone"] if n_pre == n_post else ["dense", "sparse"])
        if form == "dense":
            w = _weights(rng, (n_post, n_pre), kind) * (rng.random((n_post, n_pre)) < rng.random())
            conn, n_slots = nc.Dense(w, **opts), w.size
        elif form == "sparse":
            w = _weights(rng, (n_post, n_pre), kind) * (rng.random((n_post, n_pre)) < 0.3)
            conn = nc.Sparse.from_dense(w, **opts)
            n_slots = conn.n_synapses
        else:
            w = _weights(rng, (n_pre,), kind) if rng.random() < 0.7 else int(_weights(rng, (), kind))
            conn, n_slots = nc.OneToOne(w, **opts), n_pre
        r = rng.random()
        delay = 0 if r < 0.4 else (int(rng.integers(0, 6)) if r < 0.6 else rng.integers(0, 6, n_slots))
        net.connect(src, dst, conn, delay=delay)
    if conv:
        # Lava-Conv-compatible Conv2d (delay 0, weight_exp 0, even mixed weights: clip/truncation-invariant)
        c_in, h, w_ = int(rng.integers(1, 3)), int(rng.integers(3, 7)), int(rng.integers(3, 7))
        net.input("img", (c_in, h, w_))
        kern = 2 * rng.integers(-40, 41, (int(rng.integers(1, 3)), c_in, 3, 3))
        cv = nc.Conv2d(kern, (c_in, h, w_), padding=int(rng.integers(0, 2)), sign_mode="mixed")
        net.population("conv", cv.output_shape, nc.LoihiLIF(du=int(rng.integers(0, 4096)), dv=100, vth=20))
        net.connect("img", "conv", cv)
        if pops:
            net.connect("conv", pops[0], nc.Dense(_weights(rng, (net.populations[pops[0]].size, net.populations
                                                                  ["conv"].size), "mixed"), weight_exp=-2), delay=1)
    return net


def random_inputs(net, seed, steps=STEPS):
    rng = np.random.default_rng(seed + 1)
    return {name: (rng.random((steps,) + net.populations[name].shape) < rng.random() * 0.5).astype(np.uint8)
            for name in net.inputs}


def random_mapping(net, seed, n_cores):
    rng = np.random.default_rng(seed + 2)
    return {p.name: rng.integers(0, n_cores, p.size) for p in net.neuron_populations}


def assert_same(a, b, what=("spikes", "v", "u")):
    for kind in what:
        ga, gb = getattr(a, kind), getattr(b, kind)
        assert sorted(ga) == sorted(gb), kind
        for name in ga:
            assert ga[name].shape == gb[name].shape, (kind, name)
            diff = np.nonzero(np.asarray(ga[name]) != np.asarray(gb[name]))
            assert diff[0].size == 0, f"{kind}[{name}] differs first at step {diff[0][0] + 1}, neuron {diff[1][0]}"


def random_mapped_run(rng, p_edge: float, w_low: int, density: float, max_steps: int, max_events: int):
    """A random small mapped run for the cost/timing models: 1-3 LoihiLIF populations and 0-1 input with
    Dense weights ``w_low..3`` (each present with ``density``, each edge with ``p_edge``), random cores on a
    random mesh (1-4 chips), ``1..max_steps-1`` steps and up to ``max_events-1`` random spike events.
    Returns ``(mesh, tables, physical cores, steps, event steps, event sources)``."""
    from neurocomp.mapping.tables import build_core_tables
    from neurocomp.target import Mesh
    net = nc.Network("r")
    pops = [(f"p{i}", int(rng.integers(1, 13))) for i in range(int(rng.integers(1, 4)))]
    n_in = int(rng.integers(0, 4))
    if n_in:
        net.input("in", (n_in,))
    for name, n in pops:
        net.population(name, (n,), nc.LoihiLIF(du=0, dv=0, vth=10))
    for src, n_src in pops + ([("in", n_in)] if n_in else []):
        for dst, n_dst in pops:
            if rng.random() < p_edge:
                w = rng.integers(w_low, 4, (n_dst, n_src)) * (rng.random((n_dst, n_src)) < density)
                net.connect(src, dst, nc.Dense(w.astype(np.int64)))
    chips_x, chips_y = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    mesh = Mesh(chips_x * chips_y, chips_x, chips_y, int(rng.integers(1, 5)), int(rng.integers(1, 4)),
                int(rng.integers(1, 3)))
    n_cores = int(rng.integers(1, min(mesh.n_cores, 8) + 1))
    tb = build_core_tables(net, {name: rng.integers(0, n_cores, n) for name, n in pops}, n_cores)
    phys = rng.permutation(mesh.n_cores)[:n_cores]
    steps = int(rng.integers(1, max_steps))
    n_ev = int(rng.integers(0, max_events))
    ev_step = rng.integers(0, steps, n_ev)
    ev_src = rng.integers(0, tb.n_sources, n_ev)
    return mesh, tb, phys, steps, ev_step, ev_src
