"""Does a static KV cache, compiled with torch.compile, make answers faster on this CPU?

    python benchmarks/compile_benchmark.py [--models qwen,SmolLM2-135M-Instruct] [--fp32]
        [--ways dynamic,static,static+compile]

Each model as the app runs it (Qwen with bf16 weights where the CPU computes bf16 natively,
SmolLM2 in fp32; with --fp32, every model in fp32, as on a CPU without native bf16), on
generation_benchmark's RAG prompt of about 1,000 tokens, greedy, in
three ways in one process: transformers' default dynamic cache (what gptchat does), a static
cache run eagerly, and a static cache with the forward pass compiled by torch.compile
(inductor, the CPU's own kernels). For each: the first run's seconds (compilation included),
then the median of three of time to the first token and decode tokens/s for 64 new tokens,
and whether the 64 tokens are the dynamic cache's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.generation_benchmark import QUESTION, rag_hits  # noqa: E402
from gptchat.answer.prompt import PromptOptions, build_prompt  # noqa: E402
from gptchat.model.catalog import catalog_model  # noqa: E402
from gptchat.model.generator import Generator  # noqa: E402
from gptchat.model.provision import ensure_model  # noqa: E402

NEW_TOKENS = 64


def generate(model, inputs: dict, config) -> tuple[float, float, list[int]]:
    """Seconds to the first token and to all NEW_TOKENS greedy tokens, and the tokens (one
    run: a static cache is sized by the run's length, so every run is the same length)."""
    import torch
    from transformers import LogitsProcessor, LogitsProcessorList

    steps: list[float] = []

    class Clock(LogitsProcessor):
        def __call__(self, input_ids, scores):
            steps.append(time.perf_counter())
            return scores

    started = time.perf_counter()
    with torch.inference_mode():
        output = model.generate(
            **inputs,
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=False,
            generation_config=config,
            logits_processor=LogitsProcessorList([Clock()]),
        )
    ended = time.perf_counter()
    return steps[0] - started, ended - started, output[0, inputs["input_ids"].shape[1] :].tolist()


def way(model, inputs: dict, config, reference: list[int] | None) -> dict:
    """First-run seconds, then the median first token and decode speed of three runs."""
    _, first, _ = generate(model, inputs, config)
    ttft, decode, tokens = [], [], []
    for _ in range(3):
        one, whole, tokens = generate(model, inputs, config)
        ttft.append(one)
        decode.append((NEW_TOKENS - 1) / max(whole - one, 1e-9))
    return {
        "first_run_s": round(first, 2),
        "ttft_s": round(statistics.median(ttft), 3),
        "decode_tok_s": round(statistics.median(decode), 2),
        "same_tokens": reference is None or tokens == reference,
        "tokens": tokens,
    }


def main() -> None:
    import copy

    from transformers import CompileConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="qwen,SmolLM2-135M-Instruct")
    parser.add_argument("--fp32", action="store_true", help="every model in fp32")
    parser.add_argument("--ways", default="dynamic,static,static+compile")
    args = parser.parse_args()
    print("| model | cache | first run (s) | first token (s) | decode tok/s | same tokens |")
    print("|---|---|---|---|---|---|")
    for name in args.models.split(","):
        model_info = catalog_model(name)
        generator = Generator(
            ensure_model(model_info, print),
            name=model_info.name,
            bf16=model_info.translates and not args.fp32,
        )
        generator.load()
        model, tokenizer = generator._model, generator._tokenizer
        prompt = build_prompt(generator, QUESTION, rag_hits(), [], PromptOptions(1000, 64))
        inputs = dict(tokenizer(prompt.text, return_tensors="pt", add_special_tokens=False))
        pad = tokenizer.pad_token_id or tokenizer.eos_token_id
        dynamic = copy.deepcopy(model.generation_config)
        dynamic.pad_token_id = pad
        static = copy.deepcopy(dynamic)
        static.cache_implementation = "static"
        static.disable_compile = True
        compiled = copy.deepcopy(dynamic)
        compiled.cache_implementation = "static"
        compiled.compile_config = CompileConfig(mode="default", dynamic=False)
        compiled.compile_config._compile_all_devices = True  # transformers compiles on GPUs only
        reference = None
        dtype = str(next(model.parameters()).dtype).replace("torch.", "")
        ways = {"dynamic": dynamic, "static": static, "static+compile": compiled}
        for label in args.ways.split(","):
            config = ways[label]
            result = way(model, inputs, config, reference)
            reference = reference or result["tokens"]
            print(
                f"| {model_info.name} {dtype}, {prompt.tokens} prompt tokens | {label} "
                f"| {result['first_run_s']} | {result['ttft_s']} | {result['decode_tok_s']} "
                f"| {'yes' if result['same_tokens'] else 'no'} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
