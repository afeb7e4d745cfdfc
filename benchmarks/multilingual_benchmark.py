"""Questions in Chinese and French over English documents, and `gptchat translate`, in one run.

    python benchmarks/multilingual_benchmark.py [--squad 40] [--claude 30] [--sentences 100]
        [--set benchmarks/results/multilingual_set.jsonl]

The model is the one `--model qwen` gives (Qwen2.5-Coder-0.5B-Instruct with its starter
adapter; translation by its base, as the app does), fetched on first use.

1. The test set: English questions (squad-dev's held-out articles, claude-docs) translated into
   Chinese and French by the model, then back into English; a translation is kept only when
   MiniLM's cosine of the back-translation to the original is at least 0.8. The kept set is
   written to the results folder; `--set` reads one written before instead of building it, so
   a change to answering is measured on the same questions (`--sentences 0`: no round trip).
2. Retrieval hit@5 over the English index for the English questions (the baseline, same run),
   and for the kept Chinese and French ones searched as written and with translated retrieval
   (the question translated into English, fused with the question as asked): squad counts a
   passage holding a gold answer, claude-docs a passage from a gold file.
3. Answers through ChatSession, as `gptchat ask --model qwen` gives them: for each kept
   question its English version and its translation; contains-gold (squad) of the answer shown
   and of the English answer underneath it; and the floor's count: questions whose English
   version was answered but whose translation was refused.
4. `translate` round trip: sentences of the shared docs into Chinese and French and back,
   MiniLM cosine of the back-translation to the original, and seconds per sentence.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.answer_benchmark import EVAL, build_index, held_out_docs, sample  # noqa: E402
from gptchat.answer.attribution import split_sentences  # noqa: E402
from gptchat.answer.reranker import bundled_reranker  # noqa: E402
from gptchat.answer.retriever import Retriever  # noqa: E402
from gptchat.answer.session import ChatSession  # noqa: E402
from gptchat.answer.translate import Translator  # noqa: E402
from gptchat.eval.metrics import contains_answer  # noqa: E402
from gptchat.eval.qa_set import QAItem, supports  # noqa: E402
from gptchat.index.catalog import (  # noqa: E402
    index_embedder,
    open_searchable_index,
)
from gptchat.language.detect import detect_language  # noqa: E402
from gptchat.language.languages import ENGLISH, language_named  # noqa: E402
from gptchat.log.store import AppStore  # noqa: E402
from gptchat.model.loading import ModelOptions, load_generator  # noqa: E402
from gptchat.model.starter import HELD_OUT_ARTICLES  # noqa: E402
from gptchat.workspace import Workspace  # noqa: E402

KEEP_COSINE = 0.8
LANGUAGES = (language_named("zh"), language_named("fr"))


def cosine(embedder, first: str, second: str) -> float:
    vectors = embedder.encode([first, second])
    return float(vectors[0] @ vectors[1])


def build_set(translator: Translator, embedder, items: list[tuple[str, QAItem]]) -> list[dict]:
    """Every question in each language, with its back-translation and whether it is kept."""
    rows = []
    for number, (set_name, item) in enumerate(items, start=1):
        for language in LANGUAGES:
            started = time.perf_counter()
            asked = translator.translate(item.question, language, ENGLISH)
            back = translator.translate(asked, ENGLISH, language)
            similarity = cosine(embedder, item.question, back)
            rows.append(
                {
                    "set": set_name,
                    "id": item.id,
                    "language": language.code,
                    "english": item.question,
                    "question": asked,
                    "back": back,
                    "cosine": round(similarity, 4),
                    "kept": similarity >= KEEP_COSINE,
                    "seconds": round(time.perf_counter() - started, 2),
                }
            )
        print(f"  set: {number}/{len(items)} questions translated", flush=True)
    return rows


def hit_at_5(retriever: Retriever, question: str, item: QAItem, also: str | None = None) -> bool:
    hits = retriever.rank(question, 5, also=also)
    return any(supports(hit, item) for hit in hits)


def measure_retrieval(
    retrievers: dict[str, Retriever],
    sessions: dict[str, ChatSession],
    items: dict[tuple[str, str], QAItem],
    rows: list[dict],
) -> dict:
    """hit@5 per set and language: English, as written, and with translated retrieval."""
    figures: dict = {}
    for set_name, retriever in retrievers.items():
        kept = [row for row in rows if row["set"] == set_name and row["kept"]]
        english_ids = sorted({row["id"] for row in kept})
        english = [
            hit_at_5(retriever, items[set_name, i].question, items[set_name, i])
            for i in english_ids
        ]
        figures[set_name] = {"english": {"n": len(english), "hit@5": mean(english)}}
        for language in LANGUAGES:
            chosen = [row for row in kept if row["language"] == language.code]
            plain, crossed, baseline = [], [], []
            for row in chosen:
                item = items[set_name, row["id"]]
                asked = sessions[set_name].languages.read(
                    row["question"], sessions[set_name].generator
                )
                searched = (
                    asked.translated if asked.foreign and asked.translated else row["question"]
                )
                row["searched_as"] = searched
                row["detected"] = asked.language.code if asked.language else None
                plain.append(hit_at_5(retriever, row["question"], item))
                also = row["question"] if asked.foreign else None
                crossed.append(hit_at_5(retriever, searched, item, also))
                baseline.append(hit_at_5(retriever, item.question, item))
            figures[set_name][language.code] = {
                "n": len(chosen),
                "detected_share": mean([row["detected"] == language.code for row in chosen]),
                "hit@5_as_written": mean(plain),
                "hit@5_translated": mean(crossed),
                "hit@5_english_same_questions": mean(baseline),
            }
    return figures


def measure_answers(
    sessions: dict[str, ChatSession], items: dict[tuple[str, str], QAItem], rows: list[dict]
) -> dict:
    """Each kept question's English version and translation, answered as the app answers."""
    english_answers: dict[tuple[str, str], dict] = {}
    figures: dict = {}
    for set_name, session in sessions.items():
        kept = [row for row in rows if row["set"] == set_name and row["kept"]]
        for item_id in sorted({row["id"] for row in kept}):
            item = items[set_name, item_id]
            english_answers[set_name, item_id] = answer_row(session, item.question, item)
        print(f"  answers: {set_name} English done", flush=True)
        figures[set_name] = {
            "english": summarize(
                [english_answers[set_name, i] for i in sorted({r["id"] for r in kept})], set_name
            )
        }
        for language in LANGUAGES:
            chosen = [row for row in kept if row["language"] == language.code]
            answers = []
            refused_after_english = 0
            for row in chosen:
                item = items[set_name, row["id"]]
                result = answer_row(session, row["question"], item)
                row["answer"] = result
                answers.append(result)
                english = english_answers[set_name, row["id"]]
                if english["status"] == "complete" and result["status"] == "no_answer":
                    refused_after_english += 1
            figures[set_name][language.code] = {
                **summarize(answers, set_name, language.code),
                "refused_where_english_answered": refused_after_english,
            }
            print(f"  answers: {set_name} {language.code} done", flush=True)
    return figures


