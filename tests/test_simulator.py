"""nc.Simulator: a run of N steps equals any random split of it into k runs, bit for bit (spikes, v,
learned weights, traces), on the emulator and on Lava, and the two agree across split runs; a closed
loop (on_step) equals the open loop it reproduces; checkpoints resume exactly and refuse another
artifact; weight writes are validated and take effect."""
from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest

import neurocomp as nc
from neurocomp.errors import ArtifactError, BackendError, ValidationError
from neurocomp.semantics.reference import LEARNING_VARS

REC = ("spikes", "v", "weights")


def _net(seed: int, learning: bool = True) -> nc.Network:
    """A random recurrent net with delays and (optionally) an R-STDP projection with a reward input."""
    rng = np.random.default_rng(seed)
    n_h, n_o = int(rng.integers(2, 7)), int(rng.integers(1, 5))
    net = nc.Network(f"sim{seed}")
    net.input("in", (2, 3))
    lif = lambda: nc.LoihiLIF(du=int(rng.integers(0, 4096)), dv=int(rng.integers(0, 4096)),
                              vth=int(rng.integers(5, 40)), bias_mant=int(rng.integers(0, 10)))
    net.population("h", (n_h,), lif())
    net.population("o", (n_o,), lif())
    if learning:
        net.input("rew", (1,))
        rule = nc.rules.rstdp("rew", lr=[2 ** -2, 1, 2][seed % 3], t_epoch=int(rng.integers(1, 4)),
                              rng_seed=int(rng.integers(0, 1000)))
        net.connect("in", "h", nc.Dense(rng.integers(0, 200, (n_h, 6)), sign_mode=nc.SignMode.EXCITATORY),
                    name="plastic", learning=rule)
    else:
        net.connect("in", "h", nc.Dense(rng.integers(-40, 160, (n_h, 6)), weight_exp=-1), name="plastic")
    net.connect("h", "o", nc.Dense(rng.integers(0, 120, (n_o, n_h))), delay=int(rng.integers(0, 4)), name="ho")
    net.connect("o", "h", nc.Dense(-rng.integers(0, 60, (n_h, n_o))), name="oh")
    net.output("o")
    return net


def _inputs(net, steps: int, seed: int) -> dict:
    rng = np.random.default_rng(seed + 100)
    out = {"in": (rng.random((steps, 2, 3)) < 0.5).astype(np.uint8)}
    if "rew" in net.inputs:
        out["rew"] = rng.integers(0, 128, steps)
    return out


def _split(steps: int, k: int, rng) -> list[int]:
    cuts = np.sort(rng.choice(np.arange(1, steps), size=k - 1, replace=False))
    return [int(c) for c in cuts] + [steps]


def _run_split(sim, inputs: dict, ends: list[int], record=REC) -> list:
    parts, a = [], sim.t
    for b in ends:
        parts.append(sim.run(b - a, {k: v[a:b] for k, v in inputs.items()}, record=record))
        a = b
    return parts


def _assert_same(parts, ref, what: str, weights: bool = True):
    for group in ("spikes", "v"):
        for pop, arr in getattr(ref, group).items():
            got = np.concatenate([getattr(p, group)[pop] for p in parts])
            diff = np.argwhere(got != arr)
            assert diff.size == 0, f"{what}: {group}[{pop}] differs first at {diff[0].tolist()}"
    if weights:
        for name, w in ref.weights.items():
            got = np.concatenate([p.weights[name] for p in parts]) if name.endswith(".per_step") else \
                parts[-1].weights[name]
            np.testing.assert_array_equal(got, w, err_msg=f"{what}: weights[{name}]")
        for proj, vals in ref.report.get("learning", {}).items():
            for var in LEARNING_VARS:
                np.testing.assert_array_equal(parts[-1].report["learning"][proj][var], vals[var],
                                              err_msg=f"{what}: {proj}.{var}")


