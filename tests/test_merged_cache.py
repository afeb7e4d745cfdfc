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
    adapters = [_random_adapter(tiny_model_dir, (), tmp_path / f"a{r}", r=r) for r in (2, 4, 8)]
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
