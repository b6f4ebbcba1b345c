"""`make bench`: run every benchmark and print candidate vs baseline with the ratio and its target."""
import argparse
import importlib
import json
import sys

MODULES = ["bench.http", "bench.polling", "bench.indexes", "bench.runs", "bench.growth"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="short rounds, for a smoke check")
    parser.add_argument("--only", action="append", help="module to run, e.g. bench.http (repeatable)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    results = []
    for name in args.only or MODULES:
        module = importlib.import_module(name)
        for figure in module.run(quick=args.quick):
            results.append(figure)
            print(f"{'ok  ' if figure['ok'] else 'MISS'} {figure['name']}: candidate {figure['candidate']:.4g}, "
                  f"baseline {figure['baseline']:.4g} {figure['metric']}; ratio {figure['ratio']:.2f} "
                  f"(target {figure['target']})", flush=True)
            if "latency_ms" in figure:
                lat = figure["latency_ms"]
                print(f"     {figure['connections']} connections; latency p50/p99 candidate "
                      f"{lat['candidate']['p50']:.1f}/{lat['candidate']['p99']:.1f} ms, baseline "
                      f"{lat['baseline']['p50']:.1f}/{lat['baseline']['p99']:.1f} ms", flush=True)
            if "round_ratios" in figure:
                print(f"     ratio per round: {', '.join(f'{r:.2f}' for r in figure['round_ratios'])}"
                      + (" (the median of these is the ratio)" if "latency_ms" in figure else ""), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return 0 if all(figure["ok"] for figure in results) else 1


if __name__ == "__main__":
    sys.exit(main())
