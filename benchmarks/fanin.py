"""Split dendrites (docs/fanin.md): the NIR paper CNN on the four targets, split quality, compile overhead.

    .venv/bin/python benchmarks/fanin.py [--steps 50] [--repeats 2] [--no-pilotnet]

1. cnn_sinabs.nir (fan-in up to 572) on loihi2, loihi, tianjic, truenorth, and on a two-chip Tianjic
   board (one Tianjic chip has 156 cores; see the output for what the CNN needs): cores, spike and
   partial-sum messages per step (all fire), energy and latency per inference of ``--steps`` bins of
   the synthetic input of examples/nir_paper/cnn.py (rate 0.03, seed 0; no N-MNIST here), and whether
   the output layer's spikes equal loihi2's (same integer network, so they must).
2. Messages per step (all fire: spikes + partial sums) of the chosen split (``hypergraph``) against the
   naive contiguous split, on the CNN (Tianjic limits) and lava-dl's PilotNet LIF (tests/data/netx,
   Tianjic limits on a board large enough), partition pass only, same packer for both.
3. Compile time of the CNN on the Tianjic board (split) against the same board with 2048 axons per
   core (no split needed), min of alternating repeats.
"""
from __future__ import annotations

import argparse
import dataclasses
import gzip
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from examples.nir_paper import cnn  # noqa: E402
from examples.nir_paper.common import markdown_table  # noqa: E402
from neurocomp.target import load_target  # noqa: E402


def board(chips_x: int, chips_y: int, name: str, **core):
    """Tianjic on a chips_x x chips_y board (inter-chip hops as the model file says: not published)."""
    t = load_target("tianjic")
    mesh = dataclasses.replace(t.mesh, chips=chips_x * chips_y, chips_x=chips_x, chips_y=chips_y)
    return dataclasses.replace(t, name=name, mesh=mesh, core=dataclasses.replace(t.core, **core))


def messages(stats: dict) -> tuple[int, int]:
    """(spike messages, partial-sum messages) per step, all fire."""
    sp = stats.get("split")
    if sp is None:
        return int(stats["messages_per_step_all_fire"]), 0
    return int(sp["spike_messages_per_step_all_fire"]), int(sp["partial_sums_per_step"])


def cnn_targets(net, steps: int) -> None:
    print("## cnn_sinabs on every target\n")
    targets = [("loihi2", "loihi2"), ("loihi", "loihi"), ("tianjic", "tianjic"),
               ("tianjic, 2-chip board", board(2, 1, "tianjic_2chips")), ("truenorth", "truenorth")]
    rows, ref, notes = [], None, []
    for label, t in targets:
        t0 = time.perf_counter()
        try:
            art = cnn.compile_quiet(net, t, dt=cnn.DT)
        except Exception as exc:  # noqa: BLE001 - the refusal is the result
            rows.append([label, "refused", "-", "-", "-", "-", "-", f"{time.perf_counter() - t0:.1f}"])
            notes.append(f"- {label}: {type(exc).__name__}: {exc}")
            continue
        sec = time.perf_counter() - t0
        e = cnn.emulate_inference(art, steps)
        out = e["result"].spikes[art.network.outputs[0]]
        if ref is None:
            ref = out
        spk, ps = messages(art.stats)
        rows.append([label, art.stats["cores_used"], spk, ps, f"{e['energy_j']:.3e}", f"{e['latency_s']:.3e}",
                     "yes" if np.array_equal(out, ref) else "no", same_as_unsplit(art, e), f"{sec:.1f}"])
    print(markdown_table(["target", "cores", "spike msgs/step", "partial sums/step", "energy / inference (J)",
                          "latency / inference (s)", "output spikes = loihi2's", "all spikes and v = unsplit",
                          "compile s"], rows))
    print("\n(`= loihi2's`: the same only where the target's number formats quantize the CNN to the same "
          "integers; Tianjic's 8-bit weights without exponent give another integer network. `= unsplit`: "
          "the target's own integer network mapped without any split (loihi2's cores) emulated on the same "
          "input: every population's spikes and v equal.)")
    print("\n" + "\n".join(notes) + "\n")


def same_as_unsplit(art, emu) -> str:
    """Does the mapping give the spikes and v of the same integer network mapped unsplit (Loihi 2 cores)?"""
    if art.split is None:
        return "(not split)"
    import neurocomp as nc
    from neurocomp.passes.partition import Partition
    from neurocomp.passes.place import Place
    from neurocomp.passes.route import Route
    from neurocomp.passes.tables import BuildTables
    whole = nc.compile(art.network, "loihi2", pipeline=[Partition(), Place(), Route(), BuildTables()])
    assert whole.split is None
    a, b = emu["result"], nc.emulate(whole, emu["steps"], {"input": emu["xin"]})
    same = all(np.array_equal(a.spikes[p], b.spikes[p]) and np.array_equal(a.v[p], b.v[p]) for p in a.spikes)
    return "yes" if same else "NO"


