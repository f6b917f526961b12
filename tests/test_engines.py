"""Trainer and evaluator factories."""

import pytest
import torch
from ignite.engine import Events
from torch import nn

from ignite_fashion import (
    SimpleCNN,
    bf16_supported,
    build_evaluator,
    build_loaders,
    build_metrics,
    build_trainer,
    resolve_device,
    resolve_precision,
)
from ignite_fashion.handlers import attach_epoch_loss


def test_trainer_lowers_loss_in_two_epochs(tiny_dataset):
    loaders = build_loaders(tiny_dataset, tiny_dataset, batch_size=10, seed=0)
    model = SimpleCNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    trainer = build_trainer(model, optimizer, nn.CrossEntropyLoss())
    attach_epoch_loss(trainer)
    epoch_losses = []
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda engine: epoch_losses.append(engine.state.metrics["loss"]))
    evaluator = build_evaluator(model, build_metrics())
    before = evaluator.run(loaders.val).metrics["loss"]

    trainer.run(loaders.train, max_epochs=2)
    after = evaluator.run(loaders.val).metrics["loss"]

    assert len(epoch_losses) == 2
    assert epoch_losses[1] < epoch_losses[0]
    assert after < before
    assert trainer.state.iteration == 2 * len(loaders.train)


def test_trainer_output_is_batch_loss():
    model = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    trainer = build_trainer(model, optimizer, nn.CrossEntropyLoss())
    batch = (torch.tensor([[2.0, 0.0], [0.0, 0.0]]), torch.tensor([0, 1]))

    output = trainer.run([batch], max_epochs=1).output

    expected = nn.functional.cross_entropy(batch[0], batch[1]).item()
    assert output == pytest.approx(expected)


