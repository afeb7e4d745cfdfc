"""Which prompt budget to give a model, chosen on questions it may be tuned on.

    python benchmarks/context_budget_benchmark.py --model qwen --budgets 768,1024 [--limit 0]

The questions are those of squad-dev's training articles that the model's starter adapter
never trained on (redrawn from its version.json), over an index of the training articles: the
held-out articles and claude-docs, which measure the shipped default, play no part. Each
budget answers them through the real ChatSession with the app's settings (hybrid retrieval,
the shipped reranker, k=3, greedy answers, bf16 weights where the catalog and CPU have them);
only the prompt's and answer's token budget changes, so it decides how many passages the
model reads. `--limit N` takes a seeded sample of N.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from build_reranker import index_articles  # noqa: E402
from build_starter import unseen_training_rows  # noqa: E402

from gptchat.answer.prompt import PromptOptions  # noqa: E402
from gptchat.answer.reranker import bundled_reranker  # noqa: E402
from gptchat.answer.retriever import Retriever  # noqa: E402
from gptchat.answer.session import ChatSession  # noqa: E402
from gptchat.eval.evaluate import evaluate  # noqa: E402
from gptchat.eval.qa_set import QAItem, load_qa_set  # noqa: E402
from gptchat.index.catalog import index_embedder  # noqa: E402
from gptchat.log.store import AppStore  # noqa: E402
from gptchat.model.catalog import find_model  # noqa: E402
from gptchat.model.loading import ModelOptions, load_generator  # noqa: E402
from gptchat.model.starter import HELD_OUT_ARTICLES  # noqa: E402

SQUAD = REPO.parent / "shared" / "eval" / "squad-dev"
COLUMNS = (
    ("contains gold", "contains_gold", "{:.3f}"),
    ("token F1", "token_f1", "{:.3f}"),
    ("EM", "exact_match", "{:.3f}"),
    ("supporting", "cited_sources_gold", "{:.3f}"),
    ("not covered", "not_in_documents_rate", "{:.3f}"),
    ("prompt tokens p50", "prompt_tokens_p50", "{:.0f}"),
    ("first token p50", "first_token_ms_p50", "{:.0f} ms"),
    ("answer p50", "answer_ms_p50", "{:.0f} ms"),
)


def training_questions(starter: Path, limit: int, docs: Path) -> list[QAItem]:
    """The training articles' questions `starter` never trained on (`docs` holds them)."""
    unseen = {row["id"] for row in unseen_training_rows(SQUAD, docs, starter)}
    chosen = [i for i in load_qa_set(SQUAD / "qa.jsonl").items if i.id in unseen]
    if limit:
        chosen = random.Random(0).sample(chosen, min(limit, len(chosen)))
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2", help="a catalog model (as shipped)")
    parser.add_argument("--budgets", default="768,1024", help="prompt budgets, in tokens")
    parser.add_argument("--limit", type=int, default=0, help="a seeded sample (0: all)")
    args = parser.parse_args()
    named = find_model(args.model)
    if named is None or named.starter is None:
        sys.exit(f"{args.model} is not a catalog model with a starter adapter")
    work = Path(tempfile.gettempdir()) / "gptchat-budget-benchmark"
    articles = sorted(a.name for a in (SQUAD / "docs").glob("*.md"))
    index = index_articles(SQUAD, [a for a in articles if a not in HELD_OUT_ARTICLES], work)
    items = training_questions(named.starter, args.limit, work / "docs")
    retriever = Retriever(index, index_embedder(index), reranker=bundled_reranker())
    generator = load_generator(ModelOptions(Path(named.name)), print)
    store = AppStore(work / "answers.db")
    print(f"{named.name} as shipped, {len(items)} training-article questions its starter never saw")
    print("| prompt budget | " + " | ".join(title for title, _, _ in COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for budget in (int(b) for b in args.budgets.split(",")):
        session = ChatSession(retriever, generator, store, "default", budget=PromptOptions(budget))
        metrics, _ = evaluate(items, retriever, session)
        cells = [fmt.format(metrics[key]) if key in metrics else "-" for _, key, fmt in COLUMNS]
        print(f"| {budget} | " + " | ".join(cells) + " |", flush=True)
    store.close()
    index.close()


if __name__ == "__main__":
    main()
