"""Two LoRA adapters, one trained on top of the other, stacked into one with the same effect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

from gptchat.errors import BadInput
from gptchat.model.generator import merge_adapters
from scripts.stacking import CONFIG, WEIGHTS, stack_adapters


def _random_adapter(model_dir: Path, under: tuple[Path, ...], folder: Path, r: int) -> Path:
    """A LoRA with random A and B (as if trained) on `model_dir` with `under` merged in."""
    model = merge_adapters(AutoModelForCausalLM.from_pretrained(model_dir), under)
    torch.manual_seed(r + len(under))
    lora = LoraConfig(r=r, lora_alpha=2 * r, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(model, lora).save_pretrained(folder)
    return folder


def _merged(model_dir: Path, adapters: tuple[Path, ...]) -> dict[str, torch.Tensor]:
    model = merge_adapters(AutoModelForCausalLM.from_pretrained(model_dir), adapters)
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def test_a_stacked_adapter_merges_into_the_weights_the_two_in_turn_give(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    first = _random_adapter(tiny_model_dir, (), tmp_path / "first", r=4)
    second = _random_adapter(tiny_model_dir, (first,), tmp_path / "second", r=4)
    weights, config = stack_adapters(first, second)
    stacked = tmp_path / "stacked"
    stacked.mkdir()
    save_file({name: tensor.contiguous() for name, tensor in weights.items()}, stacked / WEIGHTS)
    (stacked / CONFIG).write_text(json.dumps(config))
    assert config["r"] == 8 and config["lora_alpha"] == 16
    in_turn = _merged(tiny_model_dir, (first, second))
    at_once = _merged(tiny_model_dir, (stacked,))
    alone = _merged(tiny_model_dir, (first,))
    assert in_turn.keys() == at_once.keys()
    for name, tensor in in_turn.items():
        torch.testing.assert_close(at_once[name], tensor, atol=1e-5, rtol=1e-5)
    # The second stage changed something, so the equality above is not of two no-ops.
    assert any(not torch.allclose(alone[n], in_turn[n]) for n in in_turn if "proj" in n)


def test_adapters_of_different_scale_are_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    first = _random_adapter(tiny_model_dir, (), tmp_path / "first", r=4)
    second = _random_adapter(tiny_model_dir, (first,), tmp_path / "second", r=2)
    config = json.loads((second / CONFIG).read_text())
    (second / CONFIG).write_text(json.dumps({**config, "lora_alpha": 8}))
    with pytest.raises(BadInput, match="differ in LoRA scale"):
        stack_adapters(first, second)
