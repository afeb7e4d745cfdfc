"""Fine-tuning: train a new model version on examples, score it against the current one."""

from __future__ import annotations

import math
import random
import statistics
import time
import warnings
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from gptchat.errors import BadInput
from gptchat.eval.metrics import exact_match, token_f1
from gptchat.learn.examples import IGNORE, TrainingExample, tokenize
from gptchat.model.generator import DecodeOptions, fast_bf16
from gptchat.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

DEFAULT_LR = {"lora": 5e-4, "full": 3e-5}  # the rates that worked at 135M (BENCHMARKS.md)


@dataclass(frozen=True)
class TrainOptions:
    """How to train; saved beside every version it makes."""

    method: str = "lora"  # lora or full
    epochs: int = 1
    max_steps: int | None = None
    lr: float | None = None  # None: DEFAULT_LR[method]
    batch_size: int = 4
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    max_tokens: int = 1280  # prompt and answer of one example; longer prompts lose their start
    seed: int = 0
    max_grad_norm: float = 1.0
    held_out: float = 0.2
    score_tokens: int = 64  # how long the held-out answers may be when scoring
    # Keep only every layer's input and recompute the rest in the backward pass: a third more
    # compute for a fraction of the memory (13 GB -> see BENCHMARKS.md at batch 4, 900 tokens).
    checkpointing: bool = True
    # bf16 autocast where the hardware has fast bf16 (measured 1.8x faster per step on this
    # CPU); weights and LoRA parameters stay fp32.
    precision: str = "auto"  # auto, bf16 or fp32

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.method]

    def check(self) -> None:
        if self.method not in DEFAULT_LR:
            raise BadInput(f"--method must be lora or full, not {self.method}")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise BadInput(f"--precision must be auto, bf16 or fp32, not {self.precision}")
        if not 0 < self.held_out < 1:
            raise BadInput("the held-out share must be between 0 and 1")

    def as_dict(self) -> dict:
        return {**asdict(self), "lr": self.learning_rate}


@dataclass
class TrainingRun:
    steps: int
    examples: int
    tokens: int
    seconds: float
    final_loss: float
    precision: str = "fp32"

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def train(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    examples: list[TrainingExample],
    config: TrainOptions,
    progress: Progress,
) -> tuple[PreTrainedModel, TrainingRun]:
    """Train `model` on `examples` (LoRA adapters or all weights); Ctrl-C stops it."""
    import torch
    from accelerate import Accelerator
    from torch.utils.data import DataLoader

    random.seed(config.seed)
    torch.manual_seed(config.seed)
    if config.checkpointing:
        model.config.use_cache = False  # a cache is of no use in training, and clashes
        model.activation_checkpointing_enable({"use_reentrant": False})
    if config.method == "lora":
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
        with warnings.catch_warnings():
            # peft asks transformers a question it has renamed; the answer is the same.
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
            model = get_peft_model(model, lora)
    model.train()
    rows = [tokenize(tokenizer, example, config.max_tokens) for example in examples]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    loader = DataLoader(
        rows,
        batch_size=config.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(config.seed),
        collate_fn=lambda batch: _pad(batch, pad_id),
    )
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=config.learning_rate
    )
    total = len(loader) * config.epochs
    if config.max_steps:
        total = min(total, config.max_steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / 10) * max(0.0, 1 - step / max(total, 1))
    )
    # accelerate places model and batches on the GPU when there is one, and splits the
    # batches across processes under `accelerate launch`.
    accelerator = Accelerator()
    model, optimizer, loader, schedule = accelerator.prepare(model, optimizer, loader, schedule)
    bf16 = config.precision == "bf16" or (
        config.precision == "auto" and fast_bf16(accelerator.device.type)
    )
    progress.start(total, f"Training ({config.method})", "steps")
    steps, tokens, loss_value = 0, 0, math.nan
    started = time.perf_counter()
    while steps < total:
        for batch in loader:
            with torch.autocast(accelerator.device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = answer_loss(model, batch)
            accelerator.backward(loss)
            # One bad batch (a long answer, a high rate) must not throw the weights off.
            accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            steps += 1
            tokens += int(batch["attention_mask"].sum())
            loss_value = float(loss.detach())
            progress.advance(1, f"loss {loss_value:.3f}")
            if steps >= total:
                break
    model = accelerator.unwrap_model(model)
    if config.checkpointing:
        model.activation_checkpointing_disable()
        model.config.use_cache = True
    model.eval()
    seconds = time.perf_counter() - started
    run = TrainingRun(steps, len(examples), tokens, seconds, loss_value, "bf16" if bf16 else "fp32")
    return model, run


def _pad(batch: list[tuple[list[int], list[int]]], pad_id: int) -> dict:
    """Left-padded tensors: every answer ends at the last position, so one slice holds them."""
    import torch

    width = max(len(ids) for ids, _ in batch)
    input_ids = [[pad_id] * (width - len(ids)) + ids for ids, _ in batch]
    labels = [[IGNORE] * (width - len(labels)) + labels for _, labels in batch]
    mask = [[0] * (width - len(ids)) + [1] * len(ids) for ids, _ in batch]
    mask_tensor = torch.tensor(mask)
    return {
        "input_ids": torch.tensor(input_ids),
        "labels": torch.tensor(labels),
        "attention_mask": mask_tensor,
        "position_ids": (mask_tensor.cumsum(-1) - 1).clamp(min=0),
    }


def answer_loss(model: PreTrainedModel, batch: dict) -> torch.Tensor:
    """Mean next-token loss over the labelled tokens, computing logits only where they are.

    The vocabulary projection of every prompt position would cost gigabytes and a fifth of the
    compute for nothing: the loss reads only the answer's positions, all at the end.
    """
    import torch

    labels = batch["labels"]
    labelled = (labels != IGNORE).any(dim=0).nonzero()
    keep = labels.shape[1] - int(labelled[0]) + 1 if len(labelled) else 2
    keep = min(keep, labels.shape[1])
    logits = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        position_ids=batch["position_ids"],
        logits_to_keep=keep,
    ).logits
    targets = labels[:, -keep + 1 :]
    return torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
        targets.reshape(-1),
        ignore_index=IGNORE,
    )


