"""Fine-tuning mechanics with a tiny random model: data, masking, gate, versions, failures."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from gptchat.errors import BadInput, GptchatError
from gptchat.learn.examples import (
    IGNORE,
    TrainingExample,
    dataset_from_feedback,
    split_held_out,
    tokenize,
)
from gptchat.learn.train import TrainOptions, not_worse
from gptchat.learn.version_builder import FinetuneHooks, FinetuneOptions, build_version
from gptchat.log.store import AppStore, Feedback, FeedbackExample
from gptchat.tui.assistant import Assistant
from gptchat.workspace import Workspace
from tests.conftest import FAST, run_cli, versions


def feedback_item(
    message_id: int,
    answer: str,
    rating: int | None,
    correction: str | None,
    prompt: str | None = "<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n",
) -> FeedbackExample:
    return FeedbackExample(
        Feedback(message_id, rating, correction, None, "t"), "Q?", answer, prompt, "m", []
    )


def test_examples_from_feedback_and_what_is_left_out() -> None:
    items = [
        feedback_item(1, "Paris.", 1, None),  # approved: the answer is the target
        feedback_item(2, "Lyon.", -1, "Paris."),  # corrected: the correction is the target
        feedback_item(3, "Nice.", -1, None),  # rejected, nothing better given
        feedback_item(4, "Paris.", 1, None),  # same prompt and target as 1
        feedback_item(5, "x", None, "Better.", prompt=None),  # "not covered": no prompt
    ]
    dataset = dataset_from_feedback(items)
    assert [e.target for e in dataset.examples] == ["Paris."]
    assert dataset.skipped == Counter(
        {
            "duplicate": 2,
            "rated -1 without a correction": 1,
            "no prompt (not answered from the documents)": 1,
        }
    )
    # Item 2's target equals item 1's on the same prompt: one example.


def test_loss_is_only_on_the_answer_and_long_prompts_lose_their_start(tiny_model_dir) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    example = TrainingExample("Sources: [1] solar.md\nQuestion: what is it?", "Photovoltaic")
    ids, labels = tokenize(tokenizer, example, max_tokens=1000)
    prompt_ids = tokenizer(example.prompt, add_special_tokens=False)["input_ids"]
    assert labels[: len(prompt_ids)] == [IGNORE] * len(prompt_ids)
    assert labels[len(prompt_ids) :] == ids[len(prompt_ids) :]
    assert ids[-1] == tokenizer.eos_token_id  # the model learns to stop
    short_ids, short_labels = tokenize(tokenizer, example, max_tokens=len(ids) - 3)
    assert short_ids == ids[3:] and short_labels[-5:] == labels[-5:]
    docs_ids, docs_labels = tokenize(tokenizer, TrainingExample("", "solar panels"), 100)
    assert docs_ids == docs_labels  # pre-training: every token counts


def test_held_out_split_is_seeded_and_never_empty() -> None:
    examples = [TrainingExample("p", str(n)) for n in range(10)]
    train, held = split_held_out(examples, 0.2, seed=1)
    assert len(held) == 2 and sorted(train + held, key=lambda e: int(e.target)) == examples
    assert split_held_out(examples, 0.2, seed=1) == (train, held)
    assert len(split_held_out(examples[:3], 0.1, seed=1)[1]) == 1


def test_the_gate() -> None:
    assert not_worse({"token_f1": 0.2, "loss": 2.0}, {"token_f1": 0.2, "loss": 3.0})
    assert not not_worse({"token_f1": 0.3, "loss": 2.0}, {"token_f1": 0.2, "loss": 1.0})
    assert not_worse({"loss": 2.0}, {"loss": 1.5}) and not not_worse({"loss": 2.0}, {"loss": 2.1})


def record_feedback(workspace: Workspace, count: int) -> None:
    """`count` corrected answers, as the app would have logged them."""
    with AppStore(workspace.app_db_path) as store:
        for n in range(count):
            conversation = store.new_conversation(f"Q{n}", "default")
            question = store.add_message(conversation, "user", f"What is fact {n}?")
            answer = store.add_message(conversation, "assistant", "", "streaming", question)
            prompt = (
                f"<|im_start|>user\nSources:\n[1] facts.md\nFact {n} is solar.\n"
                f"Question: What is fact {n}?<|im_end|>\n<|im_start|>assistant\n"
            )
            store.finish_answer(
                answer, "The fox jumps.", "The fox jumps.", "complete", "tiny", prompt, {}, []
            )
            store.set_feedback(answer, rating=-1, correction=f"Fact {n} is solar [1].")


def dry_run_from_feedback(monkeypatch, capsys, model_dir: Path) -> tuple[int, str, str]:
    return run_cli(
        monkeypatch, capsys, "finetune", "--from-feedback", "--dry-run", "--model", str(model_dir)
    )


def test_finetune_from_feedback_makes_a_version_to_use_and_roll_back(
    monkeypatch, capsys, workspace, tiny_model_dir, docs
) -> None:
    record_feedback(workspace, 12)
    code, out, _ = dry_run_from_feedback(monkeypatch, capsys, tiny_model_dir)
    assert code == 0 and out.startswith("12 training examples\n")
    assert "The first 3 of the 12:" in out and out.count("--- prompt") == 3
    assert not (workspace.root / "models").exists()
    model = ("--model", str(tiny_model_dir))
    code, out, _ = run_cli(monkeypatch, capsys, "finetune", "--from-feedback", *FAST, *model)
    assert code == 0 and "| token_f1 |" in out and "| loss |" in out
    [v1] = versions(workspace)
    assert v1.examples == 10 and v1.method == "lora" and v1.base_model == str(tiny_model_dir)
    assert {"before", "after", "passed_gate"} <= v1.metrics.keys()
    assert v1.active == v1.metrics["passed_gate"]
    assert (workspace.root / "models" / "v1" / "adapter" / "adapter_config.json").is_file()
    assert (workspace.root / "models" / "v1" / "version.json").is_file()
    # Activate it whatever the random model scored, and the chat answers with it.
    assert run_cli(monkeypatch, capsys, "models", "use", "1")[1].strip() == "v1 answers now."
    code, listed, _ = run_cli(monkeypatch, capsys, "models")
    assert code == 0 and "| * v1 |" in listed and "| base |" in listed
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    assert run_cli(monkeypatch, capsys, "ask", "How long is green tea steeped?")[0] == 0
    with AppStore(workspace.app_db_path) as store:
        answered = store.messages(store.conversations()[0].id)[-1]
    assert answered.model == f"{tiny_model_dir.name}@v1"  # the log names the version
    # A second version trains on top of the first; rollback returns to its parent.
    code, _, _ = run_cli(monkeypatch, capsys, "finetune", "--from-feedback", "--force", *FAST)
    assert code == 0
    v1, v2 = versions(workspace)
    assert v2.parent == 1 and v2.active and v2.base_model == str(tiny_model_dir)
    assert run_cli(monkeypatch, capsys, "models", "rollback")[1].strip() == "v1 answers now."
    assert run_cli(monkeypatch, capsys, "models", "rollback")[1].strip().startswith("The base")
    code, _, err = run_cli(monkeypatch, capsys, "models", "rollback")
    assert code == 2 and "nothing to roll back" in err
    # The app's /model 2 does the same as `gptchat models use 2`, and answers with it.
    assistant = Assistant(workspace)
    try:
        assert assistant.switch_model("v2", lambda message: None) == f"{tiny_model_dir.name}@v2"
        assert assistant.model_name == f"{tiny_model_dir.name}@v2"
    finally:
        assistant.close()
    assert [v.active for v in versions(workspace)] == [False, True]


def test_too_little_feedback_is_a_clear_error(monkeypatch, capsys, workspace, tiny_model_dir):
    record_feedback(workspace, 4)
    code, _, err = run_cli(
        monkeypatch, capsys, "finetune", "--from-feedback", "--model", str(tiny_model_dir)
    )
    assert code == 2 and "only 4 usable rated or corrected answers; at least 10" in err
    assert versions(workspace) == [] and not (workspace.root / "models").exists()
    # The dry run shows what there is, and what is missing.
    code, out, _ = dry_run_from_feedback(monkeypatch, capsys, tiny_model_dir)
    assert code == 0 and out.startswith("4 training examples")
    assert "not enough to train yet: at least 10 are needed" in out and "--- prompt" in out


def test_a_broken_version_is_refused_and_the_active_one_stays(
    monkeypatch, capsys, workspace, tiny_model_dir
) -> None:
    record_feedback(workspace, 12)
    model = ("--model", str(tiny_model_dir))
    for _ in range(2):
        code, _, _ = run_cli(
            monkeypatch, capsys, "finetune", "--from-feedback", "--force", *FAST, *model
        )
        assert code == 0
    (workspace.root / "models" / "v1" / "adapter" / "adapter_model.safetensors").unlink()
    code, _, err = run_cli(monkeypatch, capsys, "models", "use", "1")
    assert code == 2 and "not an adapter folder (no adapter weights)" in err
    assert [v.active for v in versions(workspace)] == [False, True]
    code, _, err = run_cli(monkeypatch, capsys, "models", "use", "7")
    assert code == 2 and "no model version 7" in err


def test_a_damaged_active_version_gives_way_to_its_parent(
    monkeypatch, capsys, workspace, tiny_model_dir, docs
) -> None:
    record_feedback(workspace, 12)
    model = ("--model", str(tiny_model_dir))
    for where in (model, ()):  # v2 trains on top of v1
        code, _, _ = run_cli(
            monkeypatch, capsys, "finetune", "--from-feedback", "--force", *FAST, *where
        )
        assert code == 0
    weights = workspace.root / "models" / "v2" / "adapter" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])  # a copy cut short
    assert run_cli(monkeypatch, capsys, "index", str(docs))[0] == 0
    code, _, err = run_cli(monkeypatch, capsys, "ask", "How long is green tea steeped?")
    assert code == 0 and "v2 cannot be loaded" in err and "answering with v1" in err
    with AppStore(workspace.app_db_path) as store:
        answered = store.messages(store.conversations()[0].id)[-1]
    assert answered.model == f"{tiny_model_dir.name}@v1"
    assert run_cli(monkeypatch, capsys, "models", "use", "1")[0] == 0
    code, _, err = run_cli(monkeypatch, capsys, "models", "use", "2")
    assert code == 2 and "adapter_model.safetensors is damaged" in err
    assert [v.active for v in versions(workspace)] == [True, False]


class _StopAtStep:
    """Progress that presses Ctrl-C at the first training step."""

    def start(self, total: int, label: str, unit: str = "") -> None:
        self.training = label.startswith("Training")

    def advance(self, steps: int = 1, note: str = "") -> None:
        if self.training:
            raise KeyboardInterrupt  # the user's Ctrl-C, mid-training


def test_ctrl_c_and_a_full_disk_leave_the_active_model(
    monkeypatch, workspace: Workspace, tiny_model_dir: Path
) -> None:
    record_feedback(workspace, 12)
    options = FinetuneOptions(
        config=TrainOptions(max_steps=2, batch_size=2), force=True, base_model=tiny_model_dir
    )
    build_version(workspace, options, FinetuneHooks())
    with pytest.raises(KeyboardInterrupt):
        build_version(workspace, options, FinetuneHooks(progress=_StopAtStep()))

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("gptchat.learn.version_builder.write_replacing", full_disk)
    with pytest.raises(GptchatError, match=r"No space left on device.*active model is unchanged"):
        build_version(workspace, options, FinetuneHooks())
    monkeypatch.undo()
    [v1] = versions(workspace)
    assert v1.active
    assert sorted(p.name for p in (workspace.root / "models").iterdir()) == ["v1"]


def test_finetune_from_docs(monkeypatch, capsys, workspace, tiny_model_dir, tmp_path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    for n in range(12):
        (notes / f"note{n}.md").write_text(f"# Note {n}\n\nThe owl number {n} hunts at night.\n")
    assert run_cli(monkeypatch, capsys, "index", str(notes))[0] == 0
    code, out, _ = run_cli(
        monkeypatch, capsys, "finetune", "--from-docs", *FAST, "--model", str(tiny_model_dir)
    )
    assert code == 0 and "| loss |" in out and "token_f1" not in out
    [v1] = versions(workspace)
    assert v1.source == "docs" and "token_f1" not in v1.metrics["after"]


def test_finetune_needs_a_source(monkeypatch, capsys) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "finetune")
    assert code == 2 and "--from-feedback, --from-qa FILE or --from-docs" in err
    with pytest.raises(BadInput, match="lora or full"):
        TrainOptions(method="qlora").check()


def test_a_stopped_answer_trains_only_when_corrected() -> None:
    stopped_approved = replace(feedback_item(1, "Green tea is", 1, None), status="interrupted")
    stopped_corrected = replace(
        feedback_item(2, "Green tea is", -1, "Two minutes [1]."), status="interrupted"
    )
    dataset = dataset_from_feedback([stopped_approved, stopped_corrected])
    assert [e.target for e in dataset.examples] == ["Two minutes [1]."]
    assert dataset.skipped == Counter({"stopped before its end, +1 without a correction": 1})
