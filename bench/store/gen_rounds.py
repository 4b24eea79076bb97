#!/usr/bin/env python3
"""Rounds of the shared AMAS workload for store_bench: series once, then values.

Uses ../shared/bench/gen_exposition.py (the same generator the Prometheus
comparison ran on) and renders it at t, t+15s, t+30s, ... so counters grow,
gauges move and histograms stay consistent, exactly as scrapes would see them.

Output (text): "N R", then N lines of series text (name{labels}), then R lines
of N space-separated values. stdlib only; ~1 s per round at --scale 1.

  gen_rounds.py -o /tmp/store-rounds.txt [--rounds 80] [--scale 1] [--interval 15]
"""
import argparse
import os
import sys


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_gen = os.path.normpath(os.path.join(here, '..', '..', '..', 'shared', 'bench'))
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('-o', '--output', required=True)
    ap.add_argument('--rounds', type=int, default=80)
    ap.add_argument('--scale', type=float, default=1.0)
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--interval', type=float, default=15.0, help='seconds between rounds')
    ap.add_argument('--start', type=float, default=1000.0, help='t of the first round (seconds)')
    ap.add_argument('--generator-dir', default=os.environ.get('AMAS_SHARED_BENCH', default_gen))
    a = ap.parse_args()
    sys.path.insert(0, a.generator_dir)
    import gen_exposition as gen  # noqa: E402 (found through --generator-dir)

    fams = gen.build(a.scale, a.seed)
    series = [prefix[:-1] for f in fams for (prefix, _kind, _a, _b, _c) in f.samples]
    with open(a.output, 'w', encoding='utf-8') as out:
        out.write('%d %d\n' % (len(series), a.rounds))
        for s in series:
            out.write(s)
            out.write('\n')
        for r in range(a.rounds):
            text = gen.render(fams, a.start + r * a.interval)
            values = [line.rsplit(' ', 1)[1] for line in text.split('\n')
                      if line and not line.startswith('#')]
            if len(values) != len(series):
                sys.exit('round %d: %d values for %d series' % (r, len(values), len(series)))
            out.write(' '.join(values))
            out.write('\n')
            sys.stderr.write('\rround %d/%d' % (r + 1, a.rounds))
    sys.stderr.write('\nseries=%d rounds=%d -> %s\n' % (len(series), a.rounds, a.output))


if __name__ == '__main__':
    main()
