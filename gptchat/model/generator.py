"""The local GPT: a Hugging Face causal LM that streams tokens and can be cancelled."""

from __future__ import annotations

import queue
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gptchat.errors import BadInput
from gptchat.model.merged_cache import FLOAT32, keep_merged, load_merged
from gptchat.model.provision import check_adapter_dir, check_model_dir

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Message = dict[str, str]


@dataclass(frozen=True)
class DecodeOptions:
    """Factual-QA defaults: greedy, no repetition penalty, a bounded answer."""

    max_new_tokens: int = 200
    # A penalty counts the prompt too, so it would push the answer off its sources' words:
    # 1.0 answers better from them (BENCHMARKS.md, "Grounded answers").
    repetition_penalty: float = 1.0
    temperature: float = 0.0  # 0 means greedy
    stop: tuple[str, ...] = ()
    # An opening whose first token loses `opening_penalty` nats at the answer's first position
    # (a negative penalty favours it): the answer session passes its "not covered" reply.
    discouraged_opening: str | None = None
    opening_penalty: float = 0.0


@dataclass
class GenerationStats:
    """Timings of one generation, filled in as it runs."""

    prompt_tokens: int = 0
    new_tokens: int = 0
    first_token_ms: float | None = None
    total_ms: float = 0.0
    stopped_by: str = "length"  # "eos", "stop", "length" or "cancelled"

    @property
    def decode_tokens_per_s(self) -> float:
        decode_ms = self.total_ms - (self.first_token_ms or 0.0)
        return (
            (self.new_tokens - 1) / (decode_ms / 1000) if self.new_tokens > 1 and decode_ms else 0.0
        )


@dataclass
class Generation:
    """A streamed generation: iterate for text pieces; `stats` is complete when it ends."""

    pieces: Iterator[str]
    stats: GenerationStats = field(default_factory=GenerationStats)

    def __iter__(self) -> Iterator[str]:
        return self.pieces

    def close(self) -> None:
        """Stop decoding now, if it is still going."""
        close = getattr(self.pieces, "close", None)
        if close is not None:
            close()


