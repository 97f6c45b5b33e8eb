"""Analysis throughput: `Analyzer.analyze` in texts per second against raw `nlp.pipe` over the same texts,
with the same spaCy components, in the same process and run; and the process memory (RSS) after load.

The texts are the labelled French set repeated, in batches of `--batch` feedbacks as the worker reads them
from the stream: each batch goes to `analyze_groups` as the worker calls it, grouped by brand with each
brand's vocabulary, so `ner` gets full batches on both sides. Runs alternate (raw, analysis, raw…) so that a
noisy neighbour hurts both sides alike; the figures are the best of each side and the median of the ratios of
each round's pair (a pair runs a few seconds apart, under about the same load). Rates are given in CPU time
of the process (steadier on a shared machine) and in wall-clock time.

    .venv/bin/python bench/nlp_throughput.py [--repeat 20] [--batch 64] [--rounds 9]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from nlp.analyzer import Analyzer  # noqa: E402
from nlp.evaluation import load_labelled, load_vocabularies  # noqa: E402
from nlp.types import FeedbackText, Vocabulary  # noqa: E402

DATA = REPOSITORY / "tests" / "data"


def rss_mb() -> float:
    """Resident memory of this process, in MB (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def batches(repeat: int, size: int) -> list[list[tuple[str, list[FeedbackText]]]]:
    """Batches of `size` feedbacks in the set's order, each as (brand, feedbacks) groups as the worker makes."""
    items = load_labelled(DATA / "feedback_fr.jsonl") * repeat
    result: list[list[tuple[str, list[FeedbackText]]]] = []
    for i in range(0, len(items), size):
        by_brand: dict[str, list[FeedbackText]] = {}
        for item in items[i : i + size]:
            by_brand.setdefault(item.brand, []).append(
                FeedbackText(
                    reason=item.text if item.field == "reason" else None,
                    suggestion=item.text if item.field == "suggestion" else None,
                    rating=item.rating,
                )
            )
        result.append(list(by_brand.items()))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="how many times the labelled set is repeated")
    parser.add_argument("--batch", type=int, default=64, help="feedbacks per `analyze` call and nlp.pipe batch")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)

    before = rss_mb()
    started = time.perf_counter()
    analyzer = Analyzer(batch_size=args.batch)
    load = time.perf_counter() - started
    loaded = rss_mb()
    vocabularies: dict[str, Vocabulary] = load_vocabularies(DATA / "vocabularies.json")
    work = batches(args.repeat, args.batch)
    texts = [
        text
        for groups in work
        for _, group in groups
        for item in group
        for text in (item.reason, item.suggestion)
        if text
    ]
    nlp = analyzer.nlp

    def raw() -> None:
        for _ in nlp.pipe(texts, batch_size=args.batch):
            pass

    def analysis() -> None:
        for groups in work:
            analyzer.analyze_groups([(group, vocabularies[brand]) for brand, group in groups])

    raw()
    analysis()  # warm-up: compiles the rulers, fills the caches
    cpu: dict[str, list[float]] = {"raw": [], "analysis": []}
    wall: dict[str, list[float]] = {"raw": [], "analysis": []}
    for _ in range(args.rounds):
        for name, run in (("raw", raw), ("analysis", analysis)):
            started, started_cpu = time.perf_counter(), time.process_time()
            run()
            cpu[name].append(time.process_time() - started_cpu)
            wall[name].append(time.perf_counter() - started)
    print(
        f"{len(texts)} texts (the labelled set x{args.repeat}), {len(work)} batches of {args.batch} feedbacks, "
        f"{args.rounds} alternating rounds"
    )
    print(f"components: {nlp.pipe_names}; analysis stages: {analyzer.pipeline_names}")
    print(
        f"model load: {load:.1f} s; RSS {before:.0f} MB before load, {loaded:.0f} MB after load, "
        f"{rss_mb():.0f} MB after the runs"
    )
    print(f"{'best of each side':<26}{'CPU texts/s':>12}{'wall texts/s':>14}")
    for label, name in (("raw nlp.pipe", "raw"), ("Analyzer.analyze_groups", "analysis")):
        print(f"{label:<26}{len(texts) / min(cpu[name]):12.0f}{len(texts) / min(wall[name]):14.0f}")
    print(
        f"{'ratio of the bests':<26}{min(cpu['raw']) / min(cpu['analysis']):12.3f}"
        f"{min(wall['raw']) / min(wall['analysis']):14.3f}  (target >= 0.9)"
    )
    print(f"{'median ratio of the pairs':<26}{_median_ratio(cpu):12.3f}{_median_ratio(wall):14.3f}")
    print(
        "CPU ratio of each pair: " + " ".join(f"{r / a:.3f}" for r, a in zip(cpu["raw"], cpu["analysis"], strict=True))
    )
    return 0


def _median_ratio(seconds: dict[str, list[float]]) -> float:
    """The median over rounds of raw time / analysis time, each round's two runs side by side."""
    return statistics.median(r / a for r, a in zip(seconds["raw"], seconds["analysis"], strict=True))


if __name__ == "__main__":
    raise SystemExit(main())
