"""An independent check of a compiled mapping: ``check_mapping(compiled) -> list of violations``.

It recounts every per-core quantity from the network and ``core_of_neuron`` with its own plain
numpy code (sorting and ``np.unique``; nothing from the partitioner's kernels), checks each against
the TARGET's limits, and checks that the per-core tables implement exactly the network:

* neurons, input axons (distinct (source, core) pairs), output axons (per core, the summed
  distinct destination cores of its neurons), synapse memory (``SynapseEncoding.axon_bits`` per
  axon, delay/learning bits where any synapse of the axon has them; on a target that shares
  convolution kernels, a Conv2d projection's synapses are not stored: their axon costs
  ``shared_axon_bits`` and each (core, projection, output channel) its ``kernel_bits`` once),
  fan-in, fan-out, delays;
* every synapse of the network appears exactly once in the tables, on the core of its post
  neuron, with its weight, delay and projection; every axon's synapses are on its own core;
* each source's routes reach exactly the cores holding one of its axons, each route names an axon of
  that source on that core; core coordinates are distinct cores of the mesh.

An empty list means the mapping is valid. The synapse set is defined by
``neurocomp.semantics.synapses.projection_synapses`` (which synapses exist, with Lava's effective weights).
"""
from __future__ import annotations

import numpy as np

from ..semantics.synapses import lava_connection, projection_synapses


def _network_synapses(net):
    """(pre population, pre index, post population, post index, weight, delay, projection index, learning)."""
    out = []
    for k, proj in enumerate(net.projections.values()):
        sp, tp = net.populations[proj.source], net.populations[proj.target]
        pre, post, w, d = projection_synapses(proj, sp.size, tp.size)
        out.append((proj.source, np.asarray(pre, np.int64), proj.target, np.asarray(post, np.int64),
                    np.asarray(w, np.int64), np.asarray(d, np.int64), k, proj.learning is not None))
    return out


def _shared_kernels(net, con, enc) -> dict:
    """{projection index: (core, bits) of each distinct (core, output channel) kernel slice it stores}
    for the projections whose kernel a sharing target stores once per core (not learning)."""
    out = {}
    for k, proj in enumerate(net.projections.values()):
        slices = proj.connectivity.kernel_slices(net.populations[proj.target].size)
        if slices is None or proj.learning is not None:
            continue
        channel, entries = slices
        core = np.asarray(con[proj.target], np.int64)
        pair = np.unique(np.stack([core, channel], 1), axis=0)
        out[k] = (pair[:, 0], np.full(len(pair), int(enc.kernel_bits(entries, proj.max_delay > 0)), np.int64))
    return out


