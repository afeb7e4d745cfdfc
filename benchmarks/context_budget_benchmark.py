"""Which prompt budget to default to: answer quality against latency on squad-dev.

    python benchmarks/context_budget_benchmark.py --workspace /tmp/bench-squad --limit 40

Each question goes through the real ChatSession (hybrid retrieval of 10 passages, the default
model, greedy answers of at most 64 tokens); only the prompt's token budget changes, so the
budget decides how many of the 10 passages the model reads.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
from pathlib import Path

from retrieval_benchmark import SQUAD, build_index

from gptchat.answer.prompt import PromptOptions
from gptchat.answer.retriever import Retriever
from gptchat.answer.session import ChatSession
from gptchat.eval.metrics import contains_answer, exact_match, token_f1
from gptchat.index.embedder import Embedder
from gptchat.log.store import AppStore
from gptchat.model.catalog import DEFAULT_MODEL
from gptchat.model.generator import DecodeOptions, Generator
from gptchat.model.provision import ensure_default_model

BUDGETS = (512, 1024, 2048)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="where to build (or find) the index")
    parser.add_argument("--limit", type=int, default=40, help="questions (seeded sample)")
    args = parser.parse_args()
    rows = [json.loads(line) for line in (SQUAD / "qa.jsonl").read_text().splitlines() if line]
    rows = random.Random(0).sample(rows, args.limit)
    with tempfile.TemporaryDirectory(prefix="gptchat-bench-") as temp:
        index = build_index(args.workspace or Path(temp))
        store = AppStore(Path(temp) / "gptchat.db")
        generator = Generator(ensure_default_model(print), name=DEFAULT_MODEL)
        retriever = Retriever(index, Embedder())
        print(f"{len(rows)} squad-dev questions, k=10 retrieved, answers of at most 64 tokens")
        print(
            "| prompt budget | sources read | gold in prompt | EM | token F1 "
            "| time to first token p50 | answer time p50 |"
        )
        print("|---|---|---|---|---|---|---|")
        for budget in BUDGETS:
            session = ChatSession(
                retriever,
                generator,
                store,
                "default",
                k=10,
                budget=PromptOptions(budget, 64),
                decode=DecodeOptions(max_new_tokens=64),
            )
            em, f1, ttft, total, read, gold = [], [], [], [], [], []
            for row in rows:
                answer = session.ask(row["question"])
                list(answer)
                em.append(exact_match(answer.text, row["answers"]))
                f1.append(token_f1(answer.text, row["answers"]))
                ttft.append(answer.timings.get("first_token_ms", 0.0) / 1000)
                total.append(answer.timings.get("total_ms", 0.0) / 1000)
                read.append(len(answer.sources))
                gold.append(any(contains_answer(h.text, row["answers"]) for h in answer.sources))
            print(
                f"| {budget} | {statistics.mean(read):.1f} | {statistics.mean(gold):.2f} "
                f"| {statistics.mean(em):.3f} | {statistics.mean(f1):.3f} "
                f"| {statistics.median(ttft):.2f} s | {statistics.median(total):.2f} s |"
            )
        store.close()
        index.close()


if __name__ == "__main__":
    main()
