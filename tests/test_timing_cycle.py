"""The message-level timing model (backends/emulator/timing): hand-computed cases exact, the numba engine
equal to the Python spec on random runs, the report section and the API/CLI switch (issue 16)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.backends.emulator.costmodel import active_from_spikes, estimate
from neurocomp.backends.emulator.timing import model
from neurocomp.errors import TargetError, ValidationError
from neurocomp.mapping.tables import build_core_tables
from neurocomp.target import Mesh, Quantity, load_target
from netgen import random_mapped_run

LOIHI = load_target("loihi")
NS = 1e-9


def _target(depth=16, syn=1, act=10, idle=5, out=2, gen=3, win=4, ew=7, ns=11, flit=6, base=LOIHI):
    """``base`` with round latencies (ns) so the cases below can be computed by hand."""
    q = lambda v, u="s": Quantity(float(v), u, "test", "assumed")
    c = base.costs
    latency = dict(c.latency, syn_op=q(syn * NS), neuron_update_active=q(act * NS),
                   neuron_update_idle=q(idle * NS), spike_out=q(out * NS), spike_within_tile=q(win * NS),
                   hop_ew=q(ew * NS), hop_ns=q(ns * NS))
    timing = dict(buffer_depth=q(depth, "messages"), flits_per_message=q(1, "flits"), flit_time=q(flit * NS),
                  spike_generation=q(gen * NS))
    return dataclasses.replace(base, costs=dataclasses.replace(c, latency=latency, timing=timing))


def _core(tx, ty, k=0):
    m = LOIHI.mesh
    return (ty * m.tiles_x + tx) * m.cores_per_tile + k


def _tables(pops, conns, where, n_in=0):
    """pops: [(name, n)], conns: [(src, dst, w)], where: {pop: logical core per neuron}."""
    net = nc.Network("t")
    if n_in:
        net.input("in", (n_in,))
    for name, n in pops:
        net.population(name, (n,), nc.LoihiLIF(du=0, dv=0, vth=10))
    for src, dst, w in conns:
        net.connect(src, dst, nc.Dense(np.asarray(w, np.int64)))
    n_cores = 1 + max(int(np.max(v)) for v in where.values())
    return build_core_tables(net, {k: np.asarray(v) for k, v in where.items()}, n_cores)


def _sim(target, tables, phys, events, active, steps=1, engine="numba"):
    ev = np.array(events, np.int64).reshape(-1, 2)
    return model.simulate(target, tables, np.array(phys), ev[:, 0], ev[:, 1], np.array(active, np.int64), steps,
                          engine=engine)


def _both(*args, **kw):
    """Run both engines, check they agree, return the numba result."""
    a = _sim(*args, engine="spec", **kw)
    b = _sim(*args, engine="numba", **kw)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    return b


def _a_to_b(n_a=1, n_b=3):
    return _tables([("a", n_a), ("b", n_b)], [("a", "b", np.ones((n_b, n_a)))], {"a": [0] * n_a, "b": [1] * n_b})


# ------------------------------------------------------------------------------- hand-computed cases
def test_one_message_within_a_tile():
    # soma of core 0: act 10 + gen 3 + out 2 -> injected at 15, ejected at once (0 hops), read at 15:
    # win 4 + 3 synapses x 1 = 22. Core 1's soma: 3 idle neurons = 15.
    r = _both(_target(), _a_to_b(), [_core(0, 0, 0), _core(0, 0, 1)], [(0, 0)], [[1, 0]])
    assert r["latency"].tolist() == [22_000] and r["n_messages"].tolist() == [1]
    assert r["soma_max"].tolist() == [15_000] and r["input_max"].tolist() == [22_000]


def test_one_message_over_k_hops():
    # injected at 15; 3 east hops of 7 and 2 north hops of 11 -> ejected at 15 + 21 + 22 = 58; + 4 + 3 = 65.
    r = _both(_target(), _a_to_b(), [_core(0, 0), _core(3, 2)], [(0, 0)], [[1, 0]])
    assert r["latency"].tolist() == [65_000]
    assert (r["link_busy"] > 0).sum() == 5 and r["link_busy"].sum() == 5 * 6_000 and r["link_stall"].sum() == 0


def test_two_messages_contend_for_one_link():
    # Two cores of tile (0,0) inject at 15 into their own ports; both need the east link (flit time 6).
    # The older message (the first injected) goes at 15, the other waits 6 ns and goes at 21:
    # arrivals at (1,0) 22 and 28; core 2 reads them 22..27 and 28..33.
    tb = _tables([("a", 1), ("c", 1), ("b", 1)], [("a", "b", [[1]]), ("c", "b", [[1]])],
                 {"a": [0], "c": [1], "b": [2]})
    phys = [_core(0, 0, 0), _core(0, 0, 1), _core(1, 0, 0)]
    r = _both(_target(), tb, phys, [(0, 0), (0, 1)], [[1, 1, 0]])
    assert r["latency"].tolist() == [33_000]
    east = (0 * 8 + 0) * 4 + 0
    assert r["link_stall"][east] == 6_000 and r["link_busy"][east] == 12_000
    # The second takes its slot in (1,0)'s west input port at 21 (credit at departure), while the first,
    # in flight since 15, is there until it is ejected at 22: two slots held.
    assert r["buf_peak"][east] == 2


def test_full_buffer_stalls_its_sender():
    # depth 1; four neurons fire (messages ready at 15, 30, 45, 60), one slow reader (win 4 + 100 x 1).
    # m0 read 15..119; m1 waits in core 1's queue; m2 waits in the injection port; m3 finds the port full:
    # the soma stalls 60..119. Reads: 119..223, 223..327, 327..431.
    tb = _tables([("a", 4), ("b", 1)], [("a", "b", np.ones((1, 4)))], {"a": [0] * 4, "b": [1]})
    r = _both(_target(depth=1, syn=100), tb, [_core(0, 0, 0), _core(0, 0, 1)],
              [(0, 0), (0, 1), (0, 2), (0, 3)], [[4, 0]])
    assert r["latency"].tolist() == [431_000]
    assert r["sender_stall"].tolist() == [59_000, 0]
    assert r["soma_max"].tolist() == [119_000]
    n_links = 8 * 4 * 4
    assert r["buf_peak"][n_links:].tolist() == [1, 0, 0, 1]     # injection ports, then input queues
    # With deep buffers the soma never stalls and the reader alone sets the step: 15 + 4 x 104 = 431 too.
    deep = _both(_target(depth=16, syn=100), tb, [_core(0, 0, 0), _core(0, 0, 1)],
                 [(0, 0), (0, 1), (0, 2), (0, 3)], [[4, 0]])
    assert deep["latency"].tolist() == [431_000] and deep["sender_stall"].tolist() == [0, 0]
    assert deep["soma_max"].tolist() == [60_000]


def test_core_whose_synaptic_work_dominates():
    # Three host inputs to a core of 5 neurons: 3 x (win 4 + 5 synapses x 10) = 162 > its soma 5 x 5 = 25.
    tb = _tables([("b", 5)], [("in", "b", np.ones((5, 3)))], {"b": [0] * 5}, n_in=3)
    n = tb.n_neurons
    r = _both(_target(syn=10), tb, [_core(2, 1)], [(0, n), (0, n + 1), (0, n + 2)], [[0]])
    assert r["latency"].tolist() == [162_000] and r["input_max"].tolist() == [162_000]
    assert r["soma_max"].tolist() == [25_000] and r["n_messages"].tolist() == [0]


def test_active_neurons_are_spread_over_the_non_fired():
    # 4 neurons, neuron 2 fires, 3 active: the 2 active non-fired ones are spread over the 3 non-fired.
    tb = _a_to_b(n_a=4, n_b=1)
    r = _both(_target(), tb, [_core(0, 0, 0), _core(0, 0, 1)], [(0, 2)], [[3, 0]])
    # prefix(x) = 5x + (fired_before + floor(2*(x - fired_before)/3)) * 5
    # before neuron 2: 10 + (0 + 1)*5 = 15; +10+3+2 = 30 inject; neuron 3: prefix(4, f=1) - prefix(3, f=1)
    # = (20 + (1 + 2)*5) - (15 + (1 + 1)*5) = 35 - 25 = 10 -> soma ends at 40.
    assert r["soma_max"].tolist() == [40_000]


def test_step_past_the_kernels_key_range_is_a_clear_error():
    # The kernel orders injections by one key, (time from the step's start) << log2(cores) | core: with 2
    # cores times up to 2**62 ticks (~4.6e6 s). A message injected after 5e6 s is beyond it: an error, not a
    # wrong order. Just under it the kernel still equals the spec.
    for act_ns, ok in ((5e15, False), (4e15, True)):
        args = (_target(act=act_ns), _a_to_b(), [_core(0, 0, 0), _core(0, 0, 1)], [(0, 0)], [[1, 0]])
        if ok:
            assert _both(*args)["n_messages"].tolist() == [1]
        else:
            with pytest.raises(ValidationError, match=r"limit of the kernel's \(time, core\) keys with 2 cores"):
                _sim(*args)


def test_barrier_span_and_report():
    tb = _a_to_b()
    phys = [_core(0, 0), _core(3, 2)]          # bounding box 4 x 3 = 12 tiles
    target = _target()
    ev_s, ev_n = np.array([0]), np.array([0])
    act = np.array([[1, 0], [0, 3]])
    an = estimate(target, tb, np.array(phys), ev_s, ev_n, act, 2)
    rep = model.cycle_report(target, tb, phys, ev_s, ev_n, act, 2, an)
    barrier = 113e-9 + 11 * (465e-9 - 113e-9) / 31
    assert rep["latency_s"]["barrier"] == pytest.approx(barrier)
    # step 0: the message (65 ns, above); step 1: core 1's soma 3 active x 10 = 30 ns.
    np.testing.assert_allclose(rep["per_step"]["latency_s"], [65e-9 + barrier, 30e-9 + barrier], rtol=1e-12)
    # links (y * 8 + x) * 4 + d: (0,0)E (1,0)E (2,0)E (3,0)N (3,1)N, each used once (6 ns) in step 0
    assert sorted(int(k) for k in rep["links"]) == [0, 4, 8, 14, 46]
    assert all(v["busy_s"] == pytest.approx(6e-9) and v["stall_s"] == 0 for v in rep["links"].values())
    assert rep["vs_analytic"]["analytic_total_s"] == pytest.approx(an["latency_s"]["total"])
    json.dumps(rep)


def test_barrier_span_rule_from_the_model_file(tmp_path):
    # The same two cores (tiles (0,0) and (3,2)): bounding box 12 tiles, tiles holding them 2.
    text = (Path(LOIHI.path).read_text())
    assert 'rule = "bounding_box"' in text
    used = load_target(_write(tmp_path / "used.toml", text.replace('rule = "bounding_box"', 'rule = "tiles_used"')))
    assert used.costs.barrier_span == "tiles_used" and used.to_dict()["costs"]["barrier_span"]["status"] == "assumed"
    ev_s, ev_n, act = np.array([0]), np.array([0]), np.array([[1, 0]])
    for t, tiles in ((LOIHI, 12), (used, 2)):
        an = estimate(t, _a_to_b(), np.array([_core(0, 0), _core(3, 2)]), ev_s, ev_n, act, 1)
        assert an["latency_s"]["barrier"] == pytest.approx(113e-9 + (tiles - 1) * (465e-9 - 113e-9) / 31)
    with pytest.raises(TargetError, match=r"barrier\.span\.rule.*bounding_box, tiles_used"):
        load_target(_write(tmp_path / "bad.toml", text.replace('rule = "bounding_box"', 'rule = "box"')))


def _write(path, text):
    path.write_text(text)
    return path


def test_missing_timing_section_is_a_clear_error():
    bare = dataclasses.replace(LOIHI, costs=dataclasses.replace(LOIHI.costs, timing={}))
    with pytest.raises(TargetError, match=r"\[timing\].*timing='analytic'"):
        _sim(bare, _a_to_b(), [0, 1], [(0, 0)], [[1, 0]])


# ------------------------------------------------------------------------------- numba == spec
def _random_run(rng):
    mesh, tb, phys, steps, ev_step, ev_src = random_mapped_run(rng, 0.7, 1, 0.6, 5, 80)
    keep = np.unique(ev_step * tb.n_sources + ev_src, return_index=True)[1]     # a source spikes once a step
    ev_step, ev_src = ev_step[keep], ev_src[keep]
    fig = dict(depth=int(rng.integers(1, 4)), **{k: int(rng.integers(0, 20)) for k in
                                                 ("syn", "act", "idle", "out", "gen", "win", "ew", "ns", "flit")})
    target = _target(base=dataclasses.replace(LOIHI, mesh=mesh), **fig)
    act = active_from_spikes(tb, ev_step, ev_src, steps)
    return target, tb, phys, ev_step, ev_src, act, steps


@pytest.mark.parametrize("seed", range(25))
def test_numba_engine_equals_python_spec(seed):
    target, tb, phys, ev_step, ev_src, act, steps = _random_run(np.random.default_rng(seed))
    # blocks of steps on 1-3 threads (each on its own time line) give the one-thread results
    a = model.simulate(target, tb, phys, ev_step, ev_src, act, steps, engine="spec")
    b = model.simulate(target, tb, phys, ev_step, ev_src, act, steps, engine="numba", threads=1 + seed % 3)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_core_pairs_numbered_by_sorting_equal_the_spec(monkeypatch):
    # Above model.DENSE_PAIRS possible pairs the paths are numbered by np.unique, not a flag per pair.
    monkeypatch.setattr(model, "DENSE_PAIRS", 0)
    for seed in range(3):
        target, tb, phys, ev_step, ev_src, act, steps = _random_run(np.random.default_rng(100 + seed))
        a = model.simulate(target, tb, phys, ev_step, ev_src, act, steps, engine="spec")
        b = model.simulate(target, tb, phys, ev_step, ev_src, act, steps, engine="numba")
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def _same_traces(target, tb, phys, ev_step, ev_src, act, steps):
    """The kernel's busy intervals of every step equal the spec's (a trace has every kind)."""
    kinds = set()
    for t in range(steps):
        a = model.trace_step(target, tb, phys, ev_step, ev_src, act, steps, t, engine="spec")
        b = model.trace_step(target, tb, phys, ev_step, ev_src, act, steps, t)
        assert a == b, t
        kinds |= {k for k, *_ in b["intervals"]}
    return kinds


def test_numba_trace_equals_python_spec(monkeypatch):
    # The report's timeline comes from the kernel (the spec was 80 % of an emulate(timing="cycle") run).
    kinds = set()
    for seed in range(8):
        monkeypatch.setattr(model, "TRACE_ROWS_GUESS", seed % 2)      # 0: the trace array is sized again
        target, tb, phys, ev_step, ev_src, act, steps = _random_run(np.random.default_rng(seed))
        target = _target(base=target, depth=1, flit=9)          # back-pressure: stalls in the trace
        kinds |= _same_traces(target, tb, phys, ev_step, ev_src, act, steps)
    assert kinds == {0, 1, 2, 3}


def test_event_order_and_timeline_truncation_do_not_change_results():
    # Events already in (step, source) order skip the sort (the emulator records them so); any other order is
    # sorted; the timeline's first n intervals are sorted after a partition on start (ties at its threshold).
    target, tb, phys, ev_step, ev_src, act, steps = _random_run(np.random.default_rng(7))
    st, src = model.sort_events(ev_step, ev_src)
    assert np.all(np.diff(st * tb.n_sources + src) > 0)
    perm = np.random.default_rng(1).permutation(st.size)
    for order in (np.arange(st.size), perm):
        s2, r2 = model.sort_events(st[order], src[order])
        np.testing.assert_array_equal(s2, st)
        np.testing.assert_array_equal(r2, src)
    a = model.simulate(target, tb, phys, st, src, act, steps)
    b = model.simulate(target, tb, phys, st[perm], src[perm], act, steps)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    iv = np.random.default_rng(2).integers(0, 6, (400, 4)).astype(np.int64)   # many equal starts
    full = iv[np.lexsort((iv[:, 3], iv[:, 1], iv[:, 0], iv[:, 2]))]
    for n in (1, 37, 399, 400, 401):
        want = [[int(k), int(i), s * model.TICK, e * model.TICK] for k, i, s, e in full[:n].tolist()]
        assert model.first_intervals(iv, n) == want


def test_partial_sums_are_messages():
    # A split mapping (docs/fanin.md): partial sums travel as a second wave of messages, one per route reached
    # by a spike of the step, as the emulator's psum_out counter counts them; on random spike events both
    # engines agree and the partial sums lengthen steps (the same run with the routes removed is shorter).
    from netgen import random_inputs, random_network
    from test_fanin import compile_plain, small_target
    net = random_network(4, 3, 2, False, max_size=120)
    art = compile_plain(net, small_target(40), max_neurons_per_core=64)
    tb, phys = art.tables, np.asarray(art.physical_core)
    assert tb.n_psum > 0
    res = nc.emulate(art, 12, random_inputs(net, 4), timing="cycle")
    n_ps = res.report["cost"]["cycle"]["per_step"]["partial_sums"]
    assert sum(n_ps) == int(res.report["counters"]["psum_out"].sum()) > 0
    rng = np.random.default_rng(1)
    ev = np.unique(rng.integers(0, [6, tb.n_sources], (300, 2)), axis=0)
    act = active_from_spikes(tb, ev[:, 0], ev[:, 1], 6)
    target = _target(depth=2, base=art.target)
    a = model.simulate(target, tb, phys, ev[:, 0], ev[:, 1], act, 6, engine="spec")
    b = model.simulate(target, tb, phys, ev[:, 0], ev[:, 1], act, 6, engine="numba", threads=2)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert b["n_psum"].sum() > 0
    _same_traces(target, tb, phys, ev[:, 0], ev[:, 1], act, 6)
    none = dataclasses.replace(tb, psum_core=tb.psum_core[:0], psum_neuron=tb.psum_neuron[:0],
                               core_psum_ptr=np.zeros_like(tb.core_psum_ptr))
    c = model.simulate(target, none, phys, ev[:, 0], ev[:, 1], act, 6)
    assert c["n_psum"].sum() == 0 and np.all(c["latency"] <= b["latency"]) and np.any(c["latency"] < b["latency"])


# ------------------------------------------------------------------------------- API, CLI, report
def _artifact(tmp_path):
    net = nc.Network("api")
    net.input("x", (6,))
    net.population("h", (40,), nc.LoihiLIF(du=0, dv=0, vth=10, bias_mant=3))
    net.population("o", (20,), nc.LoihiLIF(du=0, dv=0, vth=10))
    rng = np.random.default_rng(0)
    net.connect("x", "h", nc.Dense(rng.integers(0, 30, (40, 6)).astype(np.int64)))
    net.connect("h", "o", nc.Dense(rng.integers(0, 5, (20, 40)).astype(np.int64)))
    art = nc.compile(net, "loihi", partitioner="sequential", max_neurons_per_core=8)
    inputs = {"x": (rng.random((12, 6)) < 0.5).astype(np.uint8)}
    return art, inputs


def test_emulate_timing_cycle_report_and_cli(tmp_path):
    from neurocomp.cli import main
    from neurocomp.report import make_report
    art, inputs = _artifact(tmp_path)
    ana = nc.emulate(art, 12, inputs)
    cyc = nc.emulate(art, 12, inputs, timing="cycle")
    assert ana.report["timing"] == "analytic" and "cycle" not in ana.report["cost"]
    c = cyc.report["cost"]["cycle"]
    assert cyc.report["latency_s"] == c["latency_s"] and cyc.report["energy_j"] == ana.report["energy_j"]
    assert c.pending                                    # the timeline is traced when first read
    assert c["vs_analytic"]["analytic_total_s"] == pytest.approx(ana.report["latency_s"]["total"])
    assert len(c["per_step"]["latency_s"]) == 12 and c["timeline"]["intervals"]
    assert np.all(np.asarray(c["per_step"]["latency_s"]) >= c["latency_s"]["barrier"])
    cyc.save(tmp_path / "res")
    text = make_report(tmp_path / "res")
    assert "cycle timing: latency per step" in text and (tmp_path / "res" / "step_timeline.png").is_file()
    with pytest.raises(ValidationError, match="timing="):
        nc.emulate(art, 12, inputs, timing="cycles")
    art_dir = art.save(tmp_path / "art")
    np.savez(tmp_path / "in.npz", **inputs)
    assert main(["emulate", str(art_dir), "--steps", "12", "--input", str(tmp_path / "in.npz"), "-o",
                 str(tmp_path / "res2"), "--timing", "cycle"]) == 0
    rep = json.loads((tmp_path / "res2" / "report.json").read_text())
    assert rep["timing"] == "cycle" and rep["cost"]["cycle"]["latency_s"]["total"] == pytest.approx(
        c["latency_s"]["total"])
