"""Early stopping under data-parallel training: the best weights are captured from the
``DistributedDataParallel``-wrapped model (keys ``module.*``) but restored after the
training core unwrapped it, so they must load into the bare model."""

from __future__ import annotations

import pytest
import torch
from skorch.history import History

from neuroattn.estimators._nets import ResumableEarlyStopping

dist = pytest.importorskip("torch.distributed")


class _Net:
    """What EarlyStopping reads of a skorch net."""

    def __init__(self, module):
        self.module_ = module
        self.history = History()
        self.verbose = 0


@pytest.fixture
def one_process_group():
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_best_weights_of_a_wrapped_model_load_into_the_unwrapped_one(one_process_group):
    torch.manual_seed(0)
    bare = torch.nn.Linear(3, 2)
    net = _Net(torch.nn.parallel.DistributedDataParallel(bare))
    cb = ResumableEarlyStopping(monitor="valid_loss", patience=5, load_best=True)
    cb.initialize()
    cb.on_train_begin(net)
    best = {k: v.clone() for k, v in bare.state_dict().items()}
    for epoch, loss in ((1, 1.0), (2, 2.0)):
        net.history.new_epoch()
        net.history.record("epoch", epoch)
        net.history.record("valid_loss", loss)
        cb.on_epoch_end(net)
        with torch.no_grad():  # later epochs change the weights
            bare.weight.add_(1.0)
    net.module_ = bare  # the core unwraps the model when training ends
    cb.on_train_end(net)
    for key, value in bare.state_dict().items():
        torch.testing.assert_close(value, best[key])