def check_mapping(compiled) -> list[str]:
    net, target, tables = compiled.network, compiled.target, compiled.tables
    lim = target.core
    errors: list[str] = []
    pops = net.neuron_populations
    con = compiled.core_of_neuron or {}
    for p in pops:
        c = np.asarray(con.get(p.name, np.zeros(0)))
        if c.shape != (p.size,) or c.dtype.kind not in "iu":
            errors.append(f"core_of_neuron['{p.name}'] has shape {c.shape}, dtype {c.dtype}; expected ({p.size},) ints")
    if errors:
        return errors
    n_cores = max((int(np.max(con[p.name])) + 1 for p in pops if p.size), default=0)
    if any(np.min(con[p.name]) < 0 for p in pops if p.size):
        return ["core_of_neuron has negative core ids"]

    # ---- per-core counts, recomputed
    neurons = np.zeros(n_cores, np.int64)
    for p in pops:
        neurons += np.bincount(con[p.name], minlength=n_cores)
    if np.any(neurons == 0):
        errors.append(f"cores {np.nonzero(neurons == 0)[0][:10].tolist()} hold no neuron (core ids must be dense)")
    src_key_parts, core_parts, flag_parts = [], [], []
    # source identity: (population name index over all populations incl. inputs, index)
    all_names = list(net.populations)
    sizes = np.array([net.populations[n].size for n in all_names], np.int64)
    offs = np.concatenate([[0], np.cumsum(sizes)])
    syns = _network_synapses(net)
    enc = lim.synapse_encoding
    kernels = _shared_kernels(net, con, enc) if enc.shared_conv_weights else {}
    for spop, pre, tpop, post, w, d, k, learn in syns:
        src_key_parts.append(offs[all_names.index(spop)] + pre)
        core_parts.append(np.asarray(con[tpop], np.int64)[post])
        flag_parts.append((d > 0).astype(np.int64) + (2 if learn else 0) + (4 if k in kernels else 0))
        if d.size and d.max() > lim.max_delay:
            errors.append(f"projection {k}: delay {int(d.max())} > core.max_delay {lim.max_delay}")
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64)
    skey, score, sflag = cat(src_key_parts), cat(core_parts), cat(flag_parts)
    split = tables is not None and tables.n_psum > 0
    if split:       # split dendrites: a synapse sits on the core the tables put it (checked against the network below)
        skey, score, sflag, n_cores = _table_synapse_keys(net, tables, all_names, offs, n_cores)
        kernels = {}    # a split dendrite's synapses are priced as stored (as the compartment graph does)
        neurons = np.bincount(np.repeat(np.arange(tables.n_cores), np.diff(tables.core_neuron_ptr)),
                              minlength=n_cores) + np.diff(tables.core_psum_ptr)
    pair = score * int(offs[-1] + 1) + skey
    axon, inv, nsyn = np.unique(pair, return_inverse=True, return_counts=True)
    axon_core = axon // int(offs[-1] + 1)
    axon_src = axon % int(offs[-1] + 1)
    has_delay = np.zeros(axon.size, bool)
    learning = np.zeros(axon.size, bool)
    shared = np.zeros(axon.size, bool)
    np.logical_or.at(has_delay, inv, (sflag & 1) > 0)
    np.logical_or.at(learning, inv, (sflag & 2) > 0)
    np.logical_or.at(shared, inv, (sflag & 4) > 0)
    stored = np.bincount(inv, weights=(sflag & 4) == 0, minlength=axon.size).astype(np.int64)
    bits_axon = np.where(shared, enc.shared_axon_bits, 0).astype(np.int64)
    for hd in (False, True):
        for lr in (False, True):
            m = (has_delay == hd) & (learning == lr)
            if m.any():
                bits_axon[m] += enc.axon_bits(stored[m], hd, lr)
    in_axons = np.bincount(axon_core, minlength=n_cores)
    bits = np.bincount(axon_core, weights=bits_axon, minlength=n_cores).astype(np.int64)
    for kcore, kbits in kernels.values():
        bits = bits + np.bincount(kcore, weights=kbits, minlength=n_cores).astype(np.int64)
    # output axons: each neuron source contributes its distinct destination cores to its own core
    src_core_of = np.full(int(offs[-1]), -1, np.int64)
    for p in pops:
        i = all_names.index(p.name)
        src_core_of[offs[i]:offs[i + 1]] = con[p.name]
    from_neuron = src_core_of[axon_src] >= 0
    out_axons = np.bincount(src_core_of[axon_src[from_neuron]], minlength=n_cores)
    fanout = np.bincount(axon_src, minlength=int(offs[-1]))
    if split:       # a partial-sum route: an output entry of its segment core, an input of the soma core
        soma = np.repeat(np.arange(tables.n_cores), np.diff(tables.core_neuron_ptr))[tables.psum_neuron]
        out_axons = out_axons + np.bincount(tables.psum_core, minlength=n_cores)
        if target.partial_sums.uses_input_axons:
            in_axons = in_axons + np.bincount(soma, minlength=n_cores)
            bits = bits + np.bincount(soma, minlength=n_cores) * int(enc.axon_bits(np.array([1]), False, False)[0])
    for name, arr, cap in (("neurons", neurons, lim.max_neurons), ("input axons", in_axons, lim.max_input_axons),
                           ("output axons", out_axons, lim.max_output_axons),
                           ("synapse memory bits", bits, lim.synapse_memory_bits)):
        bad = np.nonzero(arr > cap)[0]
        for c in bad[:10]:
            errors.append(f"core {int(c)}: {int(arr[c])} {name} > {cap} on {target.name}")
    if lim.max_fan_out:
        bad = np.nonzero((fanout > lim.max_fan_out) & (src_core_of >= 0))[0]
        for s in bad[:10]:
            errors.append(f"source {int(s)}: fan-out {int(fanout[s])} cores > core.max_fan_out {lim.max_fan_out}")
    if lim.max_fan_in and split:      # per compartment: a neuron's synapses on one core
        per = np.unique(np.stack([score, _table_posts(tables)], 1), axis=0, return_counts=True)[1]
        if per.size and per.max() > lim.max_fan_in:
            errors.append(f"a dendrite segment has {int(per.max())} input synapses > core.max_fan_in {lim.max_fan_in}")
    elif lim.max_fan_in:
        for p in pops:
            fan_in = np.zeros(p.size, np.int64)
            for spop, pre, tpop, post, *_ in syns:
                if tpop == p.name:
                    fan_in += np.bincount(post, minlength=p.size)
            if fan_in.size and fan_in.max() > lim.max_fan_in:
                errors.append(f"neuron {p.name}[{int(fan_in.argmax())}]: fan-in {int(fan_in.max())} > "
                              f"core.max_fan_in {lim.max_fan_in}")

    # ---- coordinates
    physical_core, core_coord = getattr(compiled, "physical_core", None), getattr(compiled, "core_coord", None)
    if physical_core is not None:         # placed stages only
        phys = np.asarray(physical_core)
        if phys.size != n_cores:
            errors.append(f"{phys.size} physical cores for {n_cores} logical cores")
        elif np.unique(phys).size != phys.size or phys.min(initial=0) < 0 or phys.max(initial=0) >= target.mesh.n_cores:
            errors.append("physical cores are not distinct cores of the mesh")
        elif core_coord is not None:
            chip, tx, ty, kk = target.mesh.core_coord(phys)
            if not np.array_equal(np.stack([chip, tx, ty, kk], 1), np.asarray(core_coord)):
                errors.append("core_coord does not match the physical core ids")

    if tables is not None:
        errors += _check_tables(net, tables, con, tables.n_cores if split else n_cores, syns, all_names, offs)
    if split:
        errors += _check_partial_sums(target, tables)
    return errors