class Generator:
    """Loads a local causal-LM folder and generates from it, streaming."""

    def __init__(
        self,
        model_dir: Path,
        name: str | None = None,
        int8: bool = False,
        adapters: tuple[Path, ...] = (),
        learned_refusal: bool = False,
        bf16: bool = False,
        translates: bool = False,
    ) -> None:
        self.model_dir = check_model_dir(model_dir)
        self.name = name or model_dir.name
        self.int8 = int8
        # bf16 weights where the CPU computes bf16 natively; elsewhere it would be slower.
        self.bf16 = bf16 and not int8
        self.adapters = tuple(check_adapter_dir(adapter) for adapter in adapters)
        # Taught the "not covered" reply (the starter adapter is in its chain), so answers
        # weigh that reply against the sources; other models never learned it.
        self.learned_refusal = learned_refusal
        # Whether its base model can translate: the catalog says for its models; a folder
        # the user chose is taken at its word.
        self.translates = translates
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()

    # -- loading ----------------------------------------------------------------------------

    def load(self) -> None:
        """Load tokenizer and weights (int8 Linear layers, or bf16 weights, if asked); safe to
        call twice."""
        with self._lock:
            if self._model is not None:
                return
            import torch

            dtype = "bfloat16" if self.bf16 and fast_bf16("cpu") else FLOAT32
            model, tokenizer = load_causal_lm(self.model_dir, self.adapters, dtype)
            model.eval()
            if self.int8:
                with warnings.catch_warnings():
                    # torch marks eager dynamic quantisation deprecated; it still works.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    warnings.simplefilter("ignore", UserWarning)
                    model = torch.ao.quantization.quantize_dynamic(
                        model, {torch.nn.Linear}, dtype=torch.qint8
                    )
            self._tokenizer, self._model = tokenizer, model

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        self.load()
        return self._tokenizer

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    # -- prompting --------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def render(self, messages: list[Message]) -> str:
        """The prompt text for `messages`: the model's chat template, else a plain format."""
        if self.has_chat_template:
            return self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
        # GPT-2 style models have no chat template: a plain transcript they can continue.
        lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n\n".join(lines) + "\n\nAssistant:"

    # -- generating -------------------------------------------------------------------------

    def stream(
        self,
        prompt: str,
        settings: DecodeOptions | None = None,
        cancel: threading.Event | None = None,
        plain: bool = False,
    ) -> Generation:
        """Start generating from `prompt`; pieces of text arrive as they are decoded.

        `prompt` comes from `render()` unless `plain`, for continuing raw text.
        """
        settings = settings or DecodeOptions()
        cancel = cancel or threading.Event()
        stats = GenerationStats()
        return Generation(self._pieces(prompt, settings, cancel, stats, plain), stats)

    def _pieces(
        self,
        prompt: str,
        settings: DecodeOptions,
        cancel: threading.Event,
        stats: GenerationStats,
        plain: bool,
    ) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        self.load()
        tokenizer, model = self._tokenizer, self._model
        # A prompt rendered from a chat template already holds its special tokens.
        inputs = tokenizer(
            prompt, return_tensors="pt", add_special_tokens=plain or not self.has_chat_template
        )
        stats.prompt_tokens = int(inputs["input_ids"].shape[1])
        streamer = _TokenStreamer(tokenizer)
        produced: list[str] = []
        halt = threading.Event()  # set when the consumer stops reading

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs) -> bool:
                stats.new_tokens = int(input_ids.shape[1]) - stats.prompt_tokens
                if cancel.is_set() or halt.is_set():
                    if stats.stopped_by != "stop":
                        stats.stopped_by = "cancelled"
                    return True
                text = "".join(produced)
                return _first_stop(text, settings.stop) is not None

        greedy = settings.temperature <= 0
        kwargs = dict(
            **inputs,
            max_new_tokens=settings.max_new_tokens,
            do_sample=not greedy,
            repetition_penalty=settings.repetition_penalty,
            logits_processor=opening_processors(tokenizer, settings, stats.prompt_tokens),
            stopping_criteria=StoppingCriteriaList([_Stop()]),
            streamer=streamer,
            pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
        )
        if next(model.parameters()).dtype == torch.bfloat16:
            # bf16 weights decode a third faster with a preallocated cache than with one grown
            # a token at a time, the same tokens (fp32 does not gain: BENCHMARKS.md, "A static
            # KV cache"). Compiling it cost 50 s and gained nothing on a CPU.
            kwargs.update(cache_implementation="static", disable_compile=True)
        if not greedy:
            kwargs["temperature"] = settings.temperature
        else:
            # Greedy decoding ignores these; clearing them keeps transformers from warning.
            kwargs.update(temperature=None, top_p=None, top_k=None)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    model.generate(**kwargs)
            except BaseException as exc:  # re-raised in the consumer's thread below
                errors.append(exc)
                streamer.end()

        started = time.perf_counter()
        worker = threading.Thread(target=run, name="gptchat-generate", daemon=True)
        worker.start()
        try:
            sent = 0  # characters of the produced text handed out so far
            for piece in streamer:
                if stats.first_token_ms is None:
                    stats.first_token_ms = (time.perf_counter() - started) * 1000
                produced.append(piece)
                text = "".join(produced)
                cut = _first_stop(text, settings.stop)
                if cut is not None:
                    stats.stopped_by = "stop"
                    if cut > sent:
                        yield text[sent:cut]
                    break
                # Hold back a tail that may be the start of a stop string.
                ready = len(text) - _partial_stop_length(text, settings.stop)
                if ready > sent:
                    yield text[sent:ready]
                    sent = ready
            else:
                text = "".join(produced)
                if len(text) > sent:
                    yield text[sent:]
        finally:
            halt.set()
            worker.join()
            stats.total_ms = (time.perf_counter() - started) * 1000
        if errors:
            raise errors[0]
        if stats.stopped_by == "length" and stats.new_tokens < settings.max_new_tokens:
            stats.stopped_by = "eos"


