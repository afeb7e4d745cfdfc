"""Follow-up retrieval: a question after another, searched alone, joined with the one before
(the old rule), or as gptchat does now (joined only when it leans on the turn before, or when
alone it finds nothing close).

    python benchmarks/follow_up_benchmark.py [--pairs 200] [--workspace DIR]

Two kinds of second question, both from ../shared/eval (no hand-picked wording):
- new topic (claude-docs): each question after the previous one in qa.jsonl whose source files
  differ; hit@3 = a top-3 passage comes from one of its `sources`;
- follow-up (squad-dev): a question naming its article's title, with the title replaced by
  "it", after another question of the same article that names the title; hit@3 = a top-3
  passage holds a gold answer.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gptchat.answer.prompt import Turn  # noqa: E402
from gptchat.answer.retriever import Retriever  # noqa: E402
from gptchat.answer.session import retrieve_for_turn, with_previous_question  # noqa: E402
from gptchat.eval.metrics import contains_answer  # noqa: E402
from gptchat.index.catalog import index_embedder  # noqa: E402
from gptchat.index.document_index import DocumentIndex  # noqa: E402

EVAL = REPO.parent / "shared" / "eval"
K = 3


def rows(name: str) -> list[dict]:
    text = (EVAL / name / "qa.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def open_index(workspace: Path, name: str) -> DocumentIndex:
    directory = workspace / "indexes" / name
    if not (directory / "index.db").is_file():
        command = [sys.executable, "-m", "gptchat", "--home", str(workspace), "index"]
        subprocess.run([*command, str(EVAL / name / "docs"), "--name", name], check=True)
    return DocumentIndex.open(directory)


def new_topic_pairs(qa: list[dict]) -> list[tuple[str, dict]]:
    return [
        (before["question"], after)
        for before, after in itertools.pairwise(qa)
        if not set(before["sources"]) & set(after["sources"])
    ]


def follow_up_pairs(qa: list[dict], count: int) -> list[tuple[str, dict]]:
    by_article: dict[str, list[dict]] = {}
    for row in qa:
        title = Path(row["sources"][0]).stem.replace("_", " ")
        if re.search(rf"\b{re.escape(title)}\b", row["question"], re.IGNORECASE):
            by_article.setdefault(title, []).append(row)
    pairs = []
    for title, questions in by_article.items():
        for before, after in itertools.pairwise(questions):
            pattern = rf"\b(?:the )?{re.escape(title)}\b"
            elliptical = re.sub(pattern, "it", after["question"], flags=re.IGNORECASE)
            pairs.append((before["question"], {**after, "question": elliptical}))
    random.Random(0).shuffle(pairs)
    return pairs[:count]


def hit(retrieval, row: dict, by_source: bool) -> bool:
    """A top-K passage from a source file (long answers), or holding a gold answer (short)."""
    hits = retrieval.hits[:K]
    if by_source:
        return any(Path(h.path).name in row["sources"] for h in hits)
    return any(contains_answer(h.text, row["answers"]) for h in hits)


def measure(retriever: Retriever, pairs: list[tuple[str, dict]], by_source: bool) -> dict:
    results = {"alone": [], "always joined": [], "gptchat": []}
    joined_count = 0
    for before, row in pairs:
        history = [Turn(before, "")]
        question = row["question"]
        joined = with_previous_question(question, history)
        results["alone"].append(hit(retriever.retrieve(question, K), row, by_source))
        results["always joined"].append(hit(retriever.retrieve(joined, K), row, by_source))
        query, retrieval = retrieve_for_turn(retriever, question, history, K)
        joined_count += query != question
        results["gptchat"].append(hit(retrieval, row, by_source))
    summary = {name: round(statistics.mean(values), 3) for name, values in results.items()}
    return {**summary, "pairs": len(pairs), "joined by gptchat": joined_count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200, help="follow-up pairs from squad-dev")
    parser.add_argument("--workspace", type=Path, help="keep or reuse the indexes here")
    args = parser.parse_args()
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="gptchat-follow-up-"))
    print(
        f"| second question | pairs | hit@{K} alone | always joined (before) | gptchat now "
        "| joined by gptchat |"
    )
    print("|---|---|---|---|---|---|")
    for name, pairs, by_source in (
        ("a new topic (claude-docs)", new_topic_pairs(rows("claude-docs")), True),
        (
            "a follow-up with 'it' (squad-dev)",
            follow_up_pairs(rows("squad-dev"), args.pairs),
            False,
        ),
    ):
        index_name = "claude-docs" if "claude" in name else "squad-dev"
        with open_index(workspace, index_name) as index:
            retriever = Retriever(index, index_embedder(index))
            got = measure(retriever, pairs, by_source)
        print(
            f"| {name} | {got['pairs']} | {got['alone']:.3f} | {got['always joined']:.3f} "
            f"| {got['gptchat']:.3f} | {got['joined by gptchat']} |"
        )


if __name__ == "__main__":
    main()
