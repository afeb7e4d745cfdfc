"""A base model with adapters merged, kept for the next start: the same weights, no merging."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from gptchat.model import generator as generator_module
from gptchat.model.generator import load_causal_lm
from gptchat.model.merged_cache import KEEP, merged_dir, merged_root
from gptchat.workspace import CACHE_ENV
from tests.test_stacking import _merged, _random_adapter


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _weights(model) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def test_the_second_start_loads_the_kept_merge_unchanged(
    tiny_model_dir: Path, tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = _random_adapter(tiny_model_dir, (), tmp_path / "adapter", r=4)
    first, _ = load_causal_lm(tiny_model_dir, (adapter,))
    assert (merged_dir(tiny_model_dir, (adapter,)) / "config.json").is_file()

    def no_merging(model, adapters):
        raise AssertionError("merged again")

    monkeypatch.setattr(generator_module, "merge_adapters", no_merging)
    second, _ = load_causal_lm(tiny_model_dir, (adapter,))
    expected, kept = _merged(tiny_model_dir, (adapter,)), _weights(second)
    assert kept.keys() == expected.keys()
    assert all(torch.equal(kept[name], expected[name]) for name in expected)
    assert all(torch.equal(tensor, _weights(first)[name]) for name, tensor in kept.items())


def test_a_changed_adapter_is_merged_anew_and_old_merges_go(
    tiny_model_dir: Path, tmp_path: Path, cache: Path
) -> None:
    ranks = [2 * (n + 1) for n in range(KEEP + 1)]
    adapters = [_random_adapter(tiny_model_dir, (), tmp_path / f"a{r}", r=r) for r in ranks]
    for adapter in adapters:
        load_causal_lm(tiny_model_dir, (adapter,))
    kept = [p for p in merged_root().iterdir() if not p.name.startswith(".")]
    assert len(kept) == KEEP  # the oldest went
    assert merged_dir(tiny_model_dir, (adapters[-1],)) in kept
    assert merged_dir(tiny_model_dir, (adapters[0],)) not in kept
    before = merged_dir(tiny_model_dir, (adapters[-1],))
    (adapters[-1] / "adapter_model.safetensors").touch()  # retrained in place
    assert merged_dir(tiny_model_dir, (adapters[-1],)) != before


def test_a_damaged_merge_is_said_and_merged_again(
    tiny_model_dir: Path, tmp_path: Path, cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = _random_adapter(tiny_model_dir, (), tmp_path / "adapter", r=4)
    load_causal_lm(tiny_model_dir, (adapter,))
    folder = merged_dir(tiny_model_dir, (adapter,))
    (folder / "model.safetensors").write_bytes(b"not weights")
    with caplog.at_level(logging.WARNING, logger="gptchat"):
        model, _ = load_causal_lm(tiny_model_dir, (adapter,))
    assert "cannot be read" in caplog.text
    expected = _merged(tiny_model_dir, (adapter,))
    assert all(torch.equal(t, expected[name]) for name, t in _weights(model).items())
    assert (folder / "model.safetensors").stat().st_size > 100  # kept again, whole


def test_a_disk_that_refuses_the_merge_costs_only_the_saving(
    tiny_model_dir: Path, tmp_path: Path, cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = _random_adapter(tiny_model_dir, (), tmp_path / "adapter", r=4)
    cache.mkdir()
    (cache / "merged").write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING, logger="gptchat"):
        model, _ = load_causal_lm(tiny_model_dir, (adapter,))
    assert "cannot keep the merged model" in caplog.text
    expected = _merged(tiny_model_dir, (adapter,))
    assert all(torch.equal(t, expected[name]) for name, t in _weights(model).items())


def test_bf16_weights_are_kept_as_the_fp32_merge_rounded_and_read_back_as_bf16(
    tiny_model_dir: Path, tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = _random_adapter(tiny_model_dir, (), tmp_path / "adapter", r=4)
    first, _ = load_causal_lm(tiny_model_dir, (adapter,), "bfloat16")
    folder = merged_dir(tiny_model_dir, (adapter,), "bfloat16")
    assert folder != merged_dir(tiny_model_dir, (adapter,))
    assert (folder / "config.json").is_file()

    def no_merging(model, adapters):
        raise AssertionError("merged again")

    monkeypatch.setattr(generator_module, "merge_adapters", no_merging)
    kept, _ = load_causal_lm(tiny_model_dir, (adapter,), "bfloat16")
    expected = _merged(tiny_model_dir, (adapter,))
    weights = _weights(kept)
    assert all(tensor.dtype == torch.bfloat16 for tensor in weights.values())
    assert all(torch.equal(weights[name], expected[name].bfloat16()) for name in expected)
    # The first start answers as later ones do: the same model, rotary frequencies in fp32
    # (rounding them to bf16 too, as `model.to` does, changed answers).
    buffers = dict(first.named_buffers())
    assert buffers and buffers.keys() == dict(kept.named_buffers()).keys()
    for name, buffer in kept.named_buffers():
        assert buffer.dtype == torch.float32 and torch.equal(buffer, buffers[name])
    ids = torch.arange(1, 20).unsqueeze(0)
    with torch.inference_mode():
        assert torch.equal(first.eval()(ids).logits, kept.eval()(ids).logits)


def test_a_base_model_alone_is_kept_in_bf16_too(tiny_model_dir: Path, cache: Path) -> None:
    model, _ = load_causal_lm(tiny_model_dir, (), "bfloat16")
    assert next(model.parameters()).dtype == torch.bfloat16
    assert (merged_dir(tiny_model_dir, (), "bfloat16") / "config.json").is_file()
    assert not (merged_dir(tiny_model_dir, ()) / "config.json").exists()  # fp32: read as it is
