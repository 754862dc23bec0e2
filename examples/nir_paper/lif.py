"""The NIR paper's single-LIF experiment end to end: lif_norse.nir (and lif_rockpool.nir) on loihi2.

Load -> compile (loihi2, dt = 1e-4 s) -> emulate the paper's 1000-step input -> convert the integer v
back to float (``v = v_int / v_scale + v_offset``, quantize pass metadata) -> compare with

* ``lif/ref/lif_norse.csv`` (forward Euler, spikes at 460/510/710/760) and ``lif_exact.csv`` (exact
  exponential integration), after aligning by ``metadata["latency_offset"]`` (1 step: the Affine
  projection has the IR's one-step latency, see neurocomp/io/nir_import.py);
* ``lif_lava_cpu_fixed.csv`` (Lava's own NIR path, fixed point, voltage units 0.04 <-> 640, i.e.
  x16000), *without* alignment: Lava's Dense has the same one-step latency, its spikes fall at
  461/511/711/761 like ours;
* the float network on the same (IR) schedule (``common.simulate_float``): the pure quantization error.

Also ``two_lif_neurons.nir`` (no input; lif1 self-spikes through ``v_leak = 1.2 > v_th = 1``) at several
dt: the inter-spike interval against forward Euler and the continuous-time value
``tau * ln(v_leak / (v_leak - v_th))``, and how much one lif1 spike moves lif2 (``dt/tau * r * w``: the
effect of a spike scales with dt, the point of that debug graph in the paper's repository).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from examples.nir_paper.common import (align, compile_quiet, data_dir, load_quiet, markdown_table, simulate_float,
                                           spike_times, v_to_float)
else:
    from .common import align, compile_quiet, data_dir, load_quiet, markdown_table, simulate_float, spike_times, v_to_float

DT = 1e-4
#: Lava fixed-point trace units in lif_lava_cpu_fixed.csv: 0.04 <-> 640 (data README).
LAVA_FIXED_UNITS = 640 / 0.04
TWO_LIF_DTS = (1e-3, 5e-4, 2e-4, 1e-4)


def reference_csv(name: str) -> np.ndarray:
    """``lif/ref/lif_<name>.csv``: columns input, voltage (platform units), spike."""
    return np.loadtxt(data_dir() / "lif" / "ref" / f"lif_{name}.csv", delimiter=",")


def _stats(d: np.ndarray) -> dict:
    d = np.abs(d)
    return dict(max=float(d.max()), mean=float(d.mean()), p99=float(np.percentile(d, 99)))


def run_lif(file: str = "lif_norse.nir", steps: int = 1000, target: str = "loihi2") -> dict:
    """One single-LIF graph through the pipeline; |dv| statistics and spike times against the references
    (first ``steps`` rows)."""
    from neurocomp.backends.emulator import emulate
    net, warns = load_quiet(data_dir() / "lif" / file, dt=DT)
    pop = net.neuron_populations[0].name
    inp = net.inputs[0]
    off = int(net.metadata["latency_offset"][pop])
    x = np.load(data_dir() / "lif" / "lif_input.npy")[:steps]
    xin = np.vstack([x, np.zeros((off, x.shape[1]), x.dtype)])
    art = compile_quiet(net, target, dt=DT)
    t0 = time.perf_counter()
    res = emulate(art, steps + off, {inp: xin})
    wall = time.perf_counter() - t0
    v_raw = v_to_float(art, res, pop)[:, 0]
    s_raw = res.spikes[pop][:, 0]
    v = align(v_raw, off, steps)
    s = align(s_raw, off, steps)
    ir_s, ir_v = simulate_float(net, {inp: xin}, steps + off, DT, schedule="ir")
    q = art.network.metadata["quantization"][pop]
    qrep = next(r for r in art.reports if r.name == "quantize")
    out = dict(file=file, population=pop, latency_offset=off, warnings=warns, steps=steps, emulate_s=wall,
               v_scale=float(q["v_scale"]), spikes_raw=spike_times(s_raw), spikes_aligned=spike_times(s),
               quant_vs_float_ir=_stats(v_raw - ir_v[pop][:, 0]),
               float_ir_spikes_equal=bool(np.array_equal(s_raw, ir_s[pop][:, 0])),
               quant_groups={g.get("param"): g["rel_error"] for g in qrep.groups},
               energy_j=res.report["energy_j"]["total"], latency_s=res.report["latency_s"]["total"], refs={})
    if file == "lif_norse.nir":
        for name in ("norse", "exact"):
            ref = reference_csv(name)[:steps]
            out["refs"][name] = dict(spikes=spike_times(ref[:, 2]), dv=_stats(v - ref[:, 1]), aligned=True)
        lava = reference_csv("lava_cpu_fixed")[:steps]
        out["refs"]["lava_cpu_fixed"] = dict(spikes=spike_times(lava[:, 2]), aligned=False,
                                             dv=_stats(v_raw[:steps] - lava[:, 1] / LAVA_FIXED_UNITS))
    else:
        ref = reference_csv("rockpool")[:steps]
        out["refs"]["rockpool"] = dict(spikes=spike_times(ref[:, 2]), dv=None, aligned=True)
        fl_s, _ = simulate_float(net, {inp: x}, steps, DT, schedule="nir")
        out["float_nir_spikes"] = spike_times(fl_s[pop][:, 0])
    return out


def run_two_lif(dts=TWO_LIF_DTS, duration: float = 0.1, target: str = "loihi2") -> list[dict]:
    """two_lif_neurons.nir at each dt for ``duration`` seconds, no input."""
    from neurocomp.backends.emulator import emulate
    rows = []
    for dt in dts:
        net, _ = load_quiet(data_dir() / "lif" / "two_lif_neurons.nir", dt=dt)
        steps = int(round(duration / dt))
        art = compile_quiet(net, target, dt=dt)
        res = emulate(art, steps)
        fl_s, fl_v = simulate_float(net, {}, steps, dt, schedule="ir")
        m1 = net.populations["lif1"].model
        tau, vl, vth = (float(np.ravel(getattr(m1, a))[0]) for a in ("tau", "v_leak", "v_threshold"))
        t1 = np.array(spike_times(res.spikes["lif1"])) * dt
        tf = np.array(spike_times(fl_s["lif1"])) * dt
        v2 = v_to_float(art, res, "lif2")[:, 0]
        rows.append(dict(dt=dt, steps=steps, lif1_spikes=len(t1), lif1_spikes_float=len(tf),
                         isi=float(np.diff(t1).mean()) if len(t1) > 1 else None,
                         isi_float=float(np.diff(tf).mean()) if len(tf) > 1 else None,
                         isi_continuous=tau * np.log(vl / (vl - vth)),
                         lif2_spikes=int(res.spikes["lif2"].sum()), lif2_vmax=float(v2.max()),
                         lif2_vmax_float=float(fl_v["lif2"][:, 0].max()),
                         lif1_spikes_equal_float=bool(np.array_equal(res.spikes["lif1"], fl_s["lif1"]))))
    return rows


def _fmt_stats(d):
    return "-" if d is None else f"{d['max']:.2e} / {d['mean']:.2e} / {d['p99']:.2e}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000, help="input rows to run (<= 1000)")
    ap.add_argument("--target", default="loihi2")
    ap.add_argument("--dts", type=float, nargs="*", default=list(TWO_LIF_DTS), help="dt values for two_lif_neurons")
    args = ap.parse_args(argv)
    if not 1 <= args.steps <= 1000:
        ap.error("--steps must be in 1..1000")
    for file in ("lif_norse.nir", "lif_rockpool.nir"):
        r = run_lif(file, args.steps, args.target)
        print(f"## {file} on {args.target}: population '{r['population']}', latency_offset {r['latency_offset']}, "
              f"v_scale {r['v_scale']:.4g}")
        for w in r["warnings"]:
            print(f"- import warning: {w}")
        print(f"\nspikes (raw emulator rows): {r['spikes_raw']}; aligned by -{r['latency_offset']}: "
              f"{r['spikes_aligned']}\n")
        rows = [[name, ref["spikes"], "yes" if ref["aligned"] else "no (same latency)", _fmt_stats(ref["dv"])]
                for name, ref in r["refs"].items()]
        rows.append(["float, same IR schedule (quantization only)",
                     "identical" if r["float_ir_spikes_equal"] else "differ", "n/a", _fmt_stats(r["quant_vs_float_ir"])])
        if "float_nir_spikes" in r:
            rows.append(["float forward Euler of this graph (NIR schedule)", r["float_nir_spikes"], "yes", "-"])
        print(markdown_table(["reference", "reference spikes", "aligned", "|dv| max / mean / p99"], rows))
        print(f"\nquantize relative errors: {r['quant_groups']}; energy {r['energy_j']:.3e} J, latency "
              f"{r['latency_s']:.3e} s for {r['steps'] + r['latency_offset']} steps\n")
    print("## two_lif_neurons.nir (no input) for 0.1 s\n")
    rows = run_two_lif(tuple(args.dts), target=args.target)
    print(markdown_table(["dt (s)", "steps", "lif1 spikes (ours / float)", "ISI ours / float Euler / continuous (ms)",
                          "lif2 spikes", "lif2 max v ours / float (v_th = 20)"],
                         [[f"{r['dt']:g}", r["steps"], f"{r['lif1_spikes']} / {r['lif1_spikes_float']}",
                           f"{1e3 * r['isi']:.2f} / {1e3 * r['isi_float']:.2f} / {1e3 * r['isi_continuous']:.2f}",
                           r["lif2_spikes"], f"{r['lif2_vmax']:.4f} / {r['lif2_vmax_float']:.4f}"] for r in rows]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
