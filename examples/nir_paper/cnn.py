"""The NIR paper's N-MNIST CNN (cnn_sinabs.nir) compiled for several chips, emulated, and deployed to Lava.

cnn_sinabs.nir: Conv2d(2->16, 5x5, s2, p1) -> IF -> Conv2d(16->16, 3x3) -> IF -> SumPool2d(2) ->
Conv2d(16->8, 3x3) -> IF -> SumPool2d(2) -> Flatten -> Affine(128->256) -> IF -> Affine(256->10) -> IF;
input (T, 2, 34, 34) event frames in 1 ms bins, so dt = 1e-3 s (IF neurons have no time constant, dt
only sets the clock).

**No N-MNIST data.** The paper's test digits (``paper/02_cnn/cnn_numbers.npy``) and the N-MNIST set
are not available here (``shared/data/nir/README.md``, "Not available"), so this script makes *no
accuracy claim*. It drives the network with a documented synthetic event stream
(:func:`synthetic_events`): independent Bernoulli events, each (polarity, pixel) active with
probability ``rate`` (default 3 %, inside N-MNIST's ~2-5 % of pixels per 1 ms bin) in every bin,
from ``numpy.random.default_rng(seed)``. It measures what does not need labels: cores used,
utilisation, spike messages per step with the hypergraph partitioner against the sequential
baseline (``art.stats``), energy and latency per inference from the emulator's cost model, and the
identity of the emulator's spikes with Lava's fixed-point simulation.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from examples.nir_paper.common import compile_quiet, data_dir, load_quiet, markdown_table
else:
    from .common import compile_quiet, data_dir, load_quiet, markdown_table

NIR_FILE = "cnn/cnn_sinabs.nir"
DT = 1e-3
TARGETS = ("loihi2", "loihi", "tianjic", "truenorth")
INPUT_SHAPE = (2, 34, 34)


def synthetic_events(steps: int, rate: float = 0.03, seed: int = 0) -> np.ndarray:
    """[steps, 2, 34, 34] uint8 events: each entry 1 with probability ``rate``, independently, seeded."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"synthetic_events: rate {rate} must be in [0, 1]")
    rng = np.random.default_rng(seed)
    return (rng.random((steps,) + INPUT_SHAPE) < rate).astype(np.uint8)


def load_cnn():
    net, warns = load_quiet(data_dir() / NIR_FILE, dt=DT)
    return net, warns


def compile_targets(net, targets=TARGETS, partitioner: str = "hypergraph") -> dict:
    """target -> dict(art, stats, seconds) or dict(error=message) for a NeurocompError (CapacityError...)."""
    from neurocomp.errors import NeurocompError
    out = {}
    for t in targets:
        t0 = time.perf_counter()
        try:
            art = compile_quiet(net, t, dt=DT, partitioner=partitioner)
        except NeurocompError as exc:
            out[t] = dict(error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - t0)
            continue
        part = next(r for r in art.reports if r.name == "partition").summary
        out[t] = dict(art=art, stats=art.stats, seconds=time.perf_counter() - t0,
                      raw=dict(cores=part.get("raw_cores"), messages=part.get("raw_messages"),
                               kept_baseline_because=part.get("kept_baseline_because")))
    return out


def emulate_inference(art, steps: int, rate: float = 0.03, seed: int = 0) -> dict:
    """Emulate ``steps`` bins of synthetic input (+ the output depth, so the last bin reaches the
    output); spikes per population, energy and latency for the whole inference."""
    from neurocomp.backends.emulator import emulate
    depth = max(art.network.metadata.get("latency_offset", {}).values(), default=0)
    x = synthetic_events(steps, rate, seed)
    xin = np.concatenate([x, np.zeros((depth,) + INPUT_SHAPE, x.dtype)])
    t0 = time.perf_counter()
    res = emulate(art, steps + depth, {"input": xin})
    wall = time.perf_counter() - t0
    return dict(result=res, xin=xin, steps=steps + depth, wall_s=wall, input_events=int(x.sum()),
                spikes={p: int(s.sum()) for p, s in res.spikes.items()},
                out_counts=res.spikes[art.network.outputs[0]].sum(0).astype(int).tolist() if art.network.outputs else None,
                energy_j=res.report["energy_j"]["total"], latency_s=res.report["latency_s"]["total"],
                energy_by_class=res.report["energy_j"]["by_class"])


