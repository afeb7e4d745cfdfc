"""The shipped starter adapter: the default layer, listed, switched off and on, with provenance."""

from __future__ import annotations

import json

import pytest

from gptchat.log.store import AppStore
from gptchat.model.catalog import CATALOG, CatalogModel
from gptchat.model.loading import ModelOptions, load_generator
from gptchat.model.provision import check_adapter_dir
from gptchat.model.starter import HELD_OUT_ARTICLES, STARTER_DIR, starter_provenance
from gptchat.model.versions import STARTER_BASE, active_choice, choice_for
from gptchat.workspace import Workspace
from tests.conftest import run_cli


@pytest.mark.parametrize("model", [m for m in CATALOG if m.starter], ids=lambda m: m.alias)
def test_each_starter_ships_small_with_how_it_was_made(model: CatalogModel) -> None:
    if not model.starter_available:
        pytest.skip(f"this install has no starter for {model.name}")
    folder = model.starter
    assert check_adapter_dir(folder) == folder
    weights = folder / "adapter_model.safetensors"
    assert weights.stat().st_size < 20_000_000  # bf16 LoRA: a few MB
    made = starter_provenance(folder)
    assert made is not None and made["command"].startswith("python scripts/build_starter.py")
    assert made["base_model"].startswith(model.name)
    assert set(made["data"]["held_out_articles"]) == set(HELD_OUT_ARTICLES)
    assert not set(made["data"]["train_articles"]) & set(HELD_OUT_ARTICLES)
    assert {"seed", "k", "questions"} <= made["settings"].keys()
    assert "token_f1" in made["training"]["metrics"]["after"]


def test_the_starter_is_the_default_layer_and_models_use_base_turns_it_off(
    monkeypatch, capsys, workspace: Workspace
) -> None:
    choice = active_choice(workspace)
    assert choice.starter and choice.adapters == (STARTER_DIR,)
    code, out, _ = run_cli(monkeypatch, capsys, "models")
    assert code == 0 and "| * starter |" in out and "| base |" in out
    assert run_cli(monkeypatch, capsys, "models", "use", "base")[1].startswith("The base model")
    assert active_choice(workspace).adapters == ()
    assert "| * base |" in run_cli(monkeypatch, capsys, "models")[1]
    assert run_cli(monkeypatch, capsys, "models", "use", "starter")[1].strip() == (
        "The starter (SmolLM2-135M-Instruct) answers now."
    )
    generator = load_generator(ModelOptions(), lambda message: None, workspace)
    assert generator.name == "SmolLM2-135M-Instruct+starter"
    assert generator.adapters == (STARTER_DIR,)


def test_a_version_trained_on_the_starter_chains_on_it_and_rolls_back_to_it(
    monkeypatch, capsys, workspace: Workspace
) -> None:
    # As `finetune` records a version trained while the starter answered (its folder is made
    # by hand here: the chain is what is tested, not training).
    with AppStore(workspace.app_db_path) as store:
        version = store.add_model_version("qa", "lora", STARTER_BASE, None, 10, {}, {})
        adapter = workspace.models_dir / f"v{version}" / "adapter"
        adapter.mkdir(parents=True)
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            (adapter / name).write_bytes((STARTER_DIR / name).read_bytes())
        store.activate_model_version(version)
        choice = choice_for(workspace, store, store.active_model_version())
    assert choice.adapters == (STARTER_DIR, adapter) and choice.root == STARTER_BASE
    assert choice.name == "SmolLM2-135M-Instruct+starter@v1"
    assert "| * v1 | " in run_cli(monkeypatch, capsys, "models")[1]
    code, out, _ = run_cli(monkeypatch, capsys, "models", "rollback")
    assert code == 0 and out.strip() == "The starter (SmolLM2-135M-Instruct) answers now."
    assert json.loads((STARTER_DIR / "adapter_config.json").read_text())["r"] > 0
