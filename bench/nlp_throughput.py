"""Analysis throughput: `Analyzer.analyze` in texts per second against raw `nlp.pipe` over the same texts,
with the same spaCy components, in the same process and run; and the process memory (RSS) after load.

The texts are the labelled French set repeated, in batches of `--batch` feedbacks as the worker reads them
from the stream: each batch goes to `analyze_groups` as the worker calls it, grouped by brand with each
brand's vocabulary, and the raw side pipes the same batch's texts. The two sides take turns batch by batch
(which goes first alternating), so that a noisy neighbour weighs on both alike; a round is the whole set
once, and the figures are the best round of each side and the median over rounds of the ratio. Rates are
given in CPU time of the process (steadier on a shared machine) and in wall-clock time.

The analysis does not run `ner` on texts whose model labels it would throw away (no capital letter, or
only capitals: `nlp.analyzer.model_may_add`), so the set is measured twice: as written, and with every
text's first letter made a capital, where every text goes through `ner` and the ratio shows what the
analysis's own work costs.

    .venv/bin/python bench/nlp_throughput.py [--repeat 20] [--batch 64] [--rounds 9]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from nlp.analyzer import Analyzer, model_may_add  # noqa: E402
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
    nlp = analyzer.nlp
    modelled = sum(model_reads(text) for batch in work for text in texts_of(batch))
    # The same texts, each given a capital letter so that every one goes through `ner`: the analysis's own
    # cost a text, with no text skipping the model.
    capitalised = [[(brand, [capitalise(item) for item in group]) for brand, group in batch] for batch in work]

    def raw(batch: Batch) -> None:
        for _ in nlp.pipe(texts_of(batch), batch_size=args.batch):
            pass

    def analysis(batch: Batch) -> None:
        analyzer.analyze_groups([(group, vocabularies[brand]) for brand, group in batch])

    print(
        f"{sum(len(texts_of(b)) for b in work)} texts (the labelled set x{args.repeat}), {len(work)} batches of "
        f"{args.batch} feedbacks, {args.rounds} rounds"
    )
    print(f"components: {nlp.pipe_names}; analysis stages: {analyzer.pipeline_names}")
    for title, runs in (
        (f"the set as written ({modelled} of its texts go through `ner`, the rest cannot gain from it)", work),
        ("every text capitalised, so that all go through `ner`", capitalised),
    ):
        for batch in runs[:3]:  # warm-up: compiles the rulers, fills the caches
            raw(batch)
            analysis(batch)
        cpu, wall = _measure(runs, raw, analysis, args.rounds)
        count = sum(len(texts_of(b)) for b in runs)
        print(f"\n{title}")
        print(f"{'best round of each side':<26}{'CPU texts/s':>12}{'wall texts/s':>14}")
        for label, name in (("raw nlp.pipe", "raw"), ("Analyzer.analyze_groups", "analysis")):
            print(f"{label:<26}{count / min(cpu[name]):12.0f}{count / min(wall[name]):14.0f}")
        print(
            f"{'ratio of the bests':<26}{min(cpu['raw']) / min(cpu['analysis']):12.3f}"
            f"{min(wall['raw']) / min(wall['analysis']):14.3f}  (target >= 0.9)"
        )
        print(f"{'median ratio of the rounds':<26}{_median_ratio(cpu):12.3f}{_median_ratio(wall):14.3f}")
        print(
            "CPU ratio of each round: "
            + " ".join(f"{r / a:.3f}" for r, a in zip(cpu["raw"], cpu["analysis"], strict=True))
        )
        per_text = (statistics.median(cpu["analysis"]) - statistics.median(cpu["raw"])) / count * 1e6
        print(f"the analysis's own CPU time a text (median rounds): {per_text:.1f} µs")
    print(
        f"\nmodel load: {load:.1f} s; RSS {before:.0f} MB before load, {loaded:.0f} MB after load, "
        f"{rss_mb():.0f} MB after the runs"
    )
    return 0


Batch = list[tuple[str, list[FeedbackText]]]


def texts_of(batch: Batch) -> list[str]:
    """The texts of a batch's feedbacks, as `nlp.pipe` gets them on the raw side."""
    return [text for _, group in batch for item in group for text in (item.reason, item.suggestion) if text]


def model_reads(text: str) -> bool:
    """Whether the analysis runs `ner` on `text` (the others have no capital letter, or only capitals)."""
    return model_may_add(text, text.isupper())


def capitalise(item: FeedbackText) -> FeedbackText:
    """`item` with the first letter of each text made a capital (the kind of text most customers write)."""

    def up(text: str | None) -> str | None:
        return text[:1].upper() + text[1:] if text else text

    return FeedbackText(reason=up(item.reason), suggestion=up(item.suggestion), rating=item.rating)


def _measure(
    runs: list[Batch], raw: Callable[[Batch], None], analysis: Callable[[Batch], None], rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """CPU and wall seconds of each side, a total a round; the two sides take turns batch by batch (the
    first side alternating), so a noisy neighbour weighs on both alike."""
    cpu: dict[str, list[float]] = {"raw": [], "analysis": []}
    wall: dict[str, list[float]] = {"raw": [], "analysis": []}
    for round_ in range(rounds):
        spent_cpu = {"raw": 0.0, "analysis": 0.0}
        spent_wall = {"raw": 0.0, "analysis": 0.0}
        for index, batch in enumerate(runs):
            sides = (("raw", raw), ("analysis", analysis))
            for name, run in sides if (index + round_) % 2 == 0 else reversed(sides):
                started, started_cpu = time.perf_counter(), time.process_time()
                run(batch)
                spent_cpu[name] += time.process_time() - started_cpu
                spent_wall[name] += time.perf_counter() - started
        for name in cpu:
            cpu[name].append(spent_cpu[name])
            wall[name].append(spent_wall[name])
    return cpu, wall


def _median_ratio(seconds: dict[str, list[float]]) -> float:
    """The median over rounds of raw time / analysis time."""
    return statistics.median(r / a for r, a in zip(seconds["raw"], seconds["analysis"], strict=True))


if __name__ == "__main__":
    raise SystemExit(main())