def _table_posts(tables) -> np.ndarray:
    return np.asarray(tables.syn_post, np.int64)


def _table_synapse_keys(net, t, all_names, offs, n_cores):
    """(source key, core, flags) of every synapse as the tables place it, and the core count."""
    n = t.n_neurons
    key_of_src = np.empty(t.n_sources, np.int64)
    for i, name in enumerate(all_names):
        if name in t.pop_gid:
            key_of_src[t.pop_gid[name]] = offs[i] + np.arange(offs[i + 1] - offs[i])
        else:
            j = t.input_names.index(name)
            key_of_src[n + t.input_ptr[j] + np.arange(offs[i + 1] - offs[i])] = offs[i] + np.arange(offs[i + 1] - offs[i])
    axon_of_syn = np.repeat(np.arange(t.n_axons), np.diff(t.axon_syn_ptr))
    learn = np.array([p.learning is not None for p in net.projections.values()], bool)
    flags = (np.asarray(t.syn_delay) > 0).astype(np.int64) + 2 * learn[np.asarray(t.syn_proj, np.int64)]
    return key_of_src[t.axon_source[axon_of_syn]], t.synapse_core(), flags, max(n_cores, int(t.n_cores))


def _check_partial_sums(target, t) -> list[str]:
    """Split dendrites: the target can split; the partial-sum routes are exactly the (core, neuron) pairs
    whose synapses sit off the neuron's core; every partial sum fits the target's payload."""
    from .tables import psum_bound, psum_keys
    ps = target.partial_sums
    if not ps.supported:
        return [f"tables split dendrites over cores but {target.name} has no partial sums (partial_sums.supported)"]
    if ps.latency_steps:
        return [f"{target.name}: partial_sums.latency_steps = {ps.latency_steps}; only same-step partial sums are exact"]
    ncore = np.repeat(np.arange(t.n_cores), np.diff(t.core_neuron_ptr))
    foreign, seg_core, post = psum_keys(t, ncore)
    want = np.unique(seg_core * max(t.n_neurons, 1) + post)
    have = np.asarray(t.psum_core, np.int64) * max(t.n_neurons, 1) + np.asarray(t.psum_neuron, np.int64)
    errors = []
    if not np.array_equal(np.sort(have), want):
        errors.append("tables: partial-sum routes are not exactly the (segment core, neuron) pairs of the split synapses")
    if not np.array_equal(np.asarray(t.core_psum_ptr), np.searchsorted(np.asarray(t.psum_core), np.arange(t.n_cores + 1))):
        errors.append("tables: core_psum_ptr does not group the partial-sum routes by segment core")
    worst, _ = psum_bound(t, foreign, seg_core)
    if worst > (1 << (ps.payload_bits - 1)) - 1:
        errors.append(f"a partial sum can reach {worst}, beyond {ps.payload_bits}-bit partial-sum messages")
    return errors


