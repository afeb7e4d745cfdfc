"""Which runtime embeds: each candidate measured once against PyTorch on probe texts (cosine
and speed), the result kept in the cache; only an equivalent one may share an index."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gptchat.errors import BadInput
from gptchat.index.runtimes import (
    REFERENCE,
    Runtime,
    load_runtime,
    runtime_versions,
    unavailable_reason,
)
from gptchat.scratch import remove_leftovers, scratch_prefix
from gptchat.workspace import guide_path

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

# A runtime whose vectors all have at least this cosine to PyTorch's is the same embedder.
EQUIVALENT_MIN_COSINE = 0.999
# What `auto` considers; torch-int8 is never equivalent (minimum cosine about 0.84).
AUTO_CANDIDATES = ("torch", "torch-bf16", "openvino", "openvino-f32")
# A faster runtime is chosen only when it clearly is: the probe is short and timings wobble.
CLEARLY_FASTER = 1.15
PROBE_BATCH = 16


@dataclass(frozen=True)
class Measured:
    """One runtime on the probe texts, against PyTorch float32."""

    runtime: str
    reason: str = ""  # why it cannot run here; empty when it ran
    min_cosine: float = 0.0
    mean_cosine: float = 0.0
    texts_per_s: float = 0.0

    @property
    def available(self) -> bool:
        return not self.reason

    @property
    def equivalent(self) -> bool:
        return self.available and self.min_cosine >= EQUIVALENT_MIN_COSINE


def embedder_cache(model_dir: Path, cache_root: Path) -> Path:
    """The cache folder of one model folder: exports and measurements, beside the base models."""
    stats = sorted(
        (str(p.relative_to(model_dir)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in model_dir.rglob("*")
        if p.is_file()
    )
    fingerprint = hashlib.sha256(json.dumps([str(model_dir), stats]).encode()).hexdigest()[:16]
    return cache_root / "embedders" / f"{model_dir.name}-{fingerprint}"


def measured(model_dir: Path, cache: Path, names: tuple[str, ...]) -> dict[str, Measured]:
    """Each runtime in `names` measured on this machine: from the cache, else now (seconds)."""
    path = cache / "runtimes.json"
    versions = runtime_versions()
    known = _read(path, versions)
    missing = [n for n in names if n not in known]
    if missing:
        known.update(measure(model_dir, cache, missing))
        try:
            _write(path, versions, known)
        except OSError as exc:  # a full disk costs only a measurement made again next time
            log.warning("cannot keep the embedding runtime measurements in %s (%s)", path, exc)
    return {n: known[n] for n in names}


def measure(model_dir: Path, cache: Path, names: list[str]) -> dict[str, Measured]:
    """Run each runtime on the probe texts; cosine and speed against PyTorch float32."""
    import numpy as np

    probe = probe_texts()
    reference_runtime = load_runtime(REFERENCE, model_dir, cache)
    reference, reference_rate = _timed(reference_runtime, probe)
    results: dict[str, Measured] = {}
    for name in names:
        if name == REFERENCE:
            results[name] = Measured(name, "", 1.0, 1.0, reference_rate)
            continue
        reason = unavailable_reason(name, model_dir)
        if reason is None:
            try:
                vectors, rate = _timed(load_runtime(name, model_dir, cache), probe)
            except Exception as exc:  # a runtime that fails here is reported and left out
                reason = f"failed on this machine: {exc}"
                log.warning("embedding runtime %s %s", name, reason)
        if reason is not None:
            results[name] = Measured(name, reason)
            continue
        cosines = np.sum(vectors * reference, axis=1)
        results[name] = Measured(name, "", float(cosines.min()), float(cosines.mean()), rate)
    return results


def choose(model_dir: Path, cache: Path, wanted: str) -> Measured:
    """The runtime to embed with: `wanted`, or for `auto` the fastest equivalent one."""
    if wanted != "auto":
        reason = unavailable_reason(wanted, model_dir)
        if reason is not None:
            raise BadInput(f"embedding runtime {wanted}: {reason}")
        return measured(model_dir, cache, (REFERENCE, wanted))[wanted]
    results = measured(model_dir, cache, AUTO_CANDIDATES)
    reference = results[REFERENCE]
    fastest = max((m for m in results.values() if m.equivalent), key=lambda m: m.texts_per_s)
    return fastest if fastest.texts_per_s > reference.texts_per_s * CLEARLY_FASTER else reference


def probe_texts() -> list[str]:
    """Paragraphs of the bundled guide, and runs of them long enough to be truncated."""
    guide = guide_path()
    paragraphs = [
        " ".join(block.split())
        for page in sorted(guide.glob("*.md"))
        for block in page.read_text(encoding="utf-8").split("\n\n")
        if len(block.strip()) >= 40
    ]
    short = paragraphs[:32]
    long = [" ".join(paragraphs[i : i + 6]) for i in range(0, min(len(paragraphs), 48), 6)]
    return short + long


def _timed(runtime: Runtime, texts: list[str]) -> tuple[np.ndarray, float]:
    """The runtime's vectors for `texts`, and its rate in texts per second."""
    runtime.encode(texts[:4], PROBE_BATCH)  # warm-up: first calls compile and allocate
    started = time.perf_counter()
    vectors = runtime.encode(texts, PROBE_BATCH)
    return vectors, len(texts) / (time.perf_counter() - started)


def _read(path: Path, versions: dict[str, str]) -> dict[str, Measured]:
    try:
        stored = json.loads(path.read_text())
        if stored.get("versions") != versions:
            return {}  # other libraries or another CPU: measure again
        return {name: Measured(**fields) for name, fields in stored["runtimes"].items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("measuring the embedding runtimes again: %s is unreadable (%s)", path, exc)
        return {}


def _write(path: Path, versions: dict[str, str], known: dict[str, Measured]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path.parent, "runtimes")  # of a run killed while writing
    scratch = path.with_name(f"{scratch_prefix('runtimes')}{path.name}")
    body = {"versions": versions, "runtimes": {n: asdict(m) for n, m in known.items()}}
    scratch.write_text(json.dumps(body, indent=2) + "\n")
    os.replace(scratch, path)
