"""A base model with its adapters merged, in the precision it runs in, kept on disk: later
starts load it as it is, without peft (importing it, reading the adapters and merging took
about 2.5 s of every start), and bf16 weights read from a bf16 file without an fp32 copy
(Qwen's peak memory fell from 4.3 to 1.9 GB a question: BENCHMARKS.md, "Peak memory")."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from gptchat.errors import os_error_text
from gptchat.workspace import cache_dir

if TYPE_CHECKING:
    from transformers import PreTrainedModel

log = logging.getLogger(__name__)

# Models kept, the most recently used: the default with its starter (540 MB), and Qwen with
# its starter and alone, for translating (bf16 where the CPU has it: 1.2 GB each).
KEEP = 3
CONFIG = "config.json"
FLOAT32 = "float32"


def merged_root() -> Path:
    return cache_dir() / "merged"


def merged_dir(model_dir: Path, adapters: tuple[Path, ...], dtype: str = FLOAT32) -> Path:
    """Where `model_dir` with `adapters` merged in order is kept in `dtype`: named by what
    went in, so a changed base or adapter file is another folder, never a stale one."""
    parts: list[object] = [] if dtype == FLOAT32 else [dtype]
    for folder in (model_dir, *adapters):
        files = sorted(p for p in folder.resolve().iterdir() if p.is_file())
        parts.append([str(folder.resolve()), [(p.name, *_stamp(p)) for p in files]])
    key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]
    return merged_root() / key


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def load_merged(
    model_dir: Path, adapters: tuple[Path, ...], dtype: str = FLOAT32
) -> PreTrainedModel | None:
    """The kept merge of `adapters` into `model_dir` in `dtype`, or None when there is none
    (or it is damaged: it is removed, and the caller merges again)."""
    import torch
    from transformers import AutoModelForCausalLM

    folder = merged_dir(model_dir, adapters, dtype)
    if not (folder / CONFIG).is_file():
        return None
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype))
    except Exception as exc:  # a cache: whatever is wrong with it (safetensors' own errors
        # too), the adapters are merged again, as on the first start
        log.warning("the merged model in %s cannot be read (%s): merging again", folder, exc)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    os.utime(folder)  # most recently used: the last to go
    return model


def keep_merged(
    model: PreTrainedModel, model_dir: Path, adapters: tuple[Path, ...], dtype: str = FLOAT32
) -> None:
    """Write `model` (`adapters` merged into `model_dir`, in `dtype`) for the next start; the
    oldest beyond KEEP go. A full or read-only disk costs only the saving: it is said, not
    raised."""
    folder = merged_dir(model_dir, adapters, dtype)
    if (folder / CONFIG).is_file():  # another process kept it meanwhile
        return
    try:
        merged_root().mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=merged_root()))
        try:
            model.save_pretrained(staging)
            os.replace(staging, folder)  # whole or not at all: a crash leaves only staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _drop_oldest(folder)
    except OSError as exc:
        log.warning(
            "cannot keep the merged model (%s): the next start merges again", os_error_text(exc)
        )


def _drop_oldest(keep: Path) -> None:
    """Remove all but the KEEP most recently used merged models."""
    kept = sorted(
        (p for p in merged_root().iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in [p for p in kept if p != keep][KEEP - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