def answer_row(session: ChatSession, question: str, item: QAItem) -> dict:
    started = time.perf_counter()
    answer = session.ask(question)
    for _ in answer:
        pass
    return {
        "question": question,
        "answer": answer.text,
        "answered_in_english": answer.answered_text,
        "status": answer.status,
        "cited": bool(answer.attribution and answer.attribution.cited),
        "contains_gold": contains_answer(answer.text, item.answers),
        "english_contains_gold": contains_answer(answer.answered_text, item.answers),
        "seconds": round(time.perf_counter() - started, 2),
        "translation_ms": answer.timings.get("translation_ms"),
        "language": getattr(detect_language(answer.text)[0], "code", None),
    }


def summarize(answers: list[dict], set_name: str, language: str = "en") -> dict:
    figures = {
        # py3langid's reading of the answer shown (unsure counts as not).
        "in_question_language": mean([a["language"] == language for a in answers]),
        "n": len(answers),
        "answered": mean([a["status"] == "complete" for a in answers]),
        "refused": mean([a["status"] == "no_answer" for a in answers]),
        "cited": mean([a["cited"] for a in answers]),
        "seconds_p50": statistics.median([a["seconds"] for a in answers]) if answers else None,
    }
    if set_name == "squad":
        figures["contains_gold"] = mean([a["contains_gold"] for a in answers])
        figures["english_underneath_contains_gold"] = mean(
            [a["english_contains_gold"] for a in answers]
        )
    return figures


