"""User-agent classification: accuracy per category on the held-out corpus, and µs per unseen one.

    make bench-useragents            (bash bench/run.sh useragents)

Reads tests/data/useragents/corpus.tsv.gz (sources and split in the README next to it) and
classifies every held-out user agent with `tracker.useragent.classify` from a cold cache (each
string is distinct, so every call is an unseen user agent: bot flag + browser/OS/device), then
with crawlerdetect alone as the baseline. The cost is CPU time (time.process_time, so other jobs on
the machine do not count), over BENCH_UA_REPEAT passes (5), the cache cleared before each: the
first pass also warms the matchers' lazy automata, as a worker's first minutes do; the median is the
figure. Settings: BENCH_UA_SPLIT (held-out; "dev" or "all"), BENCH_UA_BASELINE_SAMPLE (1500 user
agents timed and scored for crawlerdetect, ~1 ms each).
Targets (issue 11): >= 99% of bots, <= 0.1% of real visitors (Office pre-fetch aside), 0 in-app
browsers flagged, <= 50 µs per unseen user agent.
"""

from __future__ import annotations

import gzip
import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawlerdetect import CrawlerDetect  # noqa: E402

from tracker.useragent import classify  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "useragents" / "corpus.tsv.gz"


def load(split: str) -> list[tuple[str, str, str, str]]:
    """(label, category, user agent, source) rows of the split."""
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        next(f)
        rows = [line.rstrip("\n").split("\t") for line in f]
    return [(label, category, ua, source) for s, label, category, source, ua in rows if split in ("all", s)]


def by_source(rows: list[tuple[str, str, str, str]], flagged: list[bool]) -> None:
    """Matomo's fixtures against the rest: the classifier applies Matomo's own regexes (bots, libraries,
    apps), from which its fixtures are written, so the other sources are the independent figure."""
    for name, matomo in (("Matomo's fixtures", True), ("the other sources (independent of Matomo's lists)", False)):
        picked = [(label, cat, b) for (label, cat, _, source), b in zip(rows, flagged, strict=True)
                  if (source == "matomo") == matomo]  # fmt: skip
        bots = [b for label, _, b in picked if label == "bot"]
        humans = [b for label, cat, b in picked if label == "human" and cat != "office"]
        print(f"  {name}: bots {sum(bots):,}/{len(bots):,} ({100 * sum(bots) / max(len(bots), 1):.2f}%), "
              f"real visitors {sum(humans):,}/{len(humans):,} ({100 * sum(humans) / max(len(humans), 1):.3f}%)")


def score(name: str, rows: list[tuple[str, str, str, str]], flagged: list[bool], per_ua_us: float) -> bool:
    """Print the accuracy table of one classifier; True when every target holds."""
    total, hits = Counter(), Counter()
    for (label, category, _, _), bot in zip(rows, flagged, strict=True):
        total[label, category] += 1
        hits[label, category] += bot
    print(f"\n{name}: {len(rows):,} user agents, {per_ua_us:.1f} µs CPU per unseen user agent")
    print(f"  {'label':6} {'category':16} {'count':>7} {'as bots':>8} {'share':>8}")
    for key in sorted(total):
        print(f"  {key[0]:6} {key[1]:16} {total[key]:7,} {hits[key]:8,} {100 * hits[key] / total[key]:7.2f}%")
    bots = [b for (label, _, _, _), b in zip(rows, flagged, strict=True) if label == "bot"]
    humans = [b for (label, cat, _, _), b in zip(rows, flagged, strict=True) if label == "human" and cat != "office"]
    in_app = sum(b for (label, cat, _, _), b in zip(rows, flagged, strict=True) if cat == "in-app")
    caught, wrong = 100 * sum(bots) / len(bots), 100 * sum(humans) / len(humans)
    checks = [
        (f"bots counted as bots {caught:.2f}%", caught >= 99),
        (f"real visitors counted as bots (Office pre-fetch aside) {wrong:.3f}%", wrong <= 0.1),
        (f"in-app visitors counted as bots {in_app}", in_app == 0),
        (f"{per_ua_us:.1f} µs per unseen user agent", per_ua_us <= 50),
    ]
    for text, ok in checks:
        print(f"  {'PASS' if ok else 'MISS'} {text}")
    pages = [b for (_, cat, _, _), b in zip(rows, flagged, strict=True) if cat in ("browser", "in-app")]
    print(f"  (browsers and in-app browsers alone: {100 * sum(pages) / len(pages):.3f}% counted as bots)")
    return all(ok for _, ok in checks)


def main() -> int:
    split = os.environ.get("BENCH_UA_SPLIT", "held-out")
    rows = load(split)
    cpu_us, wall_us = [], []
    for _ in range(int(os.environ.get("BENCH_UA_REPEAT", "5"))):
        classify.cache_clear()
        started, cpu = time.perf_counter(), time.process_time()
        agents = [classify(ua) for _, _, ua, _ in rows]
        cpu_us.append((time.process_time() - cpu) / len(rows) * 1e6)
        wall_us.append((time.perf_counter() - started) / len(rows) * 1e6)
    ours_us = statistics.median(cpu_us)
    print("classify, µs CPU per unseen user agent, each pass:", ", ".join(f"{us:.1f}" for us in cpu_us),
          f"(wall: {', '.join(f'{us:.1f}' for us in wall_us)})")  # fmt: skip
    families = Counter(a.family for a in agents if a.bot)
    score("tracker.useragent.classify", rows, [a.bot for a in agents], ours_us)
    by_source(rows, [a.bot for a in agents])
    print("  bot families:", ", ".join(f"{f} {n:,}" for f, n in families.most_common()))

    sample = random.Random(11).sample(rows, min(len(rows), int(os.environ.get("BENCH_UA_BASELINE_SAMPLE", "1500"))))
    detector = CrawlerDetect()
    cpu = time.process_time()
    flagged = [bool(detector.isCrawler(ua)) for _, _, ua, _ in sample]
    baseline_us = (time.process_time() - cpu) / len(sample) * 1e6
    score(f"crawlerdetect alone (a random sample of {len(sample):,})", sample, flagged, baseline_us)
    return 0


if __name__ == "__main__":
    sys.exit(main())
