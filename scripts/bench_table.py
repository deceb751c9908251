#!/usr/bin/env python3
"""Print a table of two `... bench` outputs side by side: each file's last `JSON {...}` line,
rows matched by name, with the ratio of medians (ours / theirs; below 1 means minmax is faster)
and, for square matmuls, GFLOP/s and minmax's share of the peer's.

Usage: python3 bench_table.py MINMAX_OUTPUT [PEER_OUTPUT]
"""
import json
import sys


def last_json(path):
    with open(path) as f:
        lines = [l for l in f if l.startswith("JSON ")]
    if not lines:
        sys.exit(f"{path}: no 'JSON {{...}}' line (did the benchmark fail?)")
    return json.loads(lines[-1][5:])


def main():
    ours = last_json(sys.argv[1])
    peer = last_json(sys.argv[2]) if len(sys.argv) > 2 else {}
    print(f"minmax: {ours.get('device', '?')}")
    if peer:
        print(f"peer:   {peer.get('framework', '?')} on {peer.get('device', '?')}")
    print(f"{'workload':<28} {'minmax ms':>11} {'peer ms':>11} {'ratio':>7} {'minmax GF/s':>12} {'peer GF/s':>10} {'share':>6}")
    for name, st in ours.items():
        if not isinstance(st, dict) or "median_ms" not in st:
            continue
        m = st["median_ms"]
        p = peer.get(name, {}).get("median_ms") if peer else None
        ratio = f"{m / p:7.2f}" if p else "      -"
        gf = gfp = share = ""
        if "_sq" in name:
            n = int(name.rsplit("sq", 1)[1])
            gf = f"{2 * n ** 3 / (m * 1e-3) / 1e9:12.1f}"
            if p:
                gfp = f"{2 * n ** 3 / (p * 1e-3) / 1e9:10.1f}"
                share = f"{100 * p / m:5.0f}%"
        print(f"{name:<28} {m:11.3f} {(f'{p:11.3f}' if p else '          -')} {ratio} {gf:>12} {gfp:>10} {share:>6}")


if __name__ == "__main__":
    main()
