"""Generation speed of the catalog's models on this machine: prefill, decode, first token.

    python benchmarks/generation_benchmark.py [--models SmolLM2-135M-Instruct,qwen]

A real RAG prompt of about 1,000 tokens (squad-dev passages retrieved for a question), fp32,
bf16 weights and int8 (dynamic quantisation of the Linear layers), three runs each after a
warm-up, and the process's peak RSS after each.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

from gptchat.answer.prompt import PromptOptions, build_prompt
from gptchat.answer.retriever import Hit
from gptchat.model.catalog import DEFAULT_MODEL, catalog_model
from gptchat.model.generator import DecodeOptions, Generator
from gptchat.model.provision import ensure_model

REPO = Path(__file__).resolve().parent.parent
SQUAD_DOCS = REPO.parent / "shared" / "eval" / "squad-dev" / "docs"
QUESTION = "What did the Normans do in the 10th and 11th centuries?"


def rag_hits() -> list[Hit]:
    """Paragraphs of one squad-dev article as sources, like a retrieval would return."""
    text = next(SQUAD_DOCS.glob("normans.md"), None) or sorted(SQUAD_DOCS.glob("*.md"))[0]
    paragraphs = [p for p in text.read_text().split("\n\n") if len(p) > 200]
    return [
        Hit(str(text), "Normans", p, n, n, None, chunk_ids=(n,), score=1.0, similarity=0.5)
        for n, p in enumerate(paragraphs, start=1)
    ]


def measure(generator: Generator, prompt: str, runs: int = 3) -> dict[str, float]:
    settings = DecodeOptions(max_new_tokens=64)
    list(generator.stream(prompt, DecodeOptions(max_new_tokens=4)))  # warm-up
    first_token, decode, prompt_tokens = [], [], 0
    for _ in range(runs):
        generation = generator.stream(prompt, settings)
        list(generation)
        stats = generation.stats
        prompt_tokens = stats.prompt_tokens
        first_token.append(stats.first_token_ms / 1000)
        decode.append(stats.decode_tokens_per_s)
    ttft = statistics.median(first_token)
    return {
        "prompt_tokens": prompt_tokens,
        "ttft_s": ttft,
        "prefill_tok_s": prompt_tokens / ttft,
        "decode_tok_s": statistics.median(decode),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=DEFAULT_MODEL, help="catalog names, comma-separated")
    parser.add_argument("--precisions", default="fp32,bf16,int8", help="comma-separated")
    args = parser.parse_args()
    print("| model | prompt tokens | time to first token | prefill tok/s | decode tok/s |")
    print("|---|---|---|---|---|")
    loads, peaks = [], []
    for name in args.models.split(","):
        model = catalog_model(name)
        model_dir = ensure_model(model, print)
        base = Generator(model_dir, name=model.name)
        prompt = build_prompt(base, QUESTION, rag_hits(), [], PromptOptions(1000, 64))
        for label in args.precisions.split(","):
            generator = Generator(
                model_dir, name=model.name, int8=label == "int8", bf16=label == "bf16"
            )
            started = time.perf_counter()
            generator.load()
            loads.append(f"{model.name} {label} {time.perf_counter() - started:.2f} s")
            result = measure(generator, prompt.text)
            print(
                f"| {model.name} {label} | {result['prompt_tokens']} | {result['ttft_s']:.2f} s "
                f"| {result['prefill_tok_s']:.0f} | {result['decode_tok_s']:.1f} |",
                flush=True,
            )
            peaks.append(f"{label} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10} MB")
            del generator
    print("answers of 64 tokens; sources: paragraphs of squad-dev's normans.md")
    print(f"model load from the safetensors cache (libraries already imported): {', '.join(loads)}")
    print(f"process peak RSS after each (it only grows): {', '.join(peaks)}")


if __name__ == "__main__":
    main()
