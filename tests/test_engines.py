"""Trainer and evaluator factories."""

import pytest
import torch
from ignite.engine import Events
from torch import nn

from ignite_fashion import SimpleCNN, build_evaluator, build_loaders, build_metrics, build_trainer, resolve_device
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
