"""Ways to run the embedding model: PyTorch as the reference, and faster ones that must give
the same vectors to share an index with it (see runtime_choice)."""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from gptchat.errors import BadInput
from gptchat.scratch import remove_leftovers, scratch_prefix

if TYPE_CHECKING:
    import numpy as np
    import openvino

# The names `index --runtime` takes, and what each one is.
RUNTIMES = {
    "torch": "PyTorch, float32: the reference vectors",
    "torch-bf16": "PyTorch with bfloat16 matrix products (CPUs with AVX512-BF16 or AMX)",
    "openvino": "OpenVINO at the CPU's own inference precision (bfloat16 where it has AMX)",
    "openvino-f32": "OpenVINO, float32",
    "torch-int8": "PyTorch with int8 dynamic quantization (different vectors: its own embedder)",
}
REFERENCE = "torch"


class Runtime(Protocol):
    """One loaded embedding model."""

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text."""
        ...


def unavailable_reason(name: str, model_dir: Path) -> str | None:
    """Why runtime `name` cannot run `model_dir` here, or None when it can."""
    if name not in RUNTIMES:
        return f"unknown embedding runtime '{name}' (choose from {', '.join(RUNTIMES)})"
    if name == "torch-bf16" and not _cpu_has_bfloat16():
        return "this CPU has no bfloat16 instructions (AVX512-BF16 or AMX)"
    if name.startswith("openvino"):
        try:
            import openvino  # noqa: F401
        except ImportError:
            return "OpenVINO is not installed (pip install openvino)"
        if not _mean_pooled(model_dir):
            return "OpenVINO runs only mean-pooled models (Transformer, Pooling, Normalize)"
    return None


def load_runtime(name: str, model_dir: Path, cache: Path) -> Runtime:
    """Runtime `name` with the model in `model_dir` loaded; `cache` keeps its exports."""
    reason = unavailable_reason(name, model_dir)
    if reason is not None:
        raise BadInput(reason)
    if name.startswith("openvino"):
        return OpenVinoRuntime(model_dir, cache, "f32" if name == "openvino-f32" else None)
    return TorchRuntime(model_dir, name)


def runtime_versions() -> dict[str, str]:
    """The libraries and CPU features a measured equivalence depends on, read without
    importing the libraries: torch alone takes ~0.9 s and ~200 MB, which an OpenVINO run
    never needs otherwise."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"bfloat16_cpu": _cpu_bfloat16_features()}
    for package in ("torch", "openvino"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "missing"
    return versions


class TorchRuntime:
    """sentence-transformers on PyTorch, in float32, under bfloat16 autocast, or quantized."""

    def __init__(self, model_dir: Path, name: str = REFERENCE) -> None:
        # The model is on disk; never let a library reach for the hub.
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # Our own progress bar covers loading; a second one would garble it.
        transformers_logging.disable_progress_bar()
        try:
            # No device named: sentence-transformers takes a GPU where there is one.
            self.model = SentenceTransformer(str(model_dir))
        except (OSError, ValueError) as exc:
            raise BadInput(f"cannot load embedder from {model_dir}: {exc}") from exc
        if name == "torch-int8":
            self.model = torch.ao.quantization.quantize_dynamic(
                self.model, {torch.nn.Linear}, dtype=torch.qint8
            )
        self._bfloat16 = name == "torch-bf16"

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        import torch

        device = self.model.device.type
        with torch.autocast(device, dtype=torch.bfloat16, enabled=self._bfloat16):
            vectors = self.model.encode(
                texts, batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False
            )
        return _unit_rows(vectors.to(torch.float32).cpu().numpy())


class OpenVinoRuntime:
    """The transformer exported once to OpenVINO, with mean pooling done here as the
    sentence-transformers Pooling module does it."""

    def __init__(self, model_dir: Path, cache: Path, precision: str | None) -> None:
        from tokenizers import Tokenizer

        exported = cache / "openvino"
        if not (exported / "model.xml").is_file():
            _export_openvino(model_dir, exported)
        config = {"PERFORMANCE_HINT": "LATENCY"}
        if precision is not None:
            config["INFERENCE_PRECISION_HINT"] = precision
        core = openvino_core()
        try:
            compiled = core.compile_model(core.read_model(exported / "model.xml"), "CPU", config)
        except RuntimeError as exc:  # a damaged export: made again on the next load
            shutil.rmtree(exported, ignore_errors=True)
            raise BadInput(f"cannot load the OpenVINO export of {model_dir.name}: {exc}") from exc
        self._request = compiled.create_infer_request()
        self._lock = threading.Lock()  # one infer request: one batch at a time
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_seq_length(model_dir))

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        import numpy as np

        # Longest first, in batches of similar length, as sentence-transformers does: less padding.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors: np.ndarray | None = None
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            pooled = self._encode_batch([texts[i] for i in rows])
            if vectors is None:
                vectors = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            vectors[rows] = pooled
        assert vectors is not None  # encode is never called without texts
        return vectors

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        encodings = self._tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        with self._lock:
            hidden = self._request.infer({"input_ids": ids, "attention_mask": mask})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return _unit_rows(pooled.astype(np.float32))


_CORE_LOCK = threading.Lock()  # two threads may load embedders at once


def openvino_core() -> openvino.Core:
    """The process's one OpenVINO Core: every embedder loaded compiles on it, since creating
    Cores over and over in one process can crash it (a segmentation fault seen in the test
    suite, and openvinotoolkit/openvino issue 35338)."""
    with _CORE_LOCK:
        return _process_core()


@functools.cache
def _process_core() -> openvino.Core:
    """Created on first use and kept until the process ends."""
    import openvino

    return openvino.Core()


def _export_openvino(model_dir: Path, target: Path) -> None:
    """Convert the model folder's transformer to OpenVINO IR under `target` (atomically)."""
    import openvino
    import torch
    from transformers import AutoModel

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    # Eager attention traces to a graph that takes any batch and length.
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    example = (torch.ones(2, 16, dtype=torch.long), torch.ones(2, 16, dtype=torch.long))
    inputs = [(name, [-1, -1], openvino.Type.i64) for name in ("input_ids", "attention_mask")]
    with torch.no_grad():
        converted = openvino.convert_model(
            LastHiddenState(model), example_input=example, input=inputs
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target.parent, "openvino")
    scratch = target.parent / f"{scratch_prefix('openvino')}{target.name}"
    openvino.save_model(converted, scratch / "model.xml", compress_to_fp16=False)
    try:
        scratch.rename(target)
    except OSError:  # another process exported it meanwhile: theirs serves
        shutil.rmtree(scratch, ignore_errors=True)


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.clip(norms, 1e-12, None), dtype=np.float32)


def _cpu_bfloat16_features() -> str:
    """The CPU's bfloat16 and AMX flags from /proc/cpuinfo; elsewhere, PyTorch's own check."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return str(_cpu_has_bfloat16())
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    return " ".join(sorted(f for f in flags if "bf16" in f or f.startswith("amx")))


def _cpu_has_bfloat16() -> bool:
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def _mean_pooled(model_dir: Path) -> bool:
    """Transformer, mean Pooling and (optionally) Normalize: what OpenVinoRuntime reproduces."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        return False
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    modes = [key for key, value in pooling.items() if key.startswith("pooling_mode") and value]
    return kinds in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) and (
        modes == ["pooling_mode_mean_tokens"]
    )


def max_seq_length(model_dir: Path) -> int:
    """The longest input, in tokens, the model folder says its model reads."""
    path = model_dir / "sentence_bert_config.json"
    config = json.loads(path.read_text()) if path.is_file() else {}
    return int(config.get("max_seq_length", 512))
