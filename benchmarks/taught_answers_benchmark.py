"""Does a correction work at once? Taught answers and taught retrieval, before and after.

    python benchmarks/taught_answers_benchmark.py [--squad 100] [--unrelated 200]
        [--max-tokens 100] [--sets squad-dev claude-docs] [--cost 10000]

For each question set of ../shared/eval, in a fresh workspace with the default model:
1. index the set's docs;
2. the taught questions (squad-dev: a seeded sample of --squad questions of the articles the
   starter never trained on; claude-docs: all 100) are asked and judged as a user would, by
   `gptchat eval --record-feedback`'s own code: +1 on a right answer, else a correction that is
   the gold answer citing the source that holds it. Their scores, and those of their
   rewordings (step 3) asked before anything was taught, are the "before" figures;
3. then asked again through a new session: (a) the same questions; (b) the same questions
   reworded (REWORDINGS below: a question word said another way, a synonym, a clause moved,
   every one that fits; a polite opening on every other question and on those no other rule
   fits); each answer is scored, and counted as given back, answered with the taught answer as
   a source, or answered from the documents alone;
4. (c) unrelated questions (squad-dev: --unrelated questions of the other articles; for
   claude-docs, the same number of squad-dev questions asked of its index): how many a taught
   answer would be used for (given back or shown as a source: the decision ChatSession makes
   before any generation);
5. (d) retrieval hit@1 without and with what was taught, for each floor of RETRIEVAL_FLOORS
   (the cosine to a taught question from which its passages are ranked): squad-dev's other
   questions whose gold answer is in a passage a correction cited; its other questions of the
   taught articles whose answers are elsewhere, and the questions of (c) (both must not fall);
   the reworded questions.
Last, the cost of matching and ranking one question with --cost taught answers stored.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gptchat.answer.open_session import open_chat_session  # noqa: E402
from gptchat.answer.retriever import Retriever  # noqa: E402
from gptchat.answer.taught import TaughtAnswers, taught_passages  # noqa: E402
from gptchat.eval.evaluate import evaluate_question, judged_feedback  # noqa: E402
from gptchat.eval.metrics import contains_answer, rouge_l_recall, token_f1  # noqa: E402
from gptchat.eval.qa_set import QAItem, load_qa_set, supports  # noqa: E402
from gptchat.eval.run import EvalOptions, run_eval  # noqa: E402
from gptchat.index.catalog import IndexOptions, open_searchable_index, run_index  # noqa: E402
from gptchat.index.embedder import Embedder  # noqa: E402
from gptchat.log.store import AppStore  # noqa: E402
from gptchat.model.loading import ModelOptions  # noqa: E402
from gptchat.model.starter import HELD_OUT_ARTICLES  # noqa: E402
from gptchat.workspace import DEFAULT_K, Workspace  # noqa: E402

EVAL = REPO.parent / "shared" / "eval"
RETRIEVAL_FLOORS = (0.5, 0.6, 0.7, 0.8, 0.9)

# (kind, pattern, replacement): each keeps the question's meaning.
REWORDINGS: list[tuple[str, str, str]] = [
    ("polite opening", r"^(.)", r"Could you tell me: \1"),
    ("question word", r"^What is ", "What's "),
    ("question word", r"^Which ", "What "),
    ("question word", r"^How many ", "What number of "),
    ("question word", r"^Who ", "Which person "),
    ("question word", r"^When did ", "At what time did "),
    ("question word", r"^In what year ", "When "),
    ("question word", r"^What year ", "Which year "),
    ("question word", r"^How much ", "What amount of "),
    ("question word", r"^Where was ", "In what place was "),
    ("synonym", r"\blargest\b", "biggest"),
    ("synonym", r"\bbegan\b", "started"),
    ("synonym", r"\bcreate\b", "make"),
    ("synonym", r"\bfamous\b", "well known"),
    ("synonym", r"\blocated\b", "situated"),
    ("synonym", r"\bused\b", "employed"),
    ("synonym", r"\bdifferent\b", "distinct"),
    ("synonym", r"\bimportant\b", "significant"),
    ("synonym", r"\bhelp\b", "assist"),
    ("synonym", r"\bcalled\b", "named"),
    ("synonym", r"\bbuilt\b", "constructed"),
    ("synonym", r"\bfounded\b", "established"),
    ("synonym", r"\bdied\b", "passed away"),
    ("synonym", r"\bmain\b", "principal"),
    ("synonym", r"\btype of\b", "kind of"),
    ("synonym", r"\boccurred\b", "took place"),
    ("synonym", r"\bstarted\b", "began"),
    ("synonym", r"\breceived\b", "got"),
    ("synonym", r"\bcreated\b", "made"),
    ("clause moved", r"^(In|During|After|Before|According to) ([^,?]+), (\w)(.*)\?$", None),
]


def _moved(match: re.Match) -> str:
    """ "In 1900, who …?" → "Who … in 1900?"."""
    opening, phrase, first, rest = match.groups()
    return f"{first.upper()}{rest} {opening[0].lower()}{opening[1:]} {phrase}?"


def reworded(question: str, turn: int) -> tuple[list[str], str]:
    """(kinds, rewording): every rewording that fits the question, and a polite opening on
    every other question (and on any that nothing else changes)."""
    text, kinds = question, []
    for kind, pattern, replacement in REWORDINGS:
        if kind == "polite opening":
            continue
        changed = re.sub(pattern, replacement or _moved, text)
        if changed != text:
            text = changed
            kinds.append(kind)
    if turn % 2 or not kinds:
        text = re.sub(REWORDINGS[0][1], REWORDINGS[0][2], text)
        kinds.append("polite opening")
    return list(dict.fromkeys(kinds)), text


def squad_items(name: str) -> list[QAItem]:
    return load_qa_set(EVAL / name / "qa.jsonl").items


def write_qa(items: list[QAItem], path: Path) -> Path:
    rows = [
        {"id": i.id, "question": i.question, "answers": i.answers, "sources": i.sources}
        for i in items
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def score(item: QAItem, text: str) -> dict[str, float]:
    return {
        "f1": token_f1(text, item.answers),
        "rouge_l": max(rouge_l_recall(text, gold) for gold in item.answers),
    }


def mean(values: list[float]) -> float:
    return round(statistics.mean(values), 3) if values else float("nan")


def asked_again(workspace: Workspace, items: list[QAItem], max_tokens: int) -> dict:
    """Ask `items` through a new session over the workspace's log: scores and how each was
    answered (given back, with the taught answer as a source, or from the documents)."""
    opened = open_chat_session(workspace, "default", ModelOptions(), DEFAULT_K, lambda _: None)
    try:
        session = opened.session
        session.decode = replace(session.decode, max_new_tokens=max_tokens)
        scores, how = [], {"given back": 0, "taught source": 0, "documents": 0}
        for item in items:
            result = evaluate_question(item, session.retriever, session)
            message = opened.store.message(result.message_id)
            if message is not None and message.taught_id is not None:
                how["given back"] += 1
            elif any(source.taught_id is not None for source in result.sources):
                how["taught source"] += 1
            else:
                how["documents"] += 1
            scores.append(score(item, result.answer or ""))
    finally:
        opened.close()
    return {
        "questions": len(items),
        "token F1": mean([s["f1"] for s in scores]),
        "ROUGE-L recall": mean([s["rouge_l"] for s in scores]),
        "answered": how,
    }


def hit_at_1(retriever: Retriever, items: list[QAItem]) -> float:
    """Share of `items` whose first retrieved passage holds the answer (SQuAD) or comes from
    a gold file (long answers)."""
    firsts = [retriever.rank(item.question, 1) for item in items]
    return mean(
        [
            float(any(supports(hit, item) for hit in first))
            for first, item in zip(firsts, items, strict=True)
        ]
    )


def measure_set(
    name: str,
    taught_items: list[QAItem],
    others: list[QAItem],
    unrelated: list[QAItem],
    root: Path,
    max_tokens: int,
) -> dict:
    """Steps 1-5 for one question set (see the module's docstring)."""
    workspace = Workspace(root / name)
    workspace.root.mkdir(parents=True)
    started = time.perf_counter()
    run_index(workspace, [EVAL / name / "docs"], IndexOptions())
    print(f"{name}: indexed in {time.perf_counter() - started:.0f} s", flush=True)
    qa_file = write_qa(taught_items, root / f"{name}-taught.jsonl")
    turns = [reworded(item.question, turn) for turn, item in enumerate(taught_items)]
    rewordings = [
        QAItem(item.id, text, item.answers, item.sources)
        for item, (_, text) in zip(taught_items, turns, strict=True)
    ]

    started = time.perf_counter()
    # The rewordings first, into a scratch log: nothing is taught yet.
    reworded_before = run_eval(
        workspace,
        write_qa(rewordings, root / f"{name}-reworded.jsonl"),
        EvalOptions(max_tokens=max_tokens),
        print,
    )
    outcome = run_eval(
        workspace, qa_file, EvalOptions(record_feedback=True, max_tokens=max_tokens), print
    )
    before = [score(r.item, r.answer or "") for r in outcome.results]
    before_reworded = [score(r.item, r.answer or "") for r in reworded_before.results]
    print(f"{name}: asked and judged in {time.perf_counter() - started:.0f} s", flush=True)

    with AppStore(workspace.app_db_path) as store:
        taught = store.taught_answers()
    cited_texts = [s.text for t in taught for s in taught_passages(t)]
    on_taught_passages = [
        item for item in others if any(contains_answer(text, item.answers) for text in cited_texts)
    ][:200]
    elsewhere = [item for item in others if item not in on_taught_passages][:200]

    result: dict = {
        "taught questions": len(taught_items),
        "taught": len(taught),
        "corrected (the rest rated +1)": sum(
            1 for r in outcome.results if judged_feedback(r)[0] == -1
        ),
        "before": {
            "token F1": mean([s["f1"] for s in before]),
            "ROUGE-L recall": mean([s["rouge_l"] for s in before]),
        },
        "before, reworded": {
            "token F1": mean([s["f1"] for s in before_reworded]),
            "ROUGE-L recall": mean([s["rouge_l"] for s in before_reworded]),
        },
    }
    started = time.perf_counter()
    result["(a) the same questions"] = asked_again(workspace, taught_items, max_tokens)
    result["(b) reworded"] = asked_again(workspace, rewordings, max_tokens)
    result["(b) rewording kinds"] = {
        kind: sum(kind in kinds for kinds, _ in turns) for kind, _, _ in REWORDINGS
    }
    print(f"{name}: asked again in {time.perf_counter() - started:.0f} s", flush=True)

    with (
        open_searchable_index(workspace, "default") as index,
        AppStore(workspace.app_db_path) as store,
    ):
        embedder = Embedder()
        matcher = TaughtAnswers(store, embedder, index, "default")
        vectors = embedder.encode([item.question for item in unrelated])
        uses = [
            item.question
            for item, vector in zip(unrelated, vectors, strict=True)
            if matcher.nearest(item.question, vector) is not None
        ]
        ranked = sum(bool(matcher.ranking(vector)) for vector in vectors)
        result["(c) unrelated questions"] = {
            "questions": len(unrelated),
            "a taught answer used (given back or as a source)": len(uses),
            "examples": uses[:5],
            "taught passages ranked for them": ranked,
        }
        # Retrieval alone, without and with what was taught: the same index and embedder.
        groups = {
            "other questions on the taught passages": on_taught_passages,
            "other questions of the taught articles, answered elsewhere": elsewhere,
            "unrelated questions": unrelated if others else [],  # another set's, for claude-docs
            "reworded questions": rewordings,
        }
        result["(d) retrieval hit@1"] = {
            label: {
                "questions": len(items),
                "before": hit_at_1(Retriever(index, embedder), items),
                **{
                    f"after, floor {floor}": hit_at_1(
                        Retriever(
                            index,
                            embedder,
                            taught=TaughtAnswers(store, embedder, index, "default", floor),
                        ),
                        items,
                    )
                    for floor in RETRIEVAL_FLOORS
                },
            }
            for label, items in groups.items()
            if items
        }
    print(json.dumps({name: result}, indent=2), flush=True)
    return result


def cost(count: int, root: Path, questions: list[str]) -> dict:
    """Milliseconds to match and rank one question with `count` taught answers stored (the
    question's embedding aside: retrieval makes it anyway)."""
    workspace = Workspace(root / "cost")
    workspace.root.mkdir()
    run_index(workspace, [EVAL / "claude-docs" / "docs"], IndexOptions())
    embedder = Embedder()
    with (
        open_searchable_index(workspace, "default") as index,
        AppStore(root / "cost.db") as store,
    ):
        now = "2026-12-07T00:00:00+00:00"
        with store._conn:
            store._conn.executemany(
                "INSERT INTO taught(index_name, question, answer, sources, created_at,"
                " updated_at) VALUES ('default', ?, 'an answer', '[]', ?, ?)",
                [(f"{questions[i % len(questions)]} ({i})", now, now) for i in range(count)],
            )
        started = time.perf_counter()
        TaughtAnswers(store, embedder, index, "default").ranking(np.zeros(embedder.dimension))
        first = time.perf_counter() - started
        matcher = TaughtAnswers(store, embedder, index, "default")
        started = time.perf_counter()
        matcher.ranking(np.zeros(embedder.dimension, dtype=np.float32))
        later = time.perf_counter() - started
        asked = questions[:50]
        vectors = embedder.encode(asked)
        runs = []
        for question, vector in zip(asked, vectors, strict=True):
            started = time.perf_counter()
            matcher.nearest(question, vector)
            matcher.ranking(vector)
            runs.append((time.perf_counter() - started) * 1000)
    figures = {
        "taught": count,
        "first start: embeds and keeps every question, s": round(first, 1),
        "a later start: reads the kept vectors, s": round(later, 2),
        "per question, ms (median, max of 50)": [
            round(statistics.median(runs), 2),
            round(max(runs), 2),
        ],
    }
    print(json.dumps({"cost": figures}, indent=2), flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=int, default=100, help="squad-dev questions taught")
    parser.add_argument("--unrelated", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=100, help="answer cap, before and after")
    parser.add_argument("--sets", nargs="*", default=["squad-dev", "claude-docs"])
    parser.add_argument("--cost", type=int, default=10_000, help="taught answers for the cost")
    args = parser.parse_args()
    rng = random.Random(0)
    squad = squad_items("squad-dev")
    held_out = [i for i in squad if i.sources and i.sources[0] in HELD_OUT_ARTICLES]
    trained_on = [i for i in squad if i not in held_out]
    taught_squad = rng.sample(held_out, args.squad)
    others = [i for i in held_out if i not in taught_squad]
    unrelated = rng.sample(trained_on, args.unrelated)
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="gptchat-taught-") as scratch:
        root = Path(scratch)
        if "squad-dev" in args.sets:
            results["squad-dev"] = measure_set(
                "squad-dev", taught_squad, others, unrelated, root, args.max_tokens
            )
        if "claude-docs" in args.sets:
            results["claude-docs"] = measure_set(
                "claude-docs", squad_items("claude-docs"), [], unrelated, root, args.max_tokens
            )
        if args.cost:
            results["cost"] = cost(args.cost, root, [i.question for i in squad])
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    name = "taught_answers_benchmark" if args.sets else "taught_answers_cost"
    (out / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