def lava_identity(art, emu: dict, steps: int = 20) -> dict:
    """Deploy ``art`` through Lava for ``steps`` steps on the same input; spikes per population equal
    to the emulator's first ``steps`` rows?"""
    from neurocomp.deployment import deploy
    t0 = time.perf_counter()
    lr = deploy(art, backend="lava", steps=steps, inputs={"input": emu["xin"][:steps]}, record=("spikes",))
    wall = time.perf_counter() - t0
    res = emu["result"]
    return dict(steps=steps, wall_s=wall,
                spikes_equal={p: bool(np.array_equal(lr.spikes[p], res.spikes[p][:steps])) for p in res.spikes},
                spikes={p: int(s.sum()) for p, s in lr.spikes.items()})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="*", default=list(TARGETS))
    ap.add_argument("--steps", type=int, default=100, help="1 ms input bins per inference (N-MNIST: ~300)")
    ap.add_argument("--rate", type=float, default=0.03, help="event probability per pixel and polarity per bin")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lava", type=int, default=0, metavar="STEPS",
                    help="also deploy the loihi2 artifact through Lava for STEPS steps (e.g. 20; slow)")
    args = ap.parse_args(argv)
    net, warns = load_cnn()
    print(f"## cnn_sinabs.nir: {net.n_neurons} neurons, {net.n_synapses} synapses, latency_offset "
          f"{net.metadata['latency_offset']}\n")
    print("Input: SYNTHETIC (N-MNIST not available): Bernoulli events, rate "
          f"{args.rate:g} per pixel/polarity/bin, seed {args.seed}, {args.steps} bins of 1 ms. No accuracy claim.\n")
    comp = compile_targets(net, args.targets)
    rows = []
    for t, c in comp.items():
        if "error" in c:
            rows.append([t, "does not fit", "-", "-", "-", "-", "-", f"{c['seconds']:.1f}"])
            continue
        s = c["stats"]
        b = s.get("baseline", {})
        util = s["max_utilisation"]
        rows.append([t, f"{s['cores_used']} / {s['cores_available']}",
                     f"{s['partitioner_chosen']}: {s['messages_per_step_all_fire']}",
                     f"{b.get('messages_per_step_all_fire')} on {b.get('cores_used')} cores",
                     f"{c['raw']['messages']} on {c['raw']['cores']} cores",
                     ", ".join(f"{k} {100 * v:.0f}%" for k, v in util.items()), s.get("max_link_load"),
                     f"{c['seconds']:.1f}"])
    print(markdown_table(["target", "cores used", "messages/step all fire (hypergraph run)", "sequential baseline",
                          "KaHyPar result before the keep-the-better check", "max utilisation per core", "max link load", "compile s"], rows))
    for t, c in comp.items():
        if "error" in c:
            print(f"\n- {t}: {c['error']}")
        elif c["raw"]["kept_baseline_because"]:
            print(f"\n- {t}: kept the sequential mapping because {c['raw']['kept_baseline_because']}")
    print()
    rows, emu2 = [], None
    for t, c in comp.items():
        if "art" not in c:
            continue
        e = emulate_inference(c["art"], args.steps, args.rate, args.seed)
        if t == "loihi2":
            emu2 = e
        rows.append([t, e["steps"], e["input_events"], sum(v for k, v in e["spikes"].items()), e["out_counts"],
                     f"{e['energy_j']:.3e}", f"{e['latency_s']:.3e}", f"{e['wall_s']:.2f}"])
    print(markdown_table(["target", "steps", "input events", "neuron spikes", "output counts",
                          "energy / inference (J)", "latency / inference (s)", "emulator wall s"], rows))
    if args.lava and emu2 is not None:
        lv = lava_identity(comp["loihi2"]["art"], emu2, args.lava)
        print(f"\nLava fixed_pt deploy of the loihi2 artifact, {lv['steps']} steps in {lv['wall_s']:.1f} s: "
              f"spikes identical to the emulator {lv['spikes_equal']} (Lava spike counts {lv['spikes']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