def _check_tables(net, t, con, n_cores, syns, all_names, offs) -> list[str]:
    errors = []
    if t.n_cores != n_cores:
        return [f"tables have {t.n_cores} cores, the mapping {n_cores}"]
    owner = np.repeat(np.arange(n_cores), np.diff(t.core_neuron_ptr))
    n = t.n_neurons
    for p in net.neuron_populations:
        gid = t.pop_gid.get(p.name)
        if gid is None or gid.size != p.size:
            errors.append(f"tables: population '{p.name}' missing or wrong size")
            continue
        if not np.array_equal(owner[gid], np.asarray(con[p.name])):
            errors.append(f"tables: neurons of '{p.name}' are not on the cores core_of_neuron gives")
    if errors:
        return errors
    # network synapses in table numbering: (source id, post gid, weight, delay, projection)
    src_id_of_key = np.full(int(offs[-1]), -1, np.int64)
    for i, name in enumerate(all_names):
        if name in t.pop_gid:
            src_id_of_key[offs[i]:offs[i + 1]] = t.pop_gid[name]
        else:
            j = t.input_names.index(name)
            src_id_of_key[offs[i]:offs[i + 1]] = n + t.input_ptr[j] + np.arange(offs[i + 1] - offs[i])
    rows = []
    for spop, pre, tpop, post, w, d, k, _ in syns:
        rows.append(np.stack([src_id_of_key[offs[all_names.index(spop)] + pre], t.pop_gid[tpop][post], w, d,
                              np.full(pre.size, k)], 1))
    want = np.concatenate(rows) if rows else np.zeros((0, 5), np.int64)
    axon_of_syn = np.repeat(np.arange(t.n_axons), np.diff(t.axon_syn_ptr))
    axon_core = np.repeat(np.arange(n_cores), np.diff(t.core_axon_ptr))
    have = np.stack([t.axon_source[axon_of_syn], t.syn_post, t.syn_weight, t.syn_delay, t.syn_proj], 1).astype(np.int64)
    if want.shape != have.shape or not np.array_equal(want[np.lexsort(want.T[::-1])], have[np.lexsort(have.T[::-1])]):
        errors.append(f"tables: synapses differ from the network's ({have.shape[0]} in tables, {want.shape[0]} in "
                      "the network, or different source/post/weight/delay/projection)")
    ports = [net.projections[name].port if name in net.projections else -1 for name in t.proj_names]
    if not np.array_equal(np.asarray(t.proj_port, np.int64), np.asarray(ports, np.int64)):
        errors.append("tables: the projections' input channels (proj_port) differ from the network's ports")
    lava = [lava_connection(net.projections[name]) if name in net.projections else None for name in t.proj_names]
    if list(t.proj_lava_kinds) != lava:
        errors.append("tables: the projections' Lava processes (proj_lava_kinds, where graded sums wrap) differ "
                      "from the network's")
    off_core = owner[t.syn_post] != axon_core[axon_of_syn] if t.syn_post.size else np.zeros(0, bool)
    if off_core.any() and not t.n_psum:   # split dendrites: _check_partial_sums checks their routes
        errors.append("tables: some synapses are not on the core of their post neuron")
    # routes: exactly the cores that hold an axon of the source
    pairs_axon = np.unique(t.axon_source * n_cores + axon_core)
    route_src = np.repeat(np.arange(t.n_sources), np.diff(t.route_ptr))
    pairs_route = route_src * n_cores + t.route_core.astype(np.int64)
    if not np.array_equal(np.sort(pairs_route), pairs_axon):
        errors.append("tables: routes do not reach exactly the cores that hold the sources' axons")
    elif t.route_axon.size:
        ax = t.route_axon
        if ax.min() < 0 or ax.max() >= t.n_axons or not (np.array_equal(t.axon_source[ax], route_src)
                                                         and np.array_equal(axon_core[ax], t.route_core)):
            errors.append("tables: a route names an axon of another source or core")
    return errors


