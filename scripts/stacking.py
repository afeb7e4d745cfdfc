"""One LoRA adapter from two, the second trained on top of the first: the same merged weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from gptchat.errors import BadInput

if TYPE_CHECKING:
    import torch

WEIGHTS = "adapter_model.safetensors"
CONFIG = "adapter_config.json"


def stacked_lora(
    first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """The tensors of one LoRA whose update is the sum of two of the same modules and scale.

    B1 A1 + B2 A2 = [B1 B2] [A1; A2]: the A matrices stacked, the B ones side by side."""
    import torch

    if first.keys() != second.keys():
        raise BadInput("the two adapters do not adapt the same modules")
    stacked = {}
    for name, tensor in first.items():
        if "lora_A" in name:
            stacked[name] = torch.cat([tensor.float(), second[name].float()], dim=0)
        elif "lora_B" in name:
            stacked[name] = torch.cat([tensor.float(), second[name].float()], dim=1)
        else:
            raise BadInput(f"cannot stack {name}: not a LoRA A or B matrix")
    return stacked


def stack_adapters(first: Path, second: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Weights (float32) and config of one adapter doing what `first` then `second` do."""
    from safetensors.torch import load_file

    configs = [json.loads((folder / CONFIG).read_text()) for folder in (first, second)]
    # Rank and alpha both add up, so alpha / r, each update's scale, stays what it was.
    scales = {config["lora_alpha"] / config["r"] for config in configs}
    if len(scales) != 1 or any(c.get("rank_pattern") or c.get("alpha_pattern") for c in configs):
        raise BadInput("the two adapters differ in LoRA scale: they cannot be stacked")
    if any(c.get("use_dora") or c.get("use_rslora") for c in configs):
        raise BadInput("only plain LoRA adapters can be stacked")
    weights = stacked_lora(load_file(first / WEIGHTS), load_file(second / WEIGHTS))
    config = {
        **configs[1],
        "r": configs[0]["r"] + configs[1]["r"],
        "lora_alpha": configs[0]["lora_alpha"] + configs[1]["lora_alpha"],
    }
    return weights, config