# ----------------------------------------------------------------------------- Lava
@pytest.mark.parametrize("seed", [0, 1, 3])
def test_lava_split_runs_equal_one_run_and_the_emulator(seed):
    """Lava's live graph over random splits (ring buffers shorter than some runs) == one emulator run."""
    pytest.importorskip("lava")
    net = _net(seed, learning=seed != 3)
    art = nc.compile(net, "loihi2", max_neurons_per_core=2)
    steps = 24
    inputs = _inputs(net, steps, seed)
    ref = nc.emulate(art, steps, inputs, record=REC)
    rng = np.random.default_rng(seed)
    ends = _split(steps, int(rng.integers(3, 7)), rng)
    with nc.Simulator(art, "lava", probes=REC, length=5) as sim:
        if seed == 1:                                          # weights written before the first step
            with nc.Simulator(art) as emu:
                emu.weights["plastic"] = emu.weights["plastic"] // 2
                ref = emu.run(steps, inputs, record=REC)
            sim.weights["plastic"] = sim.weights["plastic"] // 2
        _assert_same(_run_split(sim, inputs, ends), ref, f"lava seed {seed}, runs ending {ends}")
        with nc.Simulator(art) as emu:                         # emulator split differently: same again
            if seed == 1:
                emu.weights["plastic"] = emu.weights["plastic"] // 2
            _assert_same(_run_split(emu, inputs, _split(steps, 4, rng)), ref, f"emulator seed {seed}")
        if seed == 0:                                          # a closed loop on Lava: one Lava run per step
            sim.reset()
            seen = []

            def policy(t, outputs):
                seen.append(outputs["o"].copy())
                return {k: v[t] for k, v in inputs.items()}

            res = sim.run(steps, on_step=policy, record=REC)
            _assert_same([res], ref, "lava closed loop")
            assert [s.tolist() for s in seen[1:]] == ref.spikes["o"][:-1].tolist()
            w = sim.weights["plastic"]
            sim.weights["plastic"] = np.zeros_like(w)
            np.testing.assert_array_equal(sim.weights["plastic"], 0)
            with pytest.raises(ValidationError, match="probes only"):
                sim.run(2, record=("u",))
            with pytest.raises(BackendError, match="not supported"):
                sim.save("never.npz")
    assert not mp.active_children(), "Lava worker processes outlived the Simulator"


# ----------------------------------------------------------------------------- emulator
@pytest.mark.parametrize("seed", range(12))
def test_emulator_split_runs_equal_one_run(seed):
    learning = seed % 4 != 3
    net = _net(seed, learning)
    art = nc.compile(net, "loihi2", max_neurons_per_core=int(np.random.default_rng(seed).integers(1, 4)))
    steps = 30
    inputs = _inputs(net, steps, seed)
    ref = nc.emulate(art, steps, inputs, record=REC)
    if learning:
        assert np.any(ref.weights["plastic"] != net.projections["plastic"].connectivity.weights)
    assert sum(int(s.sum()) for s in ref.spikes.values()) > 0
    rng = np.random.default_rng(seed)
    with nc.Simulator(art) as sim:
        for k in (2, int(rng.integers(3, 8)), steps):
            sim.reset()
            parts = _run_split(sim, inputs, _split(steps, k, rng))
            _assert_same(parts, ref, f"seed {seed}, {k} runs")
            assert sim.t == steps and sim.totals["steps"] == steps and sim.totals["runs"] == k
            _assert_same_cost(parts, ref, sim.totals, f"seed {seed}, {k} runs")


def _assert_same_cost(parts, ref, totals, what: str):
    """Split runs cost what one run costs: every step's energy and latency, hence the totals (the reads of
    a run's last spikes are charged at the next run's first step), and ``sim.totals`` sums them."""
    for key in ("energy_j", "latency_s"):
        per_step = np.concatenate([p.report["cost"]["per_step"][key] for p in parts])
        np.testing.assert_array_equal(per_step, ref.report["cost"]["per_step"][key], err_msg=f"{what}: {key}")
        total = sum(p.report[key]["total"] for p in parts)
        assert total == pytest.approx(ref.report[key]["total"], rel=1e-12), f"{what}: {key} total"
        assert totals[key] == pytest.approx(total, rel=1e-12), f"{what}: totals[{key}]"