def split_quality(name: str, net, target) -> list:
    from neurocomp.passes.partition import Partition
    from neurocomp.passes.base import run_pipeline
    from neurocomp.passes.discretize import Discretize
    from neurocomp.passes.quantize import Quantize
    out = {}
    inet = run_pipeline(net, target, [Discretize(cnn.DT), Quantize()])[0] if not _integer(net) else net
    for method in ("hypergraph", "contiguous"):
        t0 = time.perf_counter()
        cn, rep = Partition(partitioner="sequential", split=method).run(inet, target)
        sec = time.perf_counter() - t0
        s = rep.summary
        spk, ps = s["split"]["spike_messages_per_step_all_fire"], s["split"]["partial_sums_per_step"]
        out[method] = (cn.n_cores, spk, ps, sec, split_layer_messages(cn.split))
    h, c = out["hypergraph"], out["contiguous"]
    return [name, f"{h[0]} / {c[0]}", f"{h[1]} + {h[2]} = {h[1] + h[2]}", f"{c[1]} + {c[2]} = {c[1] + c[2]}",
            f"{(h[1] + h[2]) / (c[1] + c[2]):.2f}x", f"{h[4]} / {c[4]} = {h[4] / c[4]:.2f}x",
            f"{h[3]:.1f} / {c[3]:.1f}"]


def split_layer_messages(split) -> int:
    """Messages per step (all fire) that the split creates or serves: spikes to the cores holding segments
    (one per source and destination core) plus partial sums."""
    from neurocomp.mapping.graph import FLAG_PSUM
    g, core, n = split.graph, split.comp_core, split.n_neurons
    src = np.repeat(np.arange(g.n_sources, dtype=np.int64), np.diff(g.out_ptr))
    post = np.asarray(g.out_post, np.int64)
    seg = (post >= n) & ((np.asarray(g.out_flag) & FLAG_PSUM) == 0)
    spikes = np.unique(src[seg] * (int(core.max()) + 1) + core[post[seg]]).size
    seg_core, soma_core = core[n:], core[split.seg_neuron]
    off = seg_core != soma_core                    # partial-sum routes: (segment core, neuron) pairs, merged
    return int(spikes + np.unique(seg_core[off] * max(n, 1) + split.seg_neuron[off]).size)


def _integer(net) -> bool:
    return all(p.connectivity.integer for p in net.projections.values())


def pilotnet():
    import neurocomp as nc
    src = ROOT / "tests" / "data" / "netx" / "pilotnet_lif" / "network.net.gz"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "network.net"
        with gzip.open(src, "rb") as a, open(path, "wb") as b:
            shutil.copyfileobj(a, b)
        return nc.load(path)


def compile_overhead(net, repeats: int) -> None:
    split_t = board(4, 4, "tianjic_board")
    whole_t = board(4, 4, "tianjic_board_wide", max_input_axons=2048, max_fan_in=2048,
                    synapse_memory_bits=2048 * 2048 * 8)
    times = {"split": [], "unsplit": [], "loihi2": []}
    for _ in range(repeats):
        for key, t in (("split", split_t), ("unsplit", whole_t), ("loihi2", "loihi2")):
            t0 = time.perf_counter()
            art = cnn.compile_quiet(net, t, dt=cnn.DT)
            times[key].append(time.perf_counter() - t0)
            assert (art.split is not None) == (key == "split")
    a, b, c = min(times["split"]), min(times["unsplit"]), min(times["loihi2"])
    print(f"## compile time, cnn_sinabs (min of {repeats} alternating repeats)\n")
    print(f"Tianjic limits on a 4x4-chip board, split (256 axons/core): {a:.2f} s; the same board with 2048 "
          f"axons/core (nothing to split): {b:.2f} s (ratio {a / b:.2f}x); loihi2 (nothing to split): {c:.2f} s "
          f"(ratio {a / c:.2f}x)\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--no-pilotnet", action="store_true")
    args = ap.parse_args(argv)
    net, _ = cnn.load_cnn()
    cnn_targets(net, args.steps)
    rows = [split_quality("cnn_sinabs (Tianjic limits)", net, board(2, 1, "tianjic_2chips"))]
    if not args.no_pilotnet:
        rows.append(split_quality("PilotNet LIF (Tianjic limits)", pilotnet(), board(8, 8, "tianjic_board")))
    print("## chosen (hypergraph) vs naive contiguous split: messages per step, all fire\n")
    print(markdown_table(["network", "cores hypergraph / contiguous", "hypergraph: spikes + partial sums",
                          "contiguous: spikes + partial sums", "ratio", "split layers only (spikes to segment cores + partial sums)",
                          "partition s"], rows))
    print()
    compile_overhead(net, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