# ------------------------------------------------------------------------------ loaded tables
#: int64 array fields of CoreTables, besides the pointers and the per-neuron parameters
_TABLE_INT_FIELDS = ("neuron_pop", "neuron_index", "route_core", "route_axon", "axon_source", "syn_post",
                     "syn_weight", "syn_delay", "syn_proj", "proj_weight_exp", "proj_max_delay", "proj_target_pop",
                     "proj_message_bits", "proj_port", "pop_onset", "psum_core", "psum_neuron", "proj_conv_plane")


def check_loaded_tables(t, where: str) -> None:
    """Refuse per-core tables read from a file that the kernels could not run safely: every array 1-D,
    integer (bool for ``proj_wrap24``), with the length the others imply; every pointer array starting at
    0, non-decreasing and ending at the count it points into; every index inside its range. Raises
    ArtifactError naming ``where`` and the field. (The emulator's numba kernels index with these arrays
    without bounds checks, so a damaged file must stop here.)"""
    from ..errors import ArtifactError
    from ..ir.network import MAX_PORT
    from ..neurons import NEURONS

    def bad(field, problem):
        return ArtifactError(f"{where}: field '{field}' {problem}; the tables are damaged or from another "
                             "neurocomp: recompile the network")

    for name in ("pop_names", "pop_models", "input_names", "proj_names"):
        value = getattr(t, name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad(name, "is not a list of names")
    if len(set(t.pop_names)) != len(t.pop_names) or len(t.pop_models) != len(t.pop_names):
        raise bad("pop_names", "has repeated names or a model count that differs")
    unknown = sorted(set(t.pop_models) - {k.name for k in NEURONS.values()})
    if unknown:
        raise bad("pop_models", f"names unknown neuron models {unknown}")
    if isinstance(t.n_cores, bool) or not isinstance(t.n_cores, int) or t.n_cores < 0:
        raise bad("n_cores", f"is {t.n_cores!r}, not a count")
    arrays = {name: getattr(t, name) for name in (*_TABLE_INT_FIELDS, "proj_wrap24", "core_neuron_ptr",
                                                 "input_ptr", "route_ptr", "core_axon_ptr", "axon_syn_ptr", "core_psum_ptr")}
    arrays.update({f"neuron_params.{k}": v for k, v in t.neuron_params.items()})
    for name, a in arrays.items():
        if not isinstance(a, np.ndarray) or a.ndim != 1:
            raise bad(name, f"has shape {np.shape(a)}; expected a 1-D array")
        if name == "proj_wrap24":
            if a.dtype != bool:
                raise bad(name, f"has dtype {a.dtype}; expected bool")
        elif a.dtype.kind not in "iu":
            raise bad(name, f"has dtype {a.dtype}; expected integers")
        elif a.dtype.kind == "u" and a.dtype.itemsize >= 8 and a.size and a.max() > np.iinfo(np.int64).max:
            raise bad(name, "holds values beyond int64")
        elif name == "syn_weight" and (a.dtype.kind != "i" or a.dtype.itemsize > 4):
            raise bad(name, f"has dtype {a.dtype}; expected int8, int16 or int32 (Lava's weights are int32)")

    def ptr(name, length, end):
        a = arrays[name]
        if a.size != length:
            raise bad(name, f"has {a.size} entries; expected {length}")
        if a.size and (a[0] != 0 or np.any(np.diff(a.astype(np.int64)) < 0)):
            raise bad(name, "is not a pointer array (must start at 0 and never decrease)")
        if end is not None and a.size and int(a[-1]) != end:
            raise bad(name, f"ends at {int(a[-1])}; expected {end}")

    def length(name, n):
        if arrays[name].size != n:
            raise bad(name, f"has {arrays[name].size} entries; expected {n}")

    def within(name, lo, hi):
        a = arrays[name]
        if a.size and (int(a.min()) < lo or int(a.max()) >= hi):
            raise bad(name, f"holds values outside {lo}..{hi - 1} (found {int(a.min())}..{int(a.max())})")

    n_pop, n_proj = len(t.pop_names), len(t.proj_names)
    ptr("core_neuron_ptr", t.n_cores + 1, None)
    n = int(arrays["core_neuron_ptr"][-1])
    ptr("input_ptr", len(t.input_names) + 1, None)
    n_src = n + int(arrays["input_ptr"][-1])
    ptr("route_ptr", n_src + 1, None)
    n_routes = int(arrays["route_ptr"][-1])
    ptr("core_axon_ptr", t.n_cores + 1, None)
    n_axons = int(arrays["core_axon_ptr"][-1])
    ptr("axon_syn_ptr", n_axons + 1, None)
    n_syn = int(arrays["axon_syn_ptr"][-1])
    for name in ("neuron_pop", "neuron_index", *(f"neuron_params.{k}" for k in t.neuron_params)):
        length(name, n)
    for name in ("route_core", "route_axon"):
        length(name, n_routes)
    length("axon_source", n_axons)
    for name in ("syn_post", "syn_weight", "syn_delay", "syn_proj"):
        length(name, n_syn)
    for name in ("proj_weight_exp", "proj_max_delay", "proj_target_pop", "proj_message_bits", "proj_wrap24",
                 "proj_port", "proj_conv_plane"):
        length(name, n_proj)
    within("proj_port", 0, MAX_PORT + 1)
    within("proj_conv_plane", 0, max(n, 1) + 1)
    kinds = {k.name: k for k in NEURONS.values()}
    for k, (pop, port) in enumerate(zip(arrays["proj_target_pop"].tolist(), arrays["proj_port"].tolist())):
        channels = len(kinds[t.pop_models[pop]].inputs)
        if port >= channels:
            raise bad("proj_port", f"sends projection {k} to channel {port} of a {t.pop_models[pop]} population, "
                                   f"which has {channels}")
    length("pop_onset", n_pop)
    within("pop_onset", 0, 1 << 62)
    n_psum = arrays["psum_core"].size
    length("psum_neuron", n_psum)
    if n_psum or arrays["core_psum_ptr"].size != 1:      # tables built unsplit keep a one-entry pointer
        ptr("core_psum_ptr", t.n_cores + 1, n_psum)
    elif int(arrays["core_psum_ptr"][0]) != 0:
        raise bad("core_psum_ptr", "is not a pointer array (must start at 0 and never decrease)")
    within("psum_core", 0, max(t.n_cores, 1))
    within("psum_neuron", 0, max(n, 1))
    within("neuron_pop", 0, n_pop)
    within("route_core", 0, max(t.n_cores, 1))
    within("route_axon", 0, max(n_axons, 1))
    within("axon_source", 0, max(n_src, 1))
    within("syn_post", 0, max(n, 1))
    within("syn_proj", 0, max(n_proj, 1))
    within("proj_target_pop", 0, max(n_pop, 1))
    within("proj_weight_exp", -32, 33)
    within("proj_message_bits", 0, 33)
    within("proj_max_delay", 0, 1 << 15)
    within("syn_weight", -(1 << 24), 1 << 24)
    within("syn_delay", 0, 1 << 15)
    if n_syn and np.any(arrays["syn_delay"] > arrays["proj_max_delay"][arrays["syn_proj"]]):
        raise bad("syn_delay", "holds a delay above its projection's proj_max_delay")
    pop, idx = arrays["neuron_pop"].astype(np.int64), arrays["neuron_index"].astype(np.int64)
    counts = np.bincount(pop, minlength=n_pop)
    if idx.size and (idx.min() < 0 or np.any(idx >= counts[pop])):
        raise bad("neuron_index", "holds an index outside its population")
    seen = np.unique(pop * max(n, 1) + idx)
    if seen.size != n:
        raise bad("neuron_index", "numbers a neuron of a population twice")