def test_closed_loop_equals_open_loop_and_sees_the_outputs():
    net = _net(1)
    art = nc.compile(net, "loihi2", max_neurons_per_core=2)
    steps = 40
    inputs = _inputs(net, steps, 1)
    ref = nc.emulate(art, steps, inputs, record=REC, populations=None)
    seen = []

    def policy(t, outputs):
        seen.append({k: v.copy() for k, v in outputs.items()})
        return {"in": inputs["in"][t], "rew": inputs["rew"][t]}

    with nc.Simulator(art) as sim:
        a = sim.run(15, on_step=policy, record=REC, observe=["o", "h"])
        b = sim.run(steps - 15, on_step=policy, record=REC, observe=["o", "h"])
    _assert_same([a, b], ref, "closed loop")
    assert [s["o"].tolist() for s in seen[1:]] == ref.spikes["o"][:-1].tolist()   # step t's spikes, before t+1
    assert not seen[0]["o"].any()
    assert a.report["energy_j"]["total"] > 0


def test_closed_loop_errors_name_the_step():
    art = nc.compile(_net(2), "loihi2")
    with nc.Simulator(art) as sim:
        with pytest.raises(ValidationError, match=r"on_step at step 3: input 'in': values must be spikes 0/1"):
            sim.run(5, on_step=lambda t, o: {"in": np.full(6, 2 if t == 3 else 0)})
        with pytest.raises(ValidationError, match=r"on_step at step 0: \['bogus'\] are not graph inputs"):
            sim.run(5, on_step=lambda t, o: {"bogus": 1})
        with pytest.raises(ValidationError, match="either inputs or on_step"):
            sim.run(5, _inputs(_net(2), 5, 2), on_step=lambda t, o: None)


def test_streamed_chunks_equal_one_run():
    net = _net(4)
    art = nc.compile(net, "loihi2")
    inputs = _inputs(net, 50, 4)
    ref = nc.emulate(art, 50, inputs, record=REC)
    chunks = ({k: v[a:a + 10] for k, v in inputs.items()} for a in range(0, 50, 10))
    with nc.Simulator(art) as sim:
        res = sim.run(None, chunks, record=REC)
    _assert_same([res], ref, "streamed")
    assert res.steps == 50 and len(res.report["runs"]) == 5


def test_weights_read_write_persist_and_are_validated():
    net = _net(5)
    art = nc.compile(net, "loihi2")
    inputs = _inputs(net, 20, 5)
    with nc.Simulator(art) as sim:
        assert list(sim.weights) == ["plastic"]
        w0 = sim.weights["plastic"]
        sim.weights["plastic"] = w0 + 1                                      # before step 1 too
        np.testing.assert_array_equal(sim.weights["plastic"], w0 + 1)
        sim.weights["plastic"] = w0
        r = sim.run(20, inputs, record=REC)
        np.testing.assert_array_equal(sim.weights["plastic"], r.weights["plastic"])
        w = sim.weights["plastic"]
        with pytest.raises(ValidationError, match=r"outside 0\.\.255"):
            sim.weights["plastic"] = w - 300
        with pytest.raises(ValidationError, match=r"shape"):
            sim.weights["plastic"] = w[:, :2]
        with pytest.raises(ValidationError, match=r"only plastic .* compiled into the per-core tables"):
            sim.weights["ho"] = 0
        sim.weights["plastic"] = np.zeros_like(w)
        silent = sim.run(5, {"in": inputs["in"][:5], "rew": np.zeros(5, int)}, record=("spikes", "v"))
        assert sim.weights["plastic"].max() == 0                              # no input drive through it now
        assert silent.report["t_start"] == 20 and silent.report["t_end"] == 25


