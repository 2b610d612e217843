"""SOMF mechanics on tiny models built here: merges against hand computations, the mask's
limits, gradients, the DPO loss, exports and reloads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from tests.somf_fixtures import PAIRS, build_trio  # noqa: E402
from thinksafe.errors import DataError  # noqa: E402
from thinksafe.repair.somf import export, merge  # noqa: E402
from thinksafe.repair.somf.data import Pair  # noqa: E402
from thinksafe.repair.somf.inputs import Sources, load_fusion  # noqa: E402
from thinksafe.repair.somf.mask import ConcreteMask, apply_mask  # noqa: E402
from thinksafe.repair.somf.train import (  # noqa: E402
    RetainReference,
    TrainConfig,
    batch_order,
    pair_loss,
    retain_loss,
    train,
)
from thinksafe.repair.somf.vectors import quiet_peft  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[Path]]:
    return build_trio(tmp_path_factory.mktemp("somf"), n_finetuned=2)


def fusion_for(trio: Any, method: str, *, n: int = 1, init: float = 0.0) -> Any:
    base, safe, tuned = trio
    sources = Sources(str(base), str(safe), tuple(str(t) for t in tuned[:n]))
    fusion, tok, _ = load_fusion(
        sources,
        merge_config=merge.MergeConfig(method),
        mask_init=init,
        temperature=0.5,
        rescale=True,
        device="cpu",
        dtype=torch.float32,
    )
    return fusion, tok


# ---- merges equal hand computations (3 x 4 tensors) ----

A = {"x": torch.tensor([[1.0, -2.0, 3.0, 0.5], [0.0, 4.0, -1.0, 2.0], [-3.0, 0.1, 0.2, -0.4]])}
B = {"x": torch.tensor([[-2.0, 1.0, 1.0, 0.0], [0.3, -4.5, 1.0, -2.0], [1.0, 0.0, -0.2, 5.0]])}


def test_task_arithmetic_and_average() -> None:
    ta = merge.task_arithmetic([A, B], 0.3)["x"]
    assert torch.allclose(ta, 0.3 * (A["x"] + B["x"]))
    assert torch.allclose(merge.average([A, B])["x"], (A["x"] + B["x"]) / 2)
    assert torch.equal(merge.identity([A])["x"], A["x"])
    with pytest.raises(ValueError):
        merge.identity([A, B])


def test_ties_by_hand() -> None:
    out = merge.ties([A, B], keep=0.25, lam=0.4)["x"]
    # keep 3 of 12 per task: A keeps 4.0, 3.0, -3.0; B keeps 5.0, -4.5, -2.0 (the first -2.0
    # by position among the two equal magnitudes, a stable sort)
    ta = torch.zeros(3, 4)
    ta[1, 1], ta[0, 2], ta[2, 0] = 4.0, 3.0, -3.0
    tb = torch.zeros(3, 4)
    tb[2, 3], tb[1, 1], tb[0, 0] = 5.0, -4.5, -2.0
    assert int((ta != 0).sum()) == 3 and int((tb != 0).sum()) == 3
    total = ta + tb
    # the elected sign at [1, 1] is negative (4.0 - 4.5): only B's -4.5 survives there
    expected = torch.zeros(3, 4)
    for t in (ta, tb):
        sign = torch.where(torch.sign(total) == 0, torch.ones_like(total), torch.sign(total))
        expected += t * (torch.sign(t) == sign)
    expected *= 0.4
    assert torch.allclose(out, expected)
    assert out[1, 1].item() == pytest.approx(0.4 * -4.5)
    assert out[0, 0].item() == pytest.approx(0.4 * -2.0)


def test_dare_by_hand() -> None:
    gen = torch.Generator().manual_seed(3)
    out = merge.dare([A, B], drop=0.25, lam=0.3, generator=gen)["x"]
    gen = torch.Generator().manual_seed(3)
    ka = (torch.rand(3, 4, generator=gen) >= 0.25).float()
    kb = (torch.rand(3, 4, generator=gen) >= 0.25).float()
    expected = 0.3 * (A["x"] * ka / 0.75 + B["x"] * kb / 0.75)
    assert torch.allclose(out, expected)
    assert 0 < int(ka.sum()) < 12


def test_mask_rescale_and_zero_mask() -> None:
    tau = torch.arange(1.0, 5.0)
    m = torch.tensor([1.0, 0.0, 1.0, 0.0])
    assert torch.equal(apply_mask(tau, m), torch.tensor([2.0, 0.0, 6.0, 0.0]))
    zero = apply_mask(tau, torch.zeros(4))
    assert torch.equal(zero, torch.zeros(4)) and not torch.isnan(zero).any()


def test_seeded_mask_samples() -> None:
    mask = ConcreteMask({"a": (5, 7)}, init=0.0, temperature=0.5)
    one = mask.sample("binary-sample", torch.Generator().manual_seed(1))["a"]
    two = mask.sample("binary-sample", torch.Generator().manual_seed(1))["a"]
    other = mask.sample("binary-sample", torch.Generator().manual_seed(2))["a"]
    assert torch.equal(one, two) and not torch.equal(one, other)
    soft = mask.sample("soft", torch.Generator().manual_seed(1))["a"]
    assert ((soft > 0) & (soft < 1)).all()


# ---- the fused model ----


@pytest.mark.parametrize("mode", ["soft", "expected", "binary-sample", "threshold"])
def test_infinite_logits_give_the_finetuned_model(trio: Any, mode: str) -> None:
    from safetensors.torch import load_file

    fusion, _ = fusion_for(trio, "none")
    with torch.no_grad():
        for p in fusion.mask.logits:
            p.fill_(float("inf"))
    weights = fusion.weights(mode, torch.Generator().manual_seed(0))
    tuned = load_file(str(trio[2][0] / "adapter_model.safetensors"))
    for key, value in weights.items():
        assert torch.allclose(value, tuned[key], atol=1e-6), key
    safe = load_file(str(trio[1] / "adapter_model.safetensors"))
    with torch.no_grad():
        for p in fusion.mask.logits:
            p.fill_(float("-inf"))
    for key, value in fusion.weights("threshold").items():
        assert torch.equal(value, safe[key]), key


def test_only_the_mask_logits_get_gradients(trio: Any) -> None:
    fusion, tok = fusion_for(trio, "ties", n=2)
    frozen = {n: p.detach().clone() for n, p in fusion.model.named_parameters()}
    taus = [{k: v.clone() for k, v in t.items()} for t in fusion.taus]
    cfg = TrainConfig(steps=2, lr=0.1, batch_size=4)
    loss, _ = pair_loss(fusion, [Pair(*p) for p in PAIRS], tok, cfg, torch.Generator(), "cpu")
    loss.backward()
    assert all(p.grad is None for p in fusion.model.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in fusion.mask.logits)
    train(fusion, tok, [Pair(*p) for p in PAIRS], cfg, device="cpu")
    for n, p in fusion.model.named_parameters():
        assert torch.equal(p, frozen[n]), n
    for before, after in zip(taus, fusion.taus):
        assert all(torch.equal(before[k], after[k]) for k in before)
    assert fusion.mask.numel() == sum(v.numel() for v in fusion.safe.values())


def test_retain_term_is_zero_at_the_finetuned_model_and_trains_only_the_mask(trio: Any) -> None:
    fusion, tok = fusion_for(trio, "none", init=50.0)  # sigmoid(50) = 1: the fine-tuned model
    rows = [(p, c) for p, c, _ in PAIRS]
    cfg = TrainConfig(steps=2, lr=0.1, batch_size=4, retain_weight=1.0)
    at_finetuned = retain_loss(fusion, rows, tok, cfg, torch.Generator(), "cpu", mode="expected")
    assert float(at_finetuned.detach()) == pytest.approx(0.0, abs=1e-5)
    fusion, tok = fusion_for(trio, "none")
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # an uneven mask (a uniform one is undone by the per-tensor rescale)
        for logit in fusion.mask.logits:
            logit.copy_(3 * torch.randn(logit.shape, generator=gen))
    moved = retain_loss(fusion, rows, tok, cfg, torch.Generator(), "cpu", mode="expected")
    assert float(moved.detach()) > 0
    moved.backward()
    assert all(p.grad is None for p in fusion.model.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in fusion.mask.logits)


def test_retain_rows_change_training(trio: Any) -> None:
    pairs = [Pair(*p) for p in PAIRS]
    rows = [(p, r) for p, _, r in PAIRS]  # what the pairs push down: the two terms pull apart
    cfg = TrainConfig(steps=3, lr=0.1, batch_size=4, retain_weight=1.0)
    plain, _ = fusion_for(trio, "none")
    kept, tok = fusion_for(trio, "none")
    a = train(plain, tok, pairs, cfg, device="cpu")
    b = train(kept, tok, pairs, cfg, device="cpu", retain=rows)
    assert a["curve"] != b["curve"]
    assert not all(torch.equal(x, y) for x, y in zip(plain.mask.logits, kept.mask.logits))


RETAIN_ROWS = [(p, c) for p, c, _ in PAIRS] + [(p, r) for p, _, r in PAIRS[:2]]


def _uneven_mask(fusion: Any) -> None:
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for logit in fusion.mask.logits:
            logit.copy_(3 * torch.randn(logit.shape, generator=gen))


def _count_reference_rows(fusion: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows per forward pass run with the fine-tuned model's weights (mask mode ``ones``)."""
    calls: list[int] = []
    last: list[str] = []
    weights, forward = fusion.weights, fusion.forward

    def spy_weights(mode: str, *args: Any, **kwargs: Any) -> Any:
        last[:] = [mode]
        return weights(mode, *args, **kwargs)

    def spy_forward(w: Any, **inputs: Any) -> Any:
        if last == ["ones"]:
            calls.append(int(inputs["input_ids"].shape[0]))
        return forward(w, **inputs)

    monkeypatch.setattr(fusion, "weights", spy_weights)
    monkeypatch.setattr(fusion, "forward", spy_forward)
    return calls


