"""The generator with a tiny random model: streaming, stopping, cancelling, bad folders."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from gptchat.errors import BadInput
from gptchat.model.generator import DecodeOptions, Generator, in_precision, opening_processors


@pytest.fixture(scope="module")
def generator(tiny_model_dir: Path) -> Generator:
    return Generator(tiny_model_dir)


def prompt_for(generator: Generator) -> str:
    return generator.render([{"role": "user", "content": "What do panels do?"}])


def test_tokens_stream_one_piece_at_a_time(generator: Generator) -> None:
    generation = generator.stream(prompt_for(generator), DecodeOptions(max_new_tokens=12))
    pieces = list(generation)
    stats = generation.stats
    assert len(pieces) > 1
    assert stats.prompt_tokens == generator.count_tokens(prompt_for(generator))
    assert 1 <= stats.new_tokens <= 12
    assert stats.stopped_by in {"length", "eos"}
    assert stats.first_token_ms is not None and stats.total_ms >= stats.first_token_ms


def test_greedy_decoding_is_repeatable_and_stop_strings_cut(generator: Generator) -> None:
    settings = DecodeOptions(max_new_tokens=20, repetition_penalty=1.0)
    first = "".join(generator.stream(prompt_for(generator), settings))
    assert first == "".join(generator.stream(prompt_for(generator), settings))
    stop = first[len(first) // 2 : len(first) // 2 + 3]
    assert stop.strip(), "the tiny model produced no usable text"
    cut = DecodeOptions(max_new_tokens=20, repetition_penalty=1.0, stop=(stop,))
    generation = generator.stream(prompt_for(generator), cut)
    text = "".join(generation)
    assert text == first[: first.index(stop)]
    assert generation.stats.stopped_by == "stop"


def test_cancel_stops_generation_early(generator: Generator) -> None:
    cancel = threading.Event()
    generation = generator.stream(prompt_for(generator), DecodeOptions(max_new_tokens=200), cancel)
    pieces = []
    for piece in generation:
        pieces.append(piece)
        cancel.set()
    assert generation.stats.stopped_by == "cancelled"
    assert generation.stats.new_tokens < 200
    assert len(pieces) < 10


def test_a_consumer_that_stops_reading_ends_the_worker(generator: Generator) -> None:
    before = threading.active_count()
    generation = generator.stream(prompt_for(generator), DecodeOptions(max_new_tokens=500))
    iterator = iter(generation)
    next(iterator)
    iterator.close()  # what happens when the reader is interrupted
    assert threading.active_count() == before
    assert generation.stats.new_tokens < 500


def test_models_without_a_chat_template_get_a_plain_prompt(tiny_plain_model_dir: Path) -> None:
    generator = Generator(tiny_plain_model_dir)
    text = generator.render(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]
    )
    assert text == "System: Be brief.\n\nUser: Hi?\n\nAssistant:"
    assert "".join(generator.stream(text, DecodeOptions(max_new_tokens=5)))


def test_int8_quantisation_still_generates(tiny_model_dir: Path) -> None:
    generator = Generator(tiny_model_dir, int8=True)
    generation = generator.stream(prompt_for(generator), DecodeOptions(max_new_tokens=5))
    assert "".join(generation) and generation.stats.new_tokens >= 1


def test_bf16_weights_decode_with_a_static_cache_to_the_same_tokens(tiny_model_dir: Path) -> None:
    import torch

    generator = Generator(tiny_model_dir)
    generator.load()
    # Made bf16 on any CPU (slow without native bf16, but the same code path).
    generator._model = in_precision(generator._model, "bfloat16").eval()
    prompt = prompt_for(generator)
    settings = DecodeOptions(max_new_tokens=12, repetition_penalty=1.0, stop=())
    generation = generator.stream(prompt, settings)
    streamed = "".join(generation)
    assert streamed and generation.stats.new_tokens >= 1
    # The grown-cache decoding of the same weights writes the same text.
    tokenizer = generator.tokenizer
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        output = generator._model.generate(
            **inputs,
            max_new_tokens=generation.stats.new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.eos_token_id,
        )
    grown = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert streamed == grown


def test_folders_that_are_not_models_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such model folder"):
        Generator(tmp_path / "missing")
    with pytest.raises(BadInput, match=r"no config\.json"):
        Generator(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(BadInput, match=r"no model\.safetensors"):
        Generator(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"not weights")
    (tmp_path / "tokenizer.json").write_text("{}")
    broken = Generator(tmp_path)
    with pytest.raises(BadInput, match="cannot load a causal LM") as error:
        broken.load()
    assert "\n" not in str(error.value).strip() or len(str(error.value)) < 2000


def test_a_discouraged_opening_is_penalised_at_the_first_token_only(
    generator: Generator,
) -> None:
    import torch

    prompt = prompt_for(generator)
    plain = DecodeOptions(max_new_tokens=6, repetition_penalty=1.0)
    token = generator.tokenizer("The", add_special_tokens=False)["input_ids"][0]
    start = generator.tokenizer.decode([token])
    assert not "".join(generator.stream(prompt, plain)).startswith(start)
    # A negative penalty is a bonus: the generation must open with the token.
    favoured = replace(plain, discouraged_opening="The", opening_penalty=-1e4)
    assert "".join(generator.stream(prompt, favoured)).startswith(start)
    unchanged = replace(plain, discouraged_opening="The", opening_penalty=0.0)
    assert "".join(generator.stream(prompt, unchanged)) == "".join(generator.stream(prompt, plain))

    penalised = replace(favoured, opening_penalty=3.0)
    (processor,) = opening_processors(generator.tokenizer, penalised, prompt_tokens=5)
    scores = torch.zeros(1, len(generator.tokenizer))
    first = processor(torch.zeros(1, 5, dtype=torch.long), scores.clone())
    later = processor(torch.zeros(1, 6, dtype=torch.long), scores.clone())
    assert first[0, token] == -3.0 and int((first != 0).sum()) == 1
    assert not later.any()