def test_checkpoint_resumes_bit_exactly_and_refuses_another_artifact(tmp_path):
    net = _net(6)
    art_dir = tmp_path / "art"
    art = nc.compile(net, "loihi2", max_neurons_per_core=2, out=art_dir)
    inputs = _inputs(net, 40, 6)
    ref = nc.emulate(art, 40, inputs, record=REC)
    with nc.Simulator(art_dir) as sim:
        first = _run_split(sim, inputs, [13])
        sim.save(tmp_path / "ck.npz")
        rest_live = _run_split(sim, inputs, [40])
    with nc.Simulator.load(tmp_path / "ck.npz") as sim:            # the artifact path from the checkpoint
        assert sim.t == 13 and sim.totals["steps"] == 13
        rest = _run_split(sim, inputs, [27, 40])
    _assert_same(first + rest, ref, "resumed")
    _assert_same(first + rest_live, ref, "live")
    with nc.Simulator.load(tmp_path / "ck.npz", art) as sim:        # the same artifact in memory
        assert sim.t == 13
    other = nc.compile(_net(7), "loihi2")
    with pytest.raises(ArtifactError, match="belongs to another artifact"):
        nc.Simulator.load(tmp_path / "ck.npz", other)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValidationError, match="not a neurocomp checkpoint"):
        nc.Simulator.load(tmp_path / "junk.npz", art)
    assert not list(tmp_path.glob(".*tmp"))


def test_state_rows_only_for_the_models_run_and_older_checkpoints_resume(tmp_path):
    """A plan keeps state rows over its N neurons only for the models its neurons run (another kind: rows of no
    columns; every kind's over all N were ~200 bytes a neuron). A checkpoint of an older neurocomp, whose unread
    rows of the other kinds span all N, still resumes bit-exactly."""
    from neurocomp.backends.emulator import make_plan
    from neurocomp.neurons import NEURONS
    net = _net(6)
    art = nc.compile(net, "loihi2", max_neurons_per_core=2)
    n = art.tables.n_neurons
    plan = make_plan(art.tables)
    ran = set(plan.kinds)
    assert ran and len(ran) < len(NEURONS)
    assert [r.shape for r in plan.initial_rows(art.tables)] == \
        [(len(k.state), n if i in ran else 0) for i, k in enumerate(NEURONS.values())]
    rows_ran = sum(len(k.state) for i, k in enumerate(NEURONS.values()) if i in ran)
    assert sum(r.nbytes for r in plan.initial_rows(art.tables)) == 8 * n * rows_ran < plan.nbytes
    inputs = _inputs(net, 30, 6)
    ref = nc.emulate(art, 30, inputs, record=REC)
    with nc.Simulator(art) as sim:
        first = _run_split(sim, inputs, [11])
        sim.save(tmp_path / "ck.npz")
    with np.load(tmp_path / "ck.npz") as ck:
        arrays = {k: ck[k] for k in ck.files}
    widened = [k for k, a in arrays.items() if k.startswith("a/S/") and a.shape[1] == 0]
    assert len(widened) == len(NEURONS) - len(ran)
    for k in widened:                            # as an older neurocomp saved them
        arrays[k] = np.full((arrays[k].shape[0], n), 7, np.int64)
    np.savez(tmp_path / "older.npz", **arrays)
    with nc.Simulator.load(tmp_path / "older.npz", art) as sim:
        assert sim.t == 11
        rest = _run_split(sim, inputs, [30])
    _assert_same(first + rest, ref, "older checkpoint")


def test_backend_without_sessions_says_so():
    from neurocomp.backend import Backend

    class Plain(Backend):
        def run(self, compiled, steps, inputs=None, record=("spikes", "v"), **options):
            raise AssertionError

    with pytest.raises(BackendError, match="has no live sessions"):
        Plain().open(None)


def test_cli_checkpoint_and_resume_continue_the_run(tmp_path):
    from neurocomp.cli import main
    from neurocomp.result import Result
    net = _net(8)
    art_dir = tmp_path / "art"
    nc.compile(net, "loihi2", out=art_dir)
    inputs = _inputs(net, 30, 8)
    ref = nc.emulate(art_dir, 30, inputs, record=("spikes", "v"))
    np.savez(tmp_path / "a.npz", **{k: v[:12] for k, v in inputs.items()})
    np.savez(tmp_path / "b.npz", **{k: v[12:] for k, v in inputs.items()})
    ck = tmp_path / "ck.npz"
    assert main(["emulate", str(art_dir), "--steps", "12", "--input", str(tmp_path / "a.npz"), "-o",
                 str(tmp_path / "r1"), "--checkpoint", str(ck)]) == 0
    assert main(["emulate", str(art_dir), "--steps", "18", "--input", str(tmp_path / "b.npz"), "-o",
                 str(tmp_path / "r2"), "--resume", str(ck)]) == 0
    parts = [Result.load(tmp_path / "r1"), Result.load(tmp_path / "r2")]
    _assert_same(parts, ref, "cli resume", weights=False)
    other = tmp_path / "other"
    nc.compile(_net(9), "loihi2", out=other)
    assert main(["emulate", str(other), "--steps", "3", "-o", str(tmp_path / "r3"), "--resume", str(ck)]) == 2