def test_kept_retain_reference_gives_the_same_losses_with_one_pass_per_row(
    trio: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fusion, tok = fusion_for(trio, "none")
    _uneven_mask(fusion)
    cfg = TrainConfig(steps=6, batch_size=4, retain_weight=1.0, seed=3)
    order = batch_order(len(RETAIN_ROWS), cfg)  # batches of 4 and 2: each epoch mixes rows anew
    chunks = [[RETAIN_ROWS[i] for i in idx] for idx in order]
    fresh = [  # the fine-tuned model scored again with every batch (as before the cache)
        retain_loss(fusion, rows, tok, cfg, torch.Generator(), "cpu", mode="expected").detach()
        for rows in chunks
    ]
    calls = _count_reference_rows(fusion, monkeypatch)
    ref = RetainReference(fusion, RETAIN_ROWS, tok, cfg, "cpu")
    gen = torch.Generator()
    kept = [
        retain_loss(
            fusion, rows, tok, cfg, gen, "cpu", mode="expected", reference=ref.logps(idx, gen)
        ).detach()
        for idx, rows in zip(order, chunks)
    ]
    assert sum(float(a) > 0 for a in fresh) >= 3  # the hinge is active: the values say something
    torch.testing.assert_close(torch.stack(kept), torch.stack(fresh), rtol=1e-5, atol=1e-6)
    assert sum(calls) == len(RETAIN_ROWS)  # each row scored once, over 6 batches
    assert len(calls) == 2  # the first epoch's two batches; later batches reuse the values


def test_training_scores_each_retain_row_once_with_the_finetuned_model(
    trio: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = [Pair(*p) for p in PAIRS]
    cfg = TrainConfig(steps=5, lr=0.1, batch_size=4, retain_weight=1.0, reference="noisy")
    fusion, tok = fusion_for(trio, "none")
    calls = _count_reference_rows(fusion, monkeypatch)
    out = train(fusion, tok, pairs, cfg, device="cpu", retain=RETAIN_ROWS)
    assert out["steps_run"] == 5
    assert sum(calls) == len(RETAIN_ROWS) and len(calls) < cfg.steps


def test_dare_retain_reference_is_drawn_again_per_call(trio: Any) -> None:
    fusion, tok = fusion_for(trio, "dare", n=2)
    cfg = TrainConfig(batch_size=4)
    ref = RetainReference(fusion, RETAIN_ROWS, tok, cfg, "cpu")
    gen = torch.Generator().manual_seed(0)
    first, second = ref.logps([0, 1], gen), ref.logps([0, 1], gen)
    assert not ref.cache and not torch.equal(first, second)


@pytest.mark.parametrize(
    ("method", "n", "mode"),
    [
        ("none", 1, "expected"),
        ("none", 1, "soft"),
        ("task-arithmetic", 2, "expected"),
        ("ties", 2, "expected"),
        ("dare", 2, "expected"),
        ("average", 2, "expected"),
    ],
)
def test_dpo_loss_falls_under_every_merge(trio: Any, method: str, n: int, mode: str) -> None:
    fusion, tok = fusion_for(trio, method, n=n)
    pairs = [Pair(*p) for p in PAIRS]
    cfg = TrainConfig(steps=30, lr=0.1, batch_size=4, schedule="constant", seed=0, mask_mode=mode)

    def expected_loss() -> float:
        # the expected mask, and DARE's drop fixed by one seed, so before and after compare
        with torch.no_grad():
            total = 0.0
            for seed in range(4):
                loss, _ = pair_loss(
                    fusion,
                    pairs,
                    tok,
                    cfg,
                    torch.Generator().manual_seed(seed),
                    "cpu",
                    mode="expected",
                )
                total += float(loss) / 4
            return total

    before = expected_loss()
    result = train(fusion, tok, pairs, cfg, device="cpu")
    after = expected_loss()
    assert after < 0.95 * before, (before, after)
    assert len(result["curve"]) == 30


# ---- exports ----


def test_binary_adapter_round_trips_through_peft(trio: Any, tmp_path: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    fusion, tok = fusion_for(trio, "none", init=1.0)
    base, safe, _ = trio
    weights = export.fused_weights(fusion, "binary-sample", seed=7)
    cfg = __import__("json").loads((safe / "adapter_config.json").read_text())
    folder = export.export_adapter(weights, cfg, str(base), tmp_path / "adapter_binary")
    ids = tok("How do I bake bread?", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        ours = fusion.forward(weights, input_ids=ids)
        with quiet_peft():
            loaded = PeftModel.from_pretrained(
                AutoModelForCausalLM.from_pretrained(str(base)), str(folder)
            )
        theirs = loaded(input_ids=ids).logits
        assert torch.allclose(ours, theirs, atol=1e-6)
        merged_dir = export.export_merged_lora(
            str(base), folder, tok, tmp_path / "merged", torch.float32
        )
        merged = AutoModelForCausalLM.from_pretrained(str(merged_dir))(input_ids=ids).logits
        assert (merged - ours).abs().max() < 1e-5
    assert not any("lora" in k for k in merged.__class__.__name__.lower().split())
    assert not (merged_dir / "adapter_config.json").exists()


def _digest(folder: Path) -> str:
    return hashlib.sha256((folder / "adapter_model.safetensors").read_bytes()).hexdigest()


def test_seeded_exports_are_identical_and_mask_round_trips(trio: Any, tmp_path: Path) -> None:
    fusion, _ = fusion_for(trio, "none")
    with torch.no_grad():
        for i, p in enumerate(fusion.mask.logits):
            p.normal_(0.0, 2.0, generator=torch.Generator().manual_seed(i))
    cfg = __import__("json").loads((trio[1] / "adapter_config.json").read_text())
    digests = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        weights = export.fused_weights(fusion, "binary-sample", seed=seed)
        digests.append(_digest(export.export_adapter(weights, cfg, "base", tmp_path / name)))
    assert digests[0] == digests[1] != digests[2]
    export.save_mask(fusion, tmp_path / "mask.safetensors")
    again, _ = fusion_for(trio, "none")
    export.load_mask(again, tmp_path / "mask.safetensors")
    for p, q in zip(fusion.mask.logits, again.mask.logits):
        assert torch.equal(p, q)
    soft = export.fused_weights(again, "soft", seed=5)
    assert all(
        torch.equal(v, export.fused_weights(fusion, "soft", seed=5)[k]) for k, v in soft.items()
    )


# ---- inputs that do not fit ----


def test_mismatched_inputs_are_one_line(trio: Any, tmp_path: Path) -> None:
    import json
    import shutil

    base, safe, tuned = trio
    other = tmp_path / "other_rank"
    shutil.copytree(tuned[0], other)
    cfg = json.loads((other / "adapter_config.json").read_text())
    cfg["r"] = 8
    (other / "adapter_config.json").write_text(json.dumps(cfg))
    cases = {
        "r=8": Sources(str(base), str(safe), (str(other),)),
        "not found": Sources(str(base), str(safe), (str(tmp_path / "nope"),)),
        "no adapter_config.json": Sources(str(base), str(safe), (str(base),)),
    }
    for needle, sources in cases.items():
        with pytest.raises(DataError) as info:
            load_fusion(
                sources,
                merge_config=merge.MergeConfig("none"),
                mask_init=0.0,
                temperature=0.5,
                rescale=True,
                device="cpu",
                dtype=torch.float32,
            )
        assert needle in str(info.value) and "\n" not in str(info.value)
    (other / "adapter_model.safetensors").unlink()
    with pytest.raises(DataError, match="no adapter_model"):
        load_fusion(
            Sources(str(base), str(safe), (str(other),)),
            merge_config=merge.MergeConfig("none"),
            mask_init=0.0,
            temperature=0.5,
            rescale=True,
            device="cpu",
            dtype=torch.float32,
        )