class RecordingModel(nn.Module):
    """Identity model that records its mode and whether gradients were on."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1))
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return x * self.weight


def test_evaluator_eval_mode_without_gradients():
    model = RecordingModel()
    model.train()
    evaluator = build_evaluator(model, build_metrics(num_classes=2))
    batch = (torch.tensor([[1.0, 0.0]]), torch.tensor([0]))

    evaluator.run([batch, batch])

    assert model.calls == [(False, False), (False, False)]
    assert model.weight.grad is None


def test_resolve_device_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown where CUDA is missing")
def test_resolve_device_cuda_missing():
    with pytest.raises(ValueError, match="device 'cuda' requested but CUDA is not available here: use --device cpu"):
        resolve_device("cuda")


def test_resolve_device_unknown_name():
    with pytest.raises(ValueError, match="invalid device 'gpu0'"):
        resolve_device("gpu0")


class AutocastRecordingModel(nn.Module):
    """SimpleCNN that records, per forward pass, whether bf16 autocast and inference mode were on."""

    def __init__(self):
        super().__init__()
        self.cnn = SimpleCNN()
        self.calls = []

    def forward(self, x):
        self.calls.append((torch.is_autocast_enabled("cpu"), torch.is_inference_mode_enabled()))
        return self.cnn(x)


class DtypeRecordingLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.dtypes = []

    def forward(self, logits, targets):
        self.dtypes.append(logits.dtype)
        return nn.functional.cross_entropy(logits, targets)


def image_batch(count=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count, 1, 28, 28, generator=generator), torch.arange(count) % 10


def test_channels_last_logits_equal_contiguous():
    model = SimpleCNN().eval()
    images, targets = image_batch()
    with torch.no_grad():
        expected = model(images)

    evaluator = build_evaluator(model, {}, channels_last=True)
    evaluator.run([(images, targets)])
    logits, _ = evaluator.state.output

    assert model.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(logits, expected, atol=1e-5)


def test_channels_last_training_step_matches_contiguous():
    torch.manual_seed(0)
    reference = SimpleCNN()
    converted = SimpleCNN()
    converted.load_state_dict(reference.state_dict())
    batch = image_batch(8)
    losses = []
    for model, channels_last in ((reference, False), (converted, True)):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        parameters_before = [id(parameter) for parameter in model.parameters()]
        trainer = build_trainer(model, optimizer, nn.CrossEntropyLoss(), channels_last=channels_last)
        losses.append(trainer.run([batch, batch], max_epochs=1).output)
        assert [id(parameter) for parameter in optimizer.param_groups[0]["params"]] == parameters_before

    assert losses[1] == pytest.approx(losses[0], abs=1e-5)
    for expected, actual in zip(reference.parameters(), converted.parameters()):
        assert torch.allclose(actual, expected, atol=1e-5)


def test_channels_last_skips_non_image_batches():
    model = nn.Linear(3, 2)
    trainer = build_trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss())

    output = trainer.run([(torch.ones(4, 3), torch.tensor([0, 1, 0, 1]))], max_epochs=1).output

    assert isinstance(output, float)


def test_evaluator_runs_in_inference_mode():
    model = AutocastRecordingModel()
    evaluator = build_evaluator(model, build_metrics())

    evaluator.run([image_batch()])

    assert model.calls == [(False, True)]


def test_bf16_trainer_autocasts_forward_only(monkeypatch):
    monkeypatch.setattr("ignite_fashion.engines.bf16_supported", lambda device="cpu": True)
    model = AutocastRecordingModel()
    loss_fn = DtypeRecordingLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    output = build_trainer(model, optimizer, loss_fn, precision="bf16").run([image_batch()], max_epochs=1).output

    assert model.calls == [(True, False)]
    assert loss_fn.dtypes == [torch.float32]
    assert isinstance(output, float)
    assert all(parameter.dtype == torch.float32 for parameter in model.parameters())
    assert all(parameter.grad.dtype == torch.float32 for parameter in model.parameters())


def test_bf16_evaluator_metrics_get_float32(monkeypatch):
    monkeypatch.setattr("ignite_fashion.engines.bf16_supported", lambda device="cpu": True)
    model = AutocastRecordingModel()

    evaluator = build_evaluator(model, build_metrics(), precision="bf16")
    evaluator.run([image_batch()])
    logits, _ = evaluator.state.output

    assert model.calls == [(True, True)]
    assert logits.dtype == torch.float32


def test_bf16_falls_back_with_one_warning(monkeypatch, recwarn):
    monkeypatch.setattr("ignite_fashion.engines.bf16_supported", lambda device="cpu": False)
    monkeypatch.setattr("ignite_fashion.engines._warned_bf16_fallback", False)
    model = AutocastRecordingModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    trainer = build_trainer(model, optimizer, nn.CrossEntropyLoss(), precision="bf16")
    evaluator = build_evaluator(model, build_metrics(), precision="bf16")
    trainer.run([image_batch()], max_epochs=1)
    evaluator.run([image_batch()])

    assert resolve_precision("bf16") == "fp32"
    assert model.calls == [(False, False), (False, True)]
    fallback_warnings = [warning for warning in recwarn if issubclass(warning.category, RuntimeWarning)]
    assert len(fallback_warnings) == 1
    assert "bf16 requested but cpu has no native bfloat16 support; running in fp32" in str(
        fallback_warnings[0].message
    )


def test_resolve_precision_rejects_unknown():
    with pytest.raises(ValueError, match="invalid precision 'fp16': use one of fp32, bf16"):
        resolve_precision("fp16")


@pytest.mark.parametrize(
    "capabilities, expected",
    [
        ({"architecture": "x86_64", "avx512_f": True, "avx512_bf16": False, "amx_bf16": False}, False),
        ({"architecture": "x86_64", "avx512_f": True, "avx512_bf16": True}, True),
        ({"architecture": "x86_64", "amx_bf16": True}, True),
        ({"architecture": "arm64", "bf16": True}, True),
        ({"architecture": "arm64", "neon": True}, False),
    ],
)
def test_bf16_supported_reads_cpu_capabilities(monkeypatch, capabilities, expected):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: capabilities)

    assert bf16_supported("cpu") is expected


def test_eval_batch_size_keeps_metrics():
    model = SimpleCNN()
    images, targets = image_batch(50, seed=4)
    small_batches = [(images[start : start + 7], targets[start : start + 7]) for start in range(0, 50, 7)]

    small = build_evaluator(model, build_metrics()).run(small_batches).metrics
    large = build_evaluator(model, build_metrics()).run([(images, targets)]).metrics

    assert small["accuracy"] == large["accuracy"]
    assert torch.equal(small["confusion_matrix"], large["confusion_matrix"])
    assert small["loss"] == pytest.approx(large["loss"], rel=1e-5)
