"""The training history of the core's nets: skorch's ``History``, with batch losses
read from the device when someone looks, not at every batch.

skorch records ``loss.item()`` after every batch, which on a GPU waits for the batch to
finish before the next can be queued. :class:`LossHistory` keeps the batch's loss
tensor instead and writes the floats in one device-to-host copy when the history is
next read -- by a callback during the epoch (``net.history[-1, "batches", -1,
"train_loss"]``, a progress bar, a logger), or at the latest when the epoch's loop
ends. A reader that indexes the history sees floats, as with skorch's ``History``
(a callback that keeps a reference to an epoch's dict from before its batches ran
sees the values as they were then); nobody reading means one copy an epoch.
"""

from __future__ import annotations

from typing import Any

import torch
from skorch.history import History

__all__ = ["LossHistory"]


class LossHistory(History):
    """skorch's :class:`~skorch.history.History` with deferred batch losses.

    :meth:`hold` records a batch loss as a tensor still on its device; every read of
    the history (indexing, iteration, :meth:`to_list`, pickling) first writes the held
    losses as floats (:meth:`flush`). Writes (``record``, ``record_batch``,
    ``new_batch``) do not read, so they leave held losses on the device.
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._pending: list[tuple[dict, str, torch.Tensor]] = []

    # ----------------------------------------------------------- held losses
    def hold(self, attr: str, loss: torch.Tensor | float) -> None:
        """Record ``loss`` (a scalar tensor, any device) as the current batch's ``attr``;
        its value is read when the history is next read (a float is recorded as is)."""
        entry = list.__getitem__(self, -1)["batches"][-1]
        if not isinstance(loss, torch.Tensor):  # already on the host
            entry[attr] = float(loss)
            return
        entry[attr] = float("nan")  # never seen: any read flushes first
        self.__dict__.setdefault("_pending", []).append((entry, attr, loss.detach()))

    def flush(self) -> None:
        """Write the held losses as floats, in one device-to-host copy."""
        pending = self.__dict__.get("_pending")
        if not pending:
            return
        self._pending = []
        values = torch.stack([t.float().reshape(()) for _, _, t in pending]).cpu().tolist()
        for (entry, attr, _), value in zip(pending, values):
            entry[attr] = value

    # ------------------------------------------------ writes: no device read
    def new_batch(self) -> None:
        list.__getitem__(self, -1)["batches"].append({})

    def record(self, attr: str, value: Any) -> None:
        if not len(self):
            raise ValueError("Call new_epoch before recording for the first time.")
        list.__getitem__(self, -1)[attr] = value

    def record_batch(self, attr: str, value: Any) -> None:
        list.__getitem__(self, -1)["batches"][-1][attr] = value

    def clear(self) -> None:
        self._pending = []
        super().clear()

    # ---------------------------------------------------- reads: flush first
    def __getitem__(self, i: Any) -> Any:
        self.flush()
        return super().__getitem__(i)

    def __iter__(self):
        self.flush()
        return super().__iter__()

    def to_list(self) -> list:
        self.flush()
        return list(super().__iter__())

    def __repr__(self) -> str:
        self.flush()
        return super().__repr__()

    def __eq__(self, other: object) -> bool:
        self.flush()
        return super().__eq__(other)

    __hash__ = None  # a list

    def __getstate__(self) -> dict:
        self.flush()
        return {k: v for k, v in self.__dict__.items() if k != "_pending"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._pending = []
