"""Byte-identity of compiled artifacts: sha256 of ``tables.npz`` and ``mapping.json`` of ``compile(out=...)``
on a fixed set of nets x {loihi2, loihi}. A change to the mapping passes that must not change the result
(a faster kernel, narrower work arrays) is checked by running this on the old and the new tree and
comparing the two outputs:

    PYTHONPATH=<old tree> .venv/bin/python benchmarks/compile_identity.py > old.json
    .venv/bin/python benchmarks/compile_identity.py --compare old.json

Nets: layered 20k and random 5k (``compile_scaling``), the NIR CNN and the layered/modular nets of
``mapping_quality``, Brunel 2k and the busy dense chain (``emulator_speed``).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGETS = ("loihi2", "loihi")


def nets() -> dict:
    import compile_scaling
    import emulator_speed
    import mapping_quality
    return {
        "layered20k": lambda: compile_scaling.build("layered", 20_000),
        "random5k": lambda: compile_scaling.build("random", 5_000),
        "nir_cnn": mapping_quality.cnn,
        "mq_layered": mapping_quality.layered,
        "mq_modular": mapping_quality.modular,
        "brunel2k": lambda: emulator_speed.brunel(2000)[0],
        "dense_chain": lambda: emulator_speed.dense_chain(False)[0],
    }


def digests(only=None) -> dict:
    import neurocomp as nc
    out = {}
    for name, make in nets().items():
        if only and name not in only:
            continue
        for target in TARGETS:
            key = f"{name}/{target}"
            with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    nc.compile(make(), target, out=Path(tmp) / "art")
                except Exception as exc:          # a net that does not fit a target: its error is the result
                    out[key] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
                    continue
                out[key] = {f: hashlib.sha256((Path(tmp) / "art" / f).read_bytes()).hexdigest()
                            for f in ("tables.npz", "mapping.json")}
            print(key, out[key], file=sys.stderr, flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", help="a JSON file this script wrote (old tree): exit 1 on any difference")
    ap.add_argument("--only", nargs="+", help="net names to run (default: all)")
    args = ap.parse_args(argv)
    got = digests(args.only)
    if not args.compare:
        print(json.dumps(got, indent=1))
        return 0
    old = json.loads(Path(args.compare).read_text())
    diff = [k for k in sorted(set(old) | set(got)) if old.get(k) != got.get(k)]
    print(json.dumps({"compared": len(got), "different": diff}))
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
