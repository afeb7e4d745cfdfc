"""When do the documents cover a question: the relevance floor by closeness (the cosine of the
hits' sentence closest to the question), and by the question's own words, measured on questions
no benchmark measures.

    python benchmarks/relevance_calibration.py [--questions 300]

The starter's 16 training articles (never the held-out ones) are split in two halves (seeded):
an index of the first half is searched with questions of the first half (covered: an indexed
article holds the answer) and of the second (not covered). For each question: the closeness of
the k=3 hits the prompt would show, their best passage cosine, and the share of the question's
content words found in the best of them; and the retrieval's time with and without embedding
the hits' sentences. A rule says "covered" when the closeness reaches its floor or the word
share reaches its own; printed, for each rule, the share of covered questions
answered and of uncovered ones let through, and the rule chosen: the largest difference of the
two (Youden's J), ties to the higher floors. These uncovered questions are other Wikipedia
articles', closer to the index than a user's off-topic question, so the floor they choose is a
strict one.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from statistics import median

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gptchat.answer.retriever import Retriever, RetrieverOptions  # noqa: E402
from gptchat.index.catalog import (  # noqa: E402
    IndexOptions,
    index_embedder,
    open_searchable_index,
    run_index,
)
from gptchat.model.starter import HELD_OUT_ARTICLES  # noqa: E402
from gptchat.workspace import DEFAULT_K, Workspace  # noqa: E402

SQUAD = REPO.parent / "shared" / "eval" / "squad-dev"
COSINES = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
WORD_SHARES = (0.6, 0.7, 0.8, 0.9, 1.0, float("inf"))  # inf: the cosine alone


@dataclass
class Probe:
    covered: bool
    cosine: float  # the closeness of the hits shown
    word_share: float
    passage_cosine: float  # the best cosine of a whole passage, what the floor once read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=300, help="of each half")
    args = parser.parse_args()
    articles = sorted(
        p.name for p in (SQUAD / "docs").glob("*.md") if p.name not in HELD_OUT_ARTICLES
    )
    random.Random(0).shuffle(articles)
    indexed = set(articles[: len(articles) // 2])
    rows = [json.loads(line) for line in (SQUAD / "qa.jsonl").read_text().splitlines() if line]
    rows = [r for r in rows if r["sources"][0] in articles]
    sampler = random.Random(1)
    covered = sampler.sample([r for r in rows if r["sources"][0] in indexed], args.questions)
    uncovered = sampler.sample([r for r in rows if r["sources"][0] not in indexed], args.questions)
    probes: list[Probe] = []
    with tempfile.TemporaryDirectory(prefix="gptchat-relevance-") as temp:
        docs = Path(temp) / "docs"
        docs.mkdir()
        for name in indexed:
            shutil.copy(SQUAD / "docs" / name, docs / name)
        workspace = Workspace(Path(temp) / "workspace")
        run_index(workspace, [docs], IndexOptions("half"))
        with open_searchable_index(workspace, "half") as index:
            retriever = Retriever(index, index_embedder(index))
            judged, unjudged = [], []
            for row, is_covered in [(r, True) for r in covered] + [(r, False) for r in uncovered]:
                found = retriever.retrieve(row["question"], DEFAULT_K)
                probes.append(
                    Probe(is_covered, found.closeness, found.word_share, found.best_similarity)
                )
                judged.append(found.milliseconds)
                ranked = retriever.retrieve_modes(
                    row["question"], DEFAULT_K, ("fused",), judge=False
                )
                unjudged.append(ranked["fused"].milliseconds)
    print(f"index: {len(indexed)} articles; {len(covered)} covered, {len(uncovered)} uncovered")
    print(
        f"retrieval ms p50, the app's (its hits' sentences embedded): {median(judged):.1f}; "
        f"ranking alone: {median(unjudged):.1f}"
    )
    default = RetrieverOptions()
    print(
        f"now (closeness >= {default.min_similarity}, word share >= {default.min_word_share}): "
        f"{rates(probes, default.min_similarity, default.min_word_share)}"
    )
    by_passage = [Probe(p.covered, p.passage_cosine, p.word_share, 0.0) for p in probes]
    print(f"by passage cosine >= 0.35 (the floor before closeness): {rates(by_passage, 0.35, 0.7)}")
    print("| closeness floor | word-share floor | covered answered | uncovered let through | J |")
    print("|---|---|---|---|---|")
    scored = []
    for cosine in COSINES:
        for share in WORD_SHARES:
            answered, through = rates(probes, cosine, share)
            scored.append((answered - through, cosine, share))
            cells = f"{answered:.3f} | {through:.3f} | {answered - through:.3f}"
            print(f"| {cosine} | {share} | {cells} |")
    best = max(scored, key=lambda s: (round(s[0], 6), s[1], s[2]))
    print(f"chosen: closeness >= {best[1]} or word share >= {best[2]} (J {best[0]:.3f})")


def rates(probes: list[Probe], cosine: float, share: float) -> tuple[float, float]:
    """(share of covered questions answered, share of uncovered ones let through)."""
    rule = RetrieverOptions(min_similarity=cosine, min_word_share=share)
    covered = [p for p in probes if p.covered]
    uncovered = [p for p in probes if not p.covered]
    answered = sum(rule.covers(p.cosine, p.word_share) for p in covered) / len(covered)
    through = sum(rule.covers(p.cosine, p.word_share) for p in uncovered) / len(uncovered)
    return answered, through


if __name__ == "__main__":
    main()