def doc_sentences(count: int) -> list[str]:
    """`count` sentences of 8 to 40 words from the shared docs, half from each set."""
    found = []
    for folder in (EVAL / "squad-dev" / "docs", EVAL / "claude-docs" / "docs"):
        sentences = []
        for path in sorted(folder.glob("*.md")):
            for paragraph in path.read_text().split("\n\n"):
                if paragraph.lstrip().startswith(("#", "|", "```", "-", "*", "<", ">")):
                    continue
                for sentence in split_sentences(" ".join(paragraph.split())):
                    if 8 <= len(sentence.split()) <= 40 and re.search(r"[a-z]", sentence):
                        sentences.append(sentence)
        found += random.Random(0).sample(sentences, count // 2)
    return found


def round_trip(translator: Translator, embedder, sentences: list[str]) -> dict:
    figures: dict = {}
    for language in LANGUAGES:
        cosines, seconds = [], []
        for number, sentence in enumerate(sentences, start=1):
            started = time.perf_counter()
            there = translator.translate(sentence, language, ENGLISH)
            seconds.append(time.perf_counter() - started)
            back = translator.translate(there, ENGLISH, language)
            cosines.append(cosine(embedder, sentence, back))
            if number % 20 == 0:
                print(f"  translate {language.code}: {number}/{len(sentences)}", flush=True)
        figures[language.code] = {
            "n": len(sentences),
            "cosine_mean": statistics.fmean(cosines),
            "cosine_at_least_0.8": mean([c >= KEEP_COSINE for c in cosines]),
            "seconds_per_sentence_p50": statistics.median(seconds),
            "seconds_per_sentence_mean": statistics.fmean(seconds),
        }
    return figures


def mean(values: list) -> float | None:
    return sum(values) / len(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=int, default=40)
    parser.add_argument("--claude", type=int, default=20)
    parser.add_argument("--sentences", type=int, default=100)
    parser.add_argument("--set", type=Path, help="a test set written by an earlier run")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    scratch = Path(tempfile.gettempdir()) / "gptchat-multilingual-benchmark"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    workspace = Workspace(scratch)
    build_index(workspace, "squad", held_out_docs(scratch))
    build_index(workspace, "claude", EVAL / "claude-docs" / "docs")
    store = AppStore(scratch / "answers.db")
    reranker = bundled_reranker()
    retrievers = {}
    for name in ("squad", "claude"):
        index = open_searchable_index(workspace, name)
        retrievers[name] = Retriever(index, index_embedder(index), reranker=reranker)
    embedder = retrievers["squad"].embedder
    generator = load_generator(ModelOptions(Path("qwen")), print)
    sessions = {
        name: ChatSession(retriever, generator, store, name)
        for name, retriever in retrievers.items()
    }
    translator = sessions["squad"].languages.translator(generator)

    squad = sample(
        EVAL / "squad-dev" / "qa.jsonl", args.squad, lambda i: i.sources[0] in HELD_OUT_ARTICLES
    )
    claude = sample(EVAL / "claude-docs" / "qa.jsonl", args.claude)
    items = {**{("squad", i.id): i for i in squad}, **{("claude", i.id): i for i in claude}}
    started = time.perf_counter()
    if args.set:
        rows = [json.loads(line) for line in args.set.read_text().splitlines() if line]
        missing = {(row["set"], row["id"]) for row in rows} - items.keys()
        if missing:
            sys.exit(f"{args.set} holds questions this run did not draw ({len(missing)})")
    else:
        print("-- building the test set", flush=True)
        rows = build_set(
            translator, embedder, [("squad", i) for i in squad] + [("claude", i) for i in claude]
        )
    results: dict = {
        "model": generator.name,
        "translator": translator.generator.name,
        "set": {
            lang.code: {
                "translated": sum(r["language"] == lang.code for r in rows),
                "kept": sum(r["language"] == lang.code and r["kept"] for r in rows),
            }
            for lang in LANGUAGES
        },
        "set_seconds": time.perf_counter() - started,
    }
    print("-- retrieval", flush=True)
    results["retrieval"] = measure_retrieval(retrievers, sessions, items, rows)
    print("-- answers", flush=True)
    results["answers"] = measure_answers(sessions, items, rows)
    if args.sentences:
        print("-- translate round trip", flush=True)
        results["translate"] = round_trip(translator, embedder, doc_sentences(args.sentences))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "multilingual_set.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    )
    (args.out / "multilingual_benchmark.json").write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    main()
