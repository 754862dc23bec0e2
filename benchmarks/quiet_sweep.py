"""The quiet dense chain against Lava fixed_pt across input rates: where ">= 100x on quiet networks" holds (issue 19).

``emulator_speed.py``'s ``chain_quiet`` (2000 graph-input channels -> 1000 -> 500 LoihiLIF, Dense) run at each
input rate of ``--rates`` (fraction of channels spiking per step), through ``emulator_speed.bench`` with the
emulator on ``nc.compile``'s mapping (``--mapping compiled`` there; Lava's final v compared, bit-exact
expected). Lava's dense step costs about the same at every rate (a matrix-vector product over every synapse);
the emulator's follows the synaptic events, so the ratio grows as the rate falls. The table gives, per rate, the
neurons' firing (% of neurons per step), synaptic events per step, both simulators' ms per step and the ratio
with nothing recorded (the emulator's best thread count) and with spikes, v and counters on (two threads).

Usage: ``.venv/bin/python benchmarks/quiet_sweep.py [--rates 0.0025,0.005,0.01,0.015,0.02] [--steps 1000]
[--lava-steps 100] [--threads 1,2] [--json out.json]``
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import emulator_speed as ES  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rates", default="0.0025,0.005,0.01,0.015,0.02")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--lava-steps", type=int, default=100)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    threads = tuple(int(x) for x in args.threads.split(","))
    rows = []
    for rate in (float(r) for r in args.rates.split(",")):
        net, _ = ES.dense_chain(True)
        row = ES.bench(f"chain_quiet@{rate}", net, rate, args.steps, args.lava_steps, False, True, threads,
                       mapping="compiled")
        row["input_rate"] = rate
        print(json.dumps(row, default=float), flush=True)
        rows.append(row)
    print("| input rate | neurons firing, % per step | events / step | neurocomp ms/step: nothing recorded (best) / "
          "recorded + counters (2 thr) | Lava fixed_pt ms/step | neurocomp / Lava: nothing / recorded | v bit-exact |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        th = r["neurocomp"]["threads"]
        bare = min(th["no_record_no_counters"].values())
        rec = th["record_counters"][str(threads[-1])]
        lava = r["lava"]["ms_per_step"]
        print(f"| {100 * r['input_rate']:.2f} % | {r['rate_hz'] / 10:.2f} | {r['events_per_step']:.0f} | "
              f"{bare:.4f} / {rec:.4f} | {lava:.3f} | **{lava / bare:.1f}x** / {lava / rec:.1f}x | "
              f"{r['lava']['final_v_bit_exact']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