def test_quick_inputs_equal_the_general_path():
    """One spike input given as uint8/bool is validated and encoded by one numba pass (quickrun): the same
    events as the general path (encode_inputs on graded rows: np.nonzero), the same runs, and a bad value still
    gets the general message."""
    from neurocomp.backends.emulator.engine import encode_inputs
    from neurocomp.backends.emulator.input_events import spike_events
    from neurocomp.semantics.inputs import check_input_rows
    net = _net(3, learning=False)
    art = nc.compile(net, "loihi2", max_neurons_per_core=2)
    spec, tables = nc.Simulator(art)._session.spec, art.tables
    rng = np.random.default_rng(0)
    for steps in (1, 2, 17):
        x = (rng.random((steps + 2, 2, 3)) < rng.random()).astype(np.uint8)
        want = encode_inputs(tables, {"in": check_input_rows(spec, steps, {"in": x})["in"].astype(np.int64)}, steps)
        got = spike_events(np.ascontiguousarray(x[:steps].reshape(steps, 6)), tables.n_neurons)
        for a, b in zip(want, got[:3]):
            np.testing.assert_array_equal(a, b)
        assert got[3] == -1
    from neurocomp.backends.emulator.engine import _setup_run, spike_events_numpy
    from neurocomp.backends.emulator.quickrun import event_list
    with nc.Simulator(art) as sim:                       # the cost model's event list vs its numpy spec
        s = sim._session
        for steps in (1, 9):
            x = (rng.random((steps, 2, 3)) < 0.4).astype(np.uint8)
            run = _setup_run(tables, s.plan, steps, ("spikes",), check_input_rows(spec, steps, {"in": x}), set(),
                             None, False, True, None, [], True, {})
            run.recorder.spikes[:] = rng.random(run.recorder.spikes.shape) < 0.3
            want = spike_events_numpy(tables, run)
            got = event_list(run.recorder.spikes, run.col_gid, *run.inputs[:2])
            np.testing.assert_array_equal(got[0], want["step"])
            np.testing.assert_array_equal(got[1], want["source"])
            perm = rng.permutation(run.col_gid.size)           # columns out of id order: the sorted branch
            got = event_list(run.recorder.spikes[:, perm], run.col_gid[perm], *run.inputs[:2])
            np.testing.assert_array_equal(got[0], want["step"])
            np.testing.assert_array_equal(got[1], want["source"])
    bad = np.zeros((3, 6), np.uint8)
    bad[1, 4] = 2
    assert spike_events(bad, 0)[3] == 10
    x = (rng.random((30, 2, 3)) < 0.5).astype(np.uint8)
    ref = nc.emulate(art, 30, {"in": x.astype(np.int64)}, record=REC)          # int64: the general path
    with nc.Simulator(art) as sim:
        parts = [sim.run(1, {"in": x[i:i + 1].astype(bool)}, record=REC) for i in range(10)]
        parts += [sim.run(1, {"in": x[i].reshape(1, 6)}, record=REC) for i in range(10, 20)]
        parts += _run_split(sim, {"in": x[:, ::-1, :].copy()[:, ::-1, :]}, [30])      # not C-contiguous
        _assert_same(parts, ref, "quick inputs")
        _assert_same_cost(parts, ref, sim.totals, "quick inputs")
        with pytest.raises(ValidationError, match=r"input 'in': values must be spikes 0/1"):
            sim.run(3, {"in": bad})
        with pytest.raises(ValidationError, match=r"on_step at step 30: input 'in': values must be spikes 0/1"):
            sim.run(3, on_step=lambda t, o: {"in": bad[1]})
    # tables alone (no shapes: any [T, ...] with 6 channels): [T, 6] uint8 takes the quick path, other shapes the
    # general one, and every way runs the same
    from neurocomp.backends.emulator.engine import emulate_tables, input_spec_of
    from neurocomp.backends.emulator.quickrun import quick_events
    loose = input_spec_of(tables)
    flat = x.reshape(30, 6)
    got = quick_events(tables, loose, 30, {"in": flat})
    want = encode_inputs(tables, {"in": flat.astype(np.int64)}, 30)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert quick_events(tables, loose, 30, {"in": x}) is None
    assert quick_events(tables, loose, 3, {"in": bad}) is None
    runs = [emulate_tables(tables, 30, {"in": arr}, REC) for arr in (flat, x, flat.astype(np.int64))]
    _assert_same(runs[:1], runs[1], "tables, [T, 2, 3]")
    _assert_same(runs[:1], runs[2], "tables, int64")
    with pytest.raises(ValidationError, match=r"input 'in': values must be spikes 0/1"):
        emulate_tables(tables, 3, {"in": bad}, REC)


