"""Analysis throughput: `Analyzer.analyze` in texts per second against raw `nlp.pipe` over the same texts,
with the same spaCy components, in the same process and run; and the process memory (RSS) after load.

The texts are the labelled French set repeated; `analyze` gets them one brand at a time in batches of
`--batch` feedbacks with that brand's vocabulary, as the worker does. Runs alternate (raw, analysis, raw…)
and the best of each is kept, so that a noisy neighbour hurts both sides alike. Rates are given in CPU time
of the process (steadier on a shared machine) and in wall-clock time.

    .venv/bin/python bench/nlp_throughput.py [--repeat 20] [--batch 64] [--rounds 5]
"""

from __future__ import annotations

import argparse
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


def batches(repeat: int, size: int) -> list[tuple[str, list[FeedbackText]]]:
    """(brand, feedbacks) batches of at most `size` feedbacks, each of one brand."""
    items = load_labelled(DATA / "feedback_fr.jsonl") * repeat
    result: list[tuple[str, list[FeedbackText]]] = []
    for brand in sorted({item.brand for item in items}):
        of_brand = [
            FeedbackText(
                reason=item.text if item.field == "reason" else None,
                suggestion=item.text if item.field == "suggestion" else None,
                rating=item.rating,
            )
            for item in items
            if item.brand == brand
        ]
        result += [(brand, of_brand[i : i + size]) for i in range(0, len(of_brand), size)]
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="how many times the labelled set is repeated")
    parser.add_argument("--batch", type=int, default=64, help="feedbacks per `analyze` call and nlp.pipe batch")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    before = rss_mb()
    started = time.perf_counter()
    analyzer = Analyzer(batch_size=args.batch)
    load = time.perf_counter() - started
    loaded = rss_mb()
    vocabularies: dict[str, Vocabulary] = load_vocabularies(DATA / "vocabularies.json")
    work = batches(args.repeat, args.batch)
    texts = [text for _, batch in work for item in batch for text in (item.reason, item.suggestion) if text]
    nlp = analyzer.nlp

    def raw() -> None:
        for _ in nlp.pipe(texts, batch_size=args.batch):
            pass

    def analysis() -> None:
        for brand, batch in work:
            analyzer.analyze(batch, vocabularies[brand])

    raw()
    analysis()  # warm-up: compiles the rulers, fills the caches
    cpu = {"raw": float("inf"), "analysis": float("inf")}
    wall = dict(cpu)
    for _ in range(args.rounds):
        for name, run in (("raw", raw), ("analysis", analysis)):
            started, started_cpu = time.perf_counter(), time.process_time()
            run()
            cpu[name] = min(cpu[name], time.process_time() - started_cpu)
            wall[name] = min(wall[name], time.perf_counter() - started)
    print(
        f"{len(texts)} texts (the labelled set x{args.repeat}), {len(work)} batches of <= {args.batch} feedbacks, "
        f"best of {args.rounds} alternating rounds"
    )
    print(f"components: {nlp.pipe_names}; analysis stages: {analyzer.pipeline_names}")
    print(
        f"model load: {load:.1f} s; RSS {before:.0f} MB before load, {loaded:.0f} MB after load, "
        f"{rss_mb():.0f} MB after the runs"
    )
    print(f"{'':<20}{'CPU texts/s':>12}{'wall texts/s':>14}")
    for label, name in (("raw nlp.pipe", "raw"), ("Analyzer.analyze", "analysis")):
        print(f"{label:<20}{len(texts) / cpu[name]:12.0f}{len(texts) / wall[name]:14.0f}")
    print(f"{'ratio':<20}{cpu['raw'] / cpu['analysis']:12.3f}{wall['raw'] / wall['analysis']:14.3f}  (target >= 0.9)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