def opening_processors(tokenizer, settings: DecodeOptions, prompt_tokens: int):
    """transformers logits processors that apply settings.opening_penalty to the first token
    of settings.discouraged_opening, at the answer's first position only."""
    from transformers import LogitsProcessor, LogitsProcessorList

    if not settings.discouraged_opening or not settings.opening_penalty:
        return LogitsProcessorList()
    token = tokenizer(settings.discouraged_opening, add_special_tokens=False)["input_ids"][0]

    class _OpeningPenalty(LogitsProcessor):
        def __call__(self, input_ids, scores):
            if input_ids.shape[1] == prompt_tokens:
                scores[:, token] -= settings.opening_penalty
            return scores

    return LogitsProcessorList([_OpeningPenalty()])


class _TokenStreamer:
    """Receives token ids from `generate` and hands out text one token at a time.

    Unlike transformers' TextIteratorStreamer it does not wait for a word to end, so the
    first token shows at once; it only holds back bytes of an unfinished UTF-8 character.
    """

    def __init__(self, tokenizer) -> None:
        self._tokenizer = tokenizer
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._ids: list[int] = []
        self._sent = 0
        self._prompt_seen = False

    def put(self, value) -> None:  # value: a tensor of token ids
        if not self._prompt_seen:  # the first call carries the prompt
            self._prompt_seen = True
            return
        self._ids.extend(value.reshape(-1).tolist())
        text = self._tokenizer.decode(self._ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):
            return
        if len(text) > self._sent:
            self._queue.put(text[self._sent :])
            self._sent = len(text)

    def end(self) -> None:
        self._queue.put(None)

    def __iter__(self) -> Iterator[str]:
        while (piece := self._queue.get()) is not None:
            yield piece


def _partial_stop_length(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest end of `text` that begins some stop string."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if stop.startswith(text[-size:]):
                longest = size
                break
    return longest


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    positions = [text.find(s) for s in stops if s and s in text]
    return min(positions) if positions else None


def fast_bf16(device_type: str) -> bool:
    """Whether this device computes in bf16 natively (else bf16 would only slow it)."""
    import torch

    if device_type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device_type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def load_causal_lm(
    model_dir: Path, adapters: tuple[Path, ...] = (), dtype: str = FLOAT32
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A local causal-LM folder with `adapters` merged in order, in `dtype` (as kept from an
    earlier start, when it was), and its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    kept = bool(adapters) or dtype != FLOAT32
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        merged = load_merged(model_dir, adapters, dtype) if kept else None
        if merged is not None:
            return merged, tokenizer
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise BadInput(f"cannot load a causal LM from {model_dir}: {exc}") from exc
    model = in_precision(merge_adapters(model, adapters), dtype)
    if kept:
        keep_merged(model, model_dir, adapters, dtype)
    return model, tokenizer


def in_precision(model: PreTrainedModel, dtype: str) -> PreTrainedModel:
    """`model`'s weights rounded to `dtype` in a model built for it, as from_pretrained
    builds one: its rotary frequencies stay fp32. (`model.to(dtype)` rounds those too, and
    measured answers moved with them: BENCHMARKS.md, "Peak memory".)"""
    if dtype == FLOAT32:
        return model
    import torch
    from transformers import AutoModelForCausalLM

    built = AutoModelForCausalLM.from_config(model.config, dtype=getattr(torch, dtype))
    built.load_state_dict(model.state_dict())
    built.generation_config = model.generation_config
    return built


def merge_adapters(model: PreTrainedModel, adapters: tuple[Path, ...]) -> PreTrainedModel:
    """`model` with each LoRA adapter merged into its weights, in order."""
    if not adapters:
        return model
    from peft import PeftModel

    for adapter in adapters:
        try:
            with warnings.catch_warnings():
                # peft asks transformers a question it has renamed; the answer is the same.
                warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
                model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise BadInput(f"cannot apply the adapter in {adapter}: {exc}") from exc
    return model
