#!/usr/bin/env python3
"""Compare jidoka's incremental KS slide rate with River on the same stream,
measured in the same run on this machine.

Usage:  pip install river && python3 benches/river_compare.py [SLIDES]

For windows n = 100, 1,000, 10,000 it measures
  * jidoka: `cargo bench --bench slide_rate` (insert one value into the
    current window, evict the oldest, read D), SLIDES slides, reading D after
    every slide (as River does) and after every 250th (the pipeline's
    default `evaluate-every`);
  * River `stats.KolmogorovSmirnov` (incremental KS over paired samples): a
    slide is revert(old pair) + update(new pair) + get(), the reference
    value re-inserted so only the current sample changes;
  * River `drift.KSWIN(window_size=2n, stat_size=n)`: one `update` per value
    (it runs a full KS test inside);
and prints each rate and jidoka's rate as a multiple of River's.
"""
import os
import re
import subprocess
import sys
import time

from river import drift, stats

SLIDES = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def lcg(seed):
    x = seed
    while True:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        yield (x >> 11) / float(1 << 53)


def river_ks_rate(n, slides):
    g = lcg(42)
    ref = [next(g) for _ in range(n)]
    cur = [next(g) for _ in range(n)]
    ks = stats.KolmogorovSmirnov(statistic="ks")
    for r, c in zip(ref, cur):
        ks.update(r, c)
    values = [next(g) for _ in range(slides)]
    start = time.perf_counter()
    for i, v in enumerate(values):
        r = ref[i % n]
        old = cur[i % n]
        ks.revert(r, old)
        ks.update(r, v)
        cur[i % n] = v
        ks.get()
    return slides / (time.perf_counter() - start)


def kswin_rate(n, updates):
    g = lcg(42)
    det = drift.KSWIN(alpha=0.005, window_size=2 * n, stat_size=n, seed=1)
    for _ in range(2 * n):
        det.update(next(g))
    values = [next(g) for _ in range(updates)]
    start = time.perf_counter()
    for v in values:
        det.update(v)
    return updates / (time.perf_counter() - start)


def jidoka_rates(slides):
    out = subprocess.run(
        ["cargo", "bench", "--bench", "slide_rate", "--", str(slides)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return {
        int(m.group(1)): (float(m.group(2)), float(m.group(3)))
        for m in re.finditer(r"window=(\d+) .*rate=(\d+) rate_eval250=(\d+)", out)
    }


def main():
    jid = jidoka_rates(SLIDES)
    print(f"{'window':>7} {'jidoka/s':>12} {'River KS/s':>12} {'ratio':>8} {'KSWIN/s':>10} {'ratio':>10}"
          f" {'jidoka/s, D every 250':>22}")
    for n in (100, 1_000, 10_000):
        r_slides = max(2_000, min(SLIDES, 200_000))
        rk = river_ks_rate(n, r_slides)
        kw = kswin_rate(n, max(200, min(20_000, 2_000_000 // n)))
        j, j250 = jid.get(n, (float("nan"), float("nan")))
        print(f"{n:>7} {j:>12.0f} {rk:>12.0f} {j / rk:>8.1f} {kw:>10.0f} {j / kw:>10.0f} {j250:>22.0f}")


if __name__ == "__main__":
    main()