def test_quick_closed_loop_equals_open_loop():
    net = _net(7, learning=False)
    art = nc.compile(net, "loihi2", max_neurons_per_core=3)
    x = (np.random.default_rng(7).random((25, 2, 3)) < 0.5).astype(np.uint8)
    ref = nc.emulate(art, 25, {"in": x}, record=REC)
    with nc.Simulator(art) as sim:
        res = sim.run(25, on_step=lambda t, o: {"in": x[t]}, record=REC)
    _assert_same([res], ref, "quick closed loop")
    assert res.report["energy_j"]["total"] == pytest.approx(ref.report["energy_j"]["total"], rel=1e-12)


def test_lazy_report_fills_once_on_first_read():
    import json
    import pickle
    from neurocomp.lazyreport import LazyReport
    calls = []

    def fill(rep):
        calls.append(1)
        rep["cost"] = {"total": 2.0}
        rep["counters"] = "summed"

    rep = LazyReport({"steps": 3, "counters": "per step"}, fill)
    rep["t_start"] = 0                                           # a write does not fill
    assert rep.pending and not calls
    assert "cost" in rep and rep["counters"] == "summed" and len(calls) == 1
    assert json.loads(json.dumps(rep)) == {"steps": 3, "counters": "summed", "t_start": 0, "cost": {"total": 2.0}}
    assert pickle.loads(pickle.dumps(rep)) == dict(rep) and len(calls) == 1
    for read in (dict, lambda r: {**r}, lambda r: dict(r.items()), lambda r: {k: r[k] for k in r}):
        assert read(LazyReport({"steps": 3}, fill))["cost"] == {"total": 2.0}
    assert LazyReport({}, fill).get("cost") == {"total": 2.0}
    rep = LazyReport({"steps": 3}, fill, keys=("cost",))         # only "cost" deferred
    assert rep["steps"] == 3 and rep.get("x") is None and "steps" in rep and rep.pending
    assert rep["cost"] == {"total": 2.0} and not rep.pending and rep["counters"] == "summed"
    assert dict(LazyReport({"steps": 3}, fill, keys=("cost",)))["cost"] == {"total": 2.0}


def test_quick_runs_report_what_the_general_path_reports():
    """Short runs of a Simulator take session.QuickRuns; their reports (filled when read: counters, spike
    events through the cost model, workload, energy and latency) and totals equal the general path's (an
    int64 input takes it), also after the user wrote into a Result's spikes (the cost model keeps its copy)."""
    from neurocomp.jsonable import to_jsonable
    net = _net(10, learning=False)
    art = nc.compile(net, "loihi2", max_neurons_per_core=2)
    x = (np.random.default_rng(10).random((12, 2, 3)) < 0.5).astype(np.uint8)
    with nc.Simulator(art) as quick, nc.Simulator(art) as general:
        for a, b in ((0, 1), (1, 4), (4, 5), (5, 12)):
            q = quick.run(b - a, {"in": x[a:b]}, record=("spikes", "v"))
            assert q.report.pending                                   # the quick path: nothing built yet
            q.spikes["o"][:] = 1 - q.spikes["o"]                      # the user's arrays: not the cost model's
            g = general.run(b - a, {"in": x[a:b].astype(np.int64)}, record=("spikes", "v"))
            np.testing.assert_array_equal(q.v["h"], g.v["h"])
            want, got = to_jsonable(dict(g.report)), to_jsonable(dict(q.report))
            for rep in (want, got):                                   # measured times, not results
                rep.pop("wall_time_s")
                rep["cost"].pop("wall_time_s")
            assert got == want, f"run {a}..{b}: quick report differs"
        assert quick.totals == general.totals


