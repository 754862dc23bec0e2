"""Learning exactness: the emulator's learning engine vs Lava 0.10's LearningDense on many random nets.

Each example is ``RingBuffer -> LearningDense -> LIF`` (LIF s_out -> s_in_bap; for three-factor
rules a reward RingBuffer -> s_in_y2) with random sizes (n_pre, n_post <= 8), T <= 30 steps,
random rules (pair STDP, bounded Hebbian, R-STDP, and random expressions mixing every grammar
construct), random trace impulses/taus, t_epoch 1..4, sign modes, num_weight_bits, weight_exp, LIF
parameters and input spikes. It compares the FINAL weights, tag_1, tag_2, traces x1..y3, tx, ty and
the post spikes of every step, and prints the mismatch count (0 expected) with how many examples
actually changed their weights/tags (so a pass is not vacuous).

``--full-pipeline`` runs the same random rules through the whole tool instead: each example becomes a
Network (graph input -> learning Dense -> LoihiLIF ``p``, optionally a plain population ``q`` fed by
``p`` and a recurrent projection back, a reward graph input for three-factor rules) compiled with
``nc.compile(net, "loihi2", max_neurons_per_core=1..4)``, then run by ``nc.emulate`` (the per-core
tables) and ``nc.deploy(backend="lava")``; every spike and v of every population, the final weights
and the tags/traces of each learning projection are compared.

Usage: ``.venv/bin/python benchmarks/learning_exactness.py [--full-pipeline] [--examples 500] [--seed 0]
[--json out.json]``
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np

import neurocomp as nc
from neurocomp.semantics.fixedpoint import truncate_weights
from neurocomp.backends.emulator.learning import run_learning_net
from neurocomp.errors import NeurocompWarning

KEYS = ("spikes", "weights", "tag_1", "tag_2", "x1", "x2", "y1", "y2", "y3", "tx", "ty")
IMPULSES = [0.0, 1.0, 3.1, 5.5, 16.0, 20.3, 40.75, 64.5, 127.9]
TAUS = [0, 1, 2, 4.5, 8, 20, 100]


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def random_expression(rng, uk: str) -> str:
    """A valid expression: 1-3 products of a dependency, a scale and 0-3 factors of every kind."""
    out = []
    for _ in range(int(rng.integers(1, 4))):
        body = [f"{int(rng.integers(1, 8))}*2^{int(rng.integers(-7, 3))}", _pick(rng, ["x0", "y0", uk])]
        for _ in range(int(rng.integers(0, 4))):
            var = _pick(rng, ["x1", "x2", "y1", "y2", "y3", "w", "d", "t", "x0", "y0"])
            c = int(rng.integers(-200, 201))
            body.append(_pick(rng, [var, f"({var}{c:+d})", f"({abs(c)}-{var})",
                                    f"sgn({_pick(rng, ['w', 'd', 't'])}{c:+d})"]))
        out.append(_pick(rng, ["+ ", "- "]) + "*".join(body))
    return " ".join(out).lstrip("+ ")


def random_case(rng) -> dict:
    n_pre, n_post = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    steps, t_epoch, seed = int(rng.integers(4, 31)), int(rng.integers(1, 5)), int(rng.integers(0, 10_000))
    kind = _pick(rng, ["stdp", "hebbian", "rstdp", "random"])
    imp, tau = (lambda: _pick(rng, IMPULSES)), (lambda: _pick(rng, TAUS))
    if kind == "stdp":
        rule = nc.rules.stdp(a_plus=_pick(rng, [0.25, 0.375, 1, 3]), a_minus=_pick(rng, [0, 0.5, 2]), tau_plus=tau(),
                             tau_minus=tau(), impulse_plus=imp(), impulse_minus=imp(), t_epoch=t_epoch, rng_seed=seed)
    elif kind == "hebbian":
        rule = nc.rules.hebbian(rate=_pick(rng, [1, 4, 8, 32]), w_max=int(rng.integers(-50, 201)), tau_pre=tau(),
                                tau_post=tau(), impulse_pre=imp(), impulse_post=imp(), t_epoch=t_epoch, rng_seed=seed)
    elif kind == "rstdp":
        rule = nc.rules.rstdp("reward", lr=_pick(rng, [2 ** -4, 2 ** -1, 2]), tau_plus=tau(), impulse_plus=imp(),
                              t_epoch=t_epoch, rng_seed=seed)
    else:
        uk = _pick(rng, ["u0", "u1", "u2"])
        texts = {k: random_expression(rng, uk) if k == "dw" or rng.random() < 0.5 else None for k in ("dw", "dd", "dt")}
        rule = nc.LearningRule(**texts, x1_impulse=imp(), x1_tau=tau(), x2_impulse=imp(), x2_tau=tau(),
                               y1_impulse=imp(), y1_tau=tau(), y2_impulse=imp(), y2_tau=tau(), y3_impulse=imp(),
                               y3_tau=tau(), t_epoch=t_epoch, rng_seed=seed)
    mode = _pick(rng, [None, nc.SignMode.MIXED, nc.SignMode.EXCITATORY, nc.SignMode.INHIBITORY])
    lo, hi = {nc.SignMode.EXCITATORY: (0, 255), nc.SignMode.INHIBITORY: (-255, 0)}.get(mode, (-256, 255))
    pre = (rng.random((steps, n_pre)) < _pick(rng, [0.2, 0.5, 0.9])).astype(np.uint8)
    reward = rng.integers(0, 128, size=(steps, _pick(rng, [1, n_post]))) if rule.third_factor else None
    lif = dict(du=int(rng.integers(0, 4096)), dv=int(rng.integers(0, 4096)), vth=int(rng.integers(0, 151)),
               bias_mant=int(rng.integers(-10, 81)), bias_exp=int(rng.integers(0, 4)))
    return dict(weights=rng.integers(lo, hi + 1, size=(n_post, n_pre)), rule=rule, pre_spikes=pre, lif=lif,
                reward=reward, sign_mode=mode, num_weight_bits=int(rng.integers(5, 9)),
                weight_exp=int(rng.integers(-2, 3)))


def network_case(rng) -> tuple:
    """``(network, inputs, steps, max_neurons_per_core)`` around one :func:`random_case`."""
    case = random_case(rng)
    rule, w = case["rule"], case["weights"]
    n_post, n_pre = w.shape
    steps = case["pre_spikes"].shape[0]
    lif = lambda n: nc.LoihiLIF(**{k: int(rng.integers(0, 4096)) if k in ("du", "dv") else v
                                   for k, v in case["lif"].items()})
    net = nc.Network("learning_case")
    net.input("in", (n_pre,))
    inputs = {"in": case["pre_spikes"]}
    if rule.third_factor:
        net.input(rule.third_factor, (1,))
        inputs[rule.third_factor] = case["reward"]
    net.population("p", (n_post,), nc.LoihiLIF(**case["lif"]))
    net.connect("in", "p", nc.Dense(w, weight_exp=case["weight_exp"], num_weight_bits=case["num_weight_bits"],
                                    sign_mode=case["sign_mode"]), name="plastic", learning=rule)
    shape = _pick(rng, ["none", "chain", "loop", "self"])
    if shape in ("chain", "loop"):
        n_q = int(rng.integers(1, 6))
        net.population("q", (n_q,), lif(n_q))
        net.connect("p", "q", nc.Dense(rng.integers(-60, 121, size=(n_q, n_post))), name="pq")
        if shape == "loop":
            net.connect("q", "p", nc.Dense(rng.integers(-60, 121, size=(n_post, n_q))), name="qp")
    elif shape == "self":
        net.connect("p", "p", nc.Dense(rng.integers(-60, 121, size=(n_post, n_post))), name="pp")
    return net, inputs, steps, int(rng.integers(1, 5))


def compare_results(a, b) -> list[str]:
    """Names of the arrays that differ between two Results (spikes, v, weights, learning vars)."""
    from neurocomp.semantics.reference import LEARNING_VARS
    bad = []
    for group in ("spikes", "v", "weights"):
        x, y = getattr(a, group), getattr(b, group)
        bad += [f"{group}/{k}" for k in sorted(set(x) | set(y)) if k not in x or k not in y
                or not np.array_equal(x[k], y[k])]
    la, lb = a.report.get("learning", {}), b.report.get("learning", {})
    for proj in sorted(set(la) | set(lb)):
        bad += [f"learning/{proj}/{v}" for v in LEARNING_VARS
                if proj not in la or proj not in lb or not np.array_equal(la[proj][v], lb[proj][v])]
    return bad


def main_full_pipeline(args) -> int:
    """compile -> emulate vs deploy(lava) on random learning networks; prints the mismatch count."""
    from neurocomp.semantics.learning import state_for_projection
    rng = np.random.default_rng(args.seed)
    mismatches, changed, spiking, cores = [], 0, 0, 0
    t_compile = t_emu = t_lava = 0.0
    for i in range(args.examples):
        net, inputs, steps, per_core = network_case(rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NeurocompWarning)
            t0 = time.perf_counter()
            art = nc.compile(net, "loihi2", max_neurons_per_core=per_core)
            t1 = time.perf_counter()
            emu = nc.emulate(art, steps, inputs, record=("spikes", "v"))
            t2 = time.perf_counter()
            lava = nc.deploy(art, backend="lava", steps=steps, inputs=inputs, record=("spikes", "v"))
            t3 = time.perf_counter()
        t_compile, t_emu, t_lava = t_compile + t1 - t0, t_emu + t2 - t1, t_lava + t3 - t2
        bad = compare_results(emu, lava)
        if bad:
            rule = art.network.projections["plastic"].learning
            mismatches.append({"example": i, "keys": bad, "rule": str(rule)})
            print(f"MISMATCH example {i}: {bad} rule={rule}", file=sys.stderr)
        w0 = state_for_projection(art.network.projections["plastic"]).weights
        lrn = emu.report["learning"]["plastic"]
        changed += bool(not np.array_equal(emu.weights["plastic"], w0) or lrn["tag_1"].any() or lrn["tag_2"].any())
        spiking += bool(emu.spikes["p"].any())
        cores += int(art.tables.n_cores)
    summary = {"mode": "full-pipeline", "examples": args.examples, "mismatches": len(mismatches), "learned": changed,
               "post_spiked": spiking, "mean_cores": round(cores / max(args.examples, 1), 2),
               "compile_s": round(t_compile, 2), "emulator_s": round(t_emu, 2), "lava_s": round(t_lava, 2)}
    print(f"learning exactness (full pipeline: compile -> emulate vs deploy lava): {len(mismatches)} mismatches in "
          f"{args.examples} examples ({changed} changed weights/tags, {spiking} had post spikes, "
          f"{summary['mean_cores']} cores on average); compile {t_compile:.1f} s, emulator {t_emu:.1f} s, "
          f"Lava {t_lava:.1f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**summary, "failures": mismatches}, fh, indent=1)
    return 1 if mismatches else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    ap.add_argument("--full-pipeline", action="store_true",
                    help="build networks and run compile -> emulate vs deploy(lava) (see the module docstring)")
    args = ap.parse_args(argv)
    if args.full_pipeline:
        return main_full_pipeline(args)
    from neurocomp.backends.lava.learning import run_learning_net_lava
    rng = np.random.default_rng(args.seed)
    mismatches, changed, spiking = [], 0, 0
    t_ours = t_lava = 0.0
    for i in range(args.examples):
        case = random_case(rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NeurocompWarning)
            t0 = time.perf_counter()
            ours = run_learning_net(**case)
            t1 = time.perf_counter()
            lava = run_learning_net_lava(**case)
            t2 = time.perf_counter()
        t_ours += t1 - t0
        t_lava += t2 - t1
        bad = [k for k in KEYS if not np.array_equal(ours[k], lava[k])]
        if bad:
            mismatches.append({"example": i, "keys": bad, "rule": str(case["rule"])})
            print(f"MISMATCH example {i}: {bad} rule={case['rule']}", file=sys.stderr)
        w0 = truncate_weights(case["weights"], case["sign_mode"] or nc.SignMode.MIXED,
                                            case["num_weight_bits"])
        changed += bool(not np.array_equal(ours["weights"], w0) or ours["tag_1"].any() or ours["tag_2"].any())
        spiking += bool(ours["spikes"].any())
    summary = {"examples": args.examples, "mismatches": len(mismatches), "learned": changed,
               "post_spiked": spiking, "emulator_s": round(t_ours, 2), "lava_s": round(t_lava, 2)}
    print(f"learning exactness: {len(mismatches)} mismatches in {args.examples} examples "
          f"({changed} changed weights/tags, {spiking} had post spikes); emulator {t_ours:.1f} s, Lava {t_lava:.1f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**summary, "failures": mismatches}, fh, indent=1)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
