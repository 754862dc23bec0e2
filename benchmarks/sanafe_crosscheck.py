"""Cross-check of the cost model (backends/emulator/costmodel.py) against SANA-FE 2.2.9's Loihi model.

Usage:  .venv/bin/python benchmarks/sanafe_crosscheck.py [--steps 100] [--seed 0]

For two networks (a random recurrent net and a layered feed-forward net, a few thousand neurons), the
same connectivity is built in SANA-FE (``sanafe.load_loihi()``, its examples/loihi.yaml) and in
neurocomp's IR, and mapped THE SAME WAY: neuron i goes to the same (tile x, tile y, core k) on both
(SANA-FE numbers tiles column-major, ``tile = x * 4 + y``; neurocomp row-major, see target.py). SANA-FE
runs its own functional + detailed timing simulation; its spike trace is then fed to ``estimate`` so
both models price the *same* spikes. Three estimates are compared with SANA-FE:

* ``ours/loihi``   hw_models/loihi.toml (Davies18 Table 2, pre-silicon);
* ``ours/sanafe``  the same model structure with SANA-FE's silicon-calibrated figures mapped onto our
  operation classes (built below with dataclasses.replace), to show that the *structure* agrees;
* ``+soma spike``  ``ours/sanafe`` plus SANA-FE's 69.3 pJ per fired neuron (a per-spike soma cost our
  classes do not have: our spike_out is per message), from our own spikes_out counters.

Neuron activity: every neuron of the random net and the first layer of the layered net has a bias, so
its state changes every step; SANA-FE then updates it every step and our model counts it 'active'.
Other neurons are active when they receive input or spike (``active_from_spikes``).
Boundary: SANA-FE charges a spike's synaptic ops in the step it is sent, we charge them one step later
(Lava's timing), so ops of spikes in the last step fall outside our run; they are added back
(``syn_ops_after_run`` x syn_op energy) so both cover the same spikes.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

import neurocomp as nc
from neurocomp.backends.emulator.costmodel import active_from_spikes, estimate
from neurocomp.mapping.mesh import core_index
from neurocomp.mapping.tables import build_core_tables
from neurocomp.target import Quantity, load_target

SANAFE_TILES_Y = 4        # examples/loihi.yaml: width 8, height 4


def sanafe_target(loihi):
    """loihi.toml's structure with SANA-FE's Loihi figures (examples/loihi.yaml) in our op classes."""
    def q(v, unit, src):
        return Quantity(v, unit, "SANA-FE examples/loihi.yaml: " + src, "measured")
    c = loihi.costs
    energy = dict(c.energy)
    latency = dict(c.latency)
    energy.update(syn_op=q(35.5e-12, "J", "loihi_dense_synapse energy_process_spike"),
                  neuron_update_idle=q(51.2e-12, "J", "soma energy_access_neuron (every neuron, every step)"),
                  neuron_update_active=q(51.2e-12 + 21.6e-12, "J", "soma access + energy_update_neuron"),
                  spike_out=q(111e-12, "J", "axon_out energy_message_out (per message)"),
                  spike_within_tile=q(0.0, "J", "axon_in energy_message_in"),
                  hop_ew=q(3.0e-12, "J", "energy_east/west_hop"), hop_ns=q(4.2e-12, "J", "energy_north/south_hop"))
    latency.update(syn_op=q(3.8e-9, "s", "latency_process_spike"),
                   neuron_update_idle=q(6.0e-9, "s", "latency_access_neuron"),
                   neuron_update_active=q(6.0e-9 + 3.7e-9, "s", "access + latency_update_neuron"),
                   spike_out=q(5.1e-9, "s", "latency_message_out"),
                   spike_within_tile=q(16e-9, "s", "axon_in latency_message_in (charged on the packet here)"),
                   hop_ew=q(4.1e-9, "s", "latency_east/west_hop"), hop_ns=q(6.5e-9, "s", "latency_north/south_hop"))
    costs = dataclasses.replace(c, energy=energy, latency=latency, static_power_w=None,
                                barrier_latency_by_tiles=[(1, 0.6e-6), (2, 1.0e-6), (4, 1.4e-6), (29, 1.8e-6)],
                                barrier_sources=[("SANA-FE latency_sync", "measured")] * 4)
    return dataclasses.replace(loihi, name="loihi-sanafe-figures", costs=costs)


# ------------------------------------------------------------------------------- networks
def random_net(rng, n=2048, p=0.02):
    """One recurrent population, sparse random weights, every neuron biased."""
    # Even weights: Lava's MIXED sign mode truncates the lowest bit, so odd small weights would vanish
    # from our tables (they are dropped when zero) while SANA-FE keeps them.
    w = np.where(rng.random((n, n)) < p, rng.choice(np.array([-6, -4, -2, 2, 4, 6]), (n, n)), 0)
    np.fill_diagonal(w, 0)
    bias = rng.uniform(0.02, 0.13, n)
    return [("r", n, bias)], [("r", "r", w)]


def layered_net(rng, sizes=(512, 1024, 1024, 512), p=0.08):
    """Feed-forward layers; only the first is biased (drivers), the rest are driven by spikes."""
    pops = [(f"l{i}", s, rng.uniform(0.05, 0.3, s) if i == 0 else np.zeros(s)) for i, s in enumerate(sizes)]
    projs = []
    for i in range(len(sizes) - 1):
        w = np.where(rng.random((sizes[i + 1], sizes[i])) < p, rng.integers(1, 4, (sizes[i + 1], sizes[i])), 0)
        projs.append((f"l{i}", f"l{i + 1}", w))
    return pops, projs


def placement(pops, per_core, first_core=0):
    """Sequential fill: ``per_core`` neurons per SANA-FE core, cores in SANA-FE order, each population
    starting on a fresh core. Returns {pop: SANA-FE core id per neuron}."""
    out, core = {}, first_core
    for name, n, _ in pops:
        out[name] = core + np.arange(n) // per_core
        core = int(out[name][-1]) + 1
    return out


def sanafe_to_ours(core_sf, mesh):
    """SANA-FE core id (tile = x*4 + y, 4 cores per tile) -> our mesh core id (row-major tiles)."""
    tile, k = core_sf // 4, core_sf % 4
    x, y = tile // SANAFE_TILES_Y, tile % SANAFE_TILES_Y
    return core_index.py_func(0, x, y, k, mesh.tiles_x, mesh.tiles_y, mesh.cores_per_tile)


# ------------------------------------------------------------------------------- SANA-FE side
def run_sanafe(pops, projs, where, steps, threshold=1.0, weight_scale=0.1, timing_model="detailed"):
    import sanafe
    arch = sanafe.load_loihi()
    cores = arch.cores()
    net = sanafe.Network()
    groups = {}
    for name, n, bias in pops:
        g = net.create_neuron_group(name, n, model_attributes={"threshold": threshold, "leak_decay": 0.9,
                                                               "reset": 0.0}, log_spikes=True)
        for i, neuron in enumerate(g.neurons):
            if bias[i]:
                neuron.set_attributes(model_attributes={"bias": float(bias[i])})
            neuron.map_to_core(cores[int(where[name][i])])
        groups[name] = g
    for src, dst, w in projs:
        post, pre = np.nonzero(w)
        groups[src].connect_neurons_sparse(groups[dst], {"weight": [float(v) * weight_scale for v in w[post, pre]]},
                                           list(zip(pre.tolist(), post.tolist())))
    chip = sanafe.SpikingChip(arch)
    chip.load(net)
    t0 = time.perf_counter()
    res = chip.sim(steps, timing_model=timing_model, spike_trace=True, perf_trace=True)
    wall = time.perf_counter() - t0
    return res, wall


# ------------------------------------------------------------------------------- our side
def our_tables(pops, projs, where, mesh):
    net = nc.Network("xcheck")
    for name, n, _ in pops:
        net.population(name, (n,), nc.LoihiLIF(du=0, dv=0, vth=10))
    for src, dst, w in projs:
        net.connect(src, dst, nc.Dense(w.astype(np.int64)))
    used = np.unique(np.concatenate([where[name] for name, _, _ in pops]))
    logical = {name: np.searchsorted(used, where[name]) for name, _, _ in pops}
    tables = build_core_tables(net, logical, used.size)
    return tables, sanafe_to_ours(used, mesh)


def sanafe_events(res, tables, pops, steps):
    """SANA-FE's spike trace (1-based steps, group name + offset) as our events (0-based step, global id),
    and the per-step active neurons (biased neurons update every step)."""
    st, src = [], []
    for t, spiking in enumerate(res["spike_trace"]):
        for a in spiking:
            st.append(t)
            src.append(int(tables.pop_gid[a.group_name][a.neuron_offset]))
    st, src = np.array(st, np.int64), np.array(src, np.int64)
    always = np.zeros(tables.n_neurons, bool)
    for name, n, bias in pops:
        always[tables.pop_gid[name][bias != 0]] = True
    return st, src, active_from_spikes(tables, st, src, steps, always)


def compare(label, pops, projs, per_core, steps, loihi):
    where = placement(pops, per_core)
    res, sf_wall = run_sanafe(pops, projs, where, steps)
    tables, phys = our_tables(pops, projs, where, loihi.mesh)
    st, src, active = sanafe_events(res, tables, pops, steps)
    out = {"sanafe": {"energy": res["energy"]["total"] / steps, "latency": res["sim_time"] / steps,
                      "wall": sf_wall, "spikes": int(st.size), "by": res["energy"],
                      "updated": int(np.sum(res["perf_trace"]["updated"]))}}
    for name, target in (("ours/loihi", loihi), ("ours/sanafe", sanafe_target(loihi))):
        estimate(target, tables, phys, st[:1], src[:1], active, steps)      # warm the numba kernel
        t0 = time.perf_counter()
        r = estimate(target, tables, phys, st, src, active, steps)
        wall = time.perf_counter() - t0
        boundary = r["counters"]["syn_ops_after_run"] * target.costs.energy["syn_op"].value
        out[name] = {"energy": (r["energy_j"]["total"] + boundary) / steps, "latency": r["latency_s"]["total"] / steps,
                     "overlap": r["latency_s"]["overlapped_mean"], "wall": wall, "r": r}
    spikes_out = sum(out["ours/sanafe"]["r"]["counters"]["spikes_out"])
    out["+soma spike"] = dict(out["ours/sanafe"], energy=out["ours/sanafe"]["energy"] + spikes_out * 69.3e-12 / steps)
    out["meta"] = {"label": label, "neurons": tables.n_neurons, "synapses": tables.n_synapses,
                   "cores": int(phys.size), "steps": steps, "active": int(active.sum())}
    return out


def table(rows) -> str:
    lines = ["| network | model | energy/step | ratio vs SANA-FE | latency/step | ratio vs SANA-FE | "
             "overlapped bound (ratio) | run time | speed vs SANA-FE |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        sf = row["sanafe"]
        m = row["meta"]
        name = f"{m['label']} ({m['neurons']} n, {m['synapses']} syn, {m['cores']} cores, {sf['spikes']} spikes)"
        lines.append(f"| {name} | SANA-FE 2.2.9 (loihi.yaml) | {sf['energy'] * 1e9:.2f} nJ | 1 | "
                     f"{sf['latency'] * 1e6:.3f} us | 1 | | {sf['wall']:.3f} s | 1 |")
        for key in ("ours/loihi", "ours/sanafe", "+soma spike"):
            o = row[key]
            lines.append(f"| | {key} | {o['energy'] * 1e9:.2f} nJ | {o['energy'] / sf['energy']:.3f} | "
                         f"{o['latency'] * 1e6:.3f} us | {o['latency'] / sf['latency']:.3f} | "
                         f"{o['overlap'] * 1e6:.3f} us ({o['overlap'] / sf['latency']:.3f}) | {o['wall']:.3f} s | "
                         f"{sf['wall'] / o['wall']:.1f}x |")
    return "\n".join(lines)


def breakdown(rows) -> str:
    lines = ["| network | SANA-FE synapse / soma / network (nJ/step) | ours/sanafe syn_op / neuron+soma spike / "
             "messages (nJ/step) | SANA-FE updated vs our active (neuron-steps) |", "|---|---|---|---|"]
    for row in rows:
        sf, m = row["sanafe"], row["meta"]
        by = row["ours/sanafe"]["r"]["energy_j"]["by_class"]
        T = m["steps"]
        syn_after = row["ours/sanafe"]["r"]["counters"]["syn_ops_after_run"] * 35.5e-12
        soma = by["neuron_active"] + by["neuron_idle"] + (row["+soma spike"]["energy"] - row["ours/sanafe"]["energy"]) * T
        lines.append(f"| {m['label']} | {sf['by']['synapse'] / T * 1e9:.2f} / {sf['by']['soma'] / T * 1e9:.2f} / "
                     f"{sf['by']['network'] / T * 1e9:.2f} | {(by['syn_op'] + syn_after) / T * 1e9:.2f} / "
                     f"{soma / T * 1e9:.2f} / {(by['messages'] + by['spike_out']) / T * 1e9:.2f} | "
                     f"{sf['updated']} vs {m['active']} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    loihi = load_target("loihi")
    t0 = time.perf_counter()
    rows = [compare("random", *random_net(rng), 32, args.steps, loihi),
            compare("layered", *layered_net(rng), 64, args.steps, loihi)]
    print(table(rows))
    print()
    print(breakdown(rows))
    print(f"\n(steps = {args.steps}, seed = {args.seed}; whole script {time.perf_counter() - t0:.1f} s)")
    return rows


if __name__ == "__main__":
    main()