def score(
    model,
    tokenizer,
    held_out: list[TrainingExample],
    config: TrainOptions,
    answers: bool,
    progress: Progress = NO_PROGRESS,
    label: str = "Scoring",
) -> dict[str, float]:
    """Held-out loss on the targets; with `answers`, greedy answers' token F1 and EM too."""
    import torch

    losses, f1s, ems = [], [], []
    progress.start(len(held_out), label, "held-out examples")
    model.eval()
    device = next(model.parameters()).device
    for example in held_out:
        ids, labels = tokenize(tokenizer, example, config.max_tokens)
        with torch.no_grad():
            batch = _pad([(ids, labels)], 0)
            batch = {name: tensor.to(device) for name, tensor in batch.items()}
            losses.append(float(answer_loss(model, batch)))
            if answers:
                prompt_length = sum(1 for label in labels if label == IGNORE)  # a prefix
                prompt = torch.tensor([ids[:prompt_length]])
                output = model.generate(
                    prompt.to(device),
                    attention_mask=torch.ones_like(prompt).to(device),
                    max_new_tokens=config.score_tokens,
                    do_sample=False,
                    repetition_penalty=DecodeOptions().repetition_penalty,
                    eos_token_id=tokenizer.eos_token_id,
                    pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                )
                text = tokenizer.decode(output[0, prompt.shape[1] :], skip_special_tokens=True)
                f1s.append(token_f1(text, [example.target]))
                ems.append(exact_match(text, [example.target]))
        progress.advance()
    metrics = {"loss": statistics.mean(losses), "examples": len(held_out)}
    if answers:
        metrics.update(token_f1=statistics.mean(f1s), exact_match=statistics.mean(ems))
    return metrics


def not_worse(before: dict[str, float], after: dict[str, float]) -> bool:
    """The gate: answer F1 not lower (when measured), else held-out loss not higher."""
    if "token_f1" in before and "token_f1" in after:
        return after["token_f1"] >= before["token_f1"]
    return after["loss"] <= before["loss"]