def _reset_net(seed: int) -> nc.Network:
    """:func:`_net` without learning, its output population a LIFReset (Lava's reset phase follows its clock)."""
    from dataclasses import replace
    from neurocomp.neurons import LIFReset
    net = _net(seed, learning=False)
    rng = np.random.default_rng(seed + 50)
    net.populations["o"] = replace(net.populations["o"], model=LIFReset(
        du=int(rng.integers(0, 4096)), dv=int(rng.integers(0, 4096)), vth=int(rng.integers(5, 40)),
        reset_interval=int(rng.integers(2, 6)), reset_offset=int(rng.integers(0, 9)), bias_mant=int(rng.integers(0, 9))))
    return net


@pytest.mark.parametrize("seed", [0, 1])
def test_lava_checkpoint_resumes_bit_exactly(seed, tmp_path):
    """Lava: k steps, save, load into a NEW Simulator (a fresh graph whose clock restarts at 0), N - k more
    == the same N steps of one live graph: spikes, v and every Var of the neuron and connection processes;
    rings shorter than the runs and a LIFReset population whose reset phase depends on the clock."""
    pytest.importorskip("lava")
    net = _reset_net(seed) if seed else _net(seed, learning=False)
    art = nc.compile(net, "loihi2", max_neurons_per_core=2)
    steps = 16
    inputs = _inputs(net, steps, seed)
    k = int(np.random.default_rng(seed).integers(3, 12))
    ref = nc.emulate(art, steps, inputs, record=("spikes", "v"))
    with nc.Simulator(art, "lava", length=5) as sim:
        first = _run_split(sim, inputs, [k], record=("spikes", "v"))
        sim.save(tmp_path / "ck.npz")
        live = _run_split(sim, inputs, [steps], record=("spikes", "v"))
        want = sim._session.state_dict()[0]
    with nc.Simulator.load(tmp_path / "ck.npz", art) as sim:
        assert sim.t == k and sim.backend == "lava"
        rest = _run_split(sim, inputs, [steps], record=("spikes", "v"))
        got = sim._session.state_dict()[0]
    _assert_same(first + live, ref, f"seed {seed}: live")
    _assert_same(first + rest, ref, f"seed {seed}: resumed at {k}")
    assert sorted(got) == sorted(want) and any(key.endswith("/v") for key in want)
    for key, val in want.items():
        np.testing.assert_array_equal(got[key], val, err_msg=f"seed {seed}: {key} after the resumed run")
    assert not mp.active_children(), "Lava worker processes outlived the Simulator"


def test_lava_checkpoint_refusals(tmp_path):
    """What a Lava graph cannot be given back is refused by name and reason; checkpoints stay per backend."""
    art = nc.compile(_net(11), "loihi2")
    with nc.Simulator(art, "lava") as sim:                        # nothing is started: refused before Lava
        with pytest.raises(BackendError, match=r"learning rules \(plastic\) .*epoch phase .*random generators"):
            sim.save(tmp_path / "never.npz")
    assert not (tmp_path / "never.npz").exists()
    plain = nc.compile(_net(11, learning=False), "loihi2")
    with nc.Simulator(plain) as sim:
        sim.run(3, _inputs(_net(11, learning=False), 3, 11))
        sim.save(tmp_path / "emu.npz")
    with pytest.raises(ValidationError, match="'emulator' backend cannot be loaded into 'lava'"):
        nc.Simulator.load(tmp_path / "emu.npz", plain, backend="lava")
