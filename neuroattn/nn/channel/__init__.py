"""Channel-attention blocks: drop-in modules that re-weight feature channels (or electrodes).

Every block maps ``(batch, in_channels, time)`` to the same shape (a 4-D
``(batch, in_channels, height, time)`` input is accepted too: height and time are
flattened into one axis of positions and restored afterwards). Each is registered with
``kind="channel"`` so that any model reaches it by name, and each records the weights
it multiplies the input with (:class:`~neuroattn.nn.RecordsAttention`): ``(batch,
in_channels)`` for pure channel gates, ``(batch, in_channels, time)`` for blocks that
gate time as well (CBAM, CAT, coordinate attention, ELA, ULSAM).
:func:`channel_weights` reduces either to ``(batch, in_channels)``.

The mechanisms are the ones compared by Wimpff et al. (J. Neural Eng. 2024) plus
coordinate attention, efficient local attention, ULSAM and a gated descriptor, all
written for 1-D EEG feature maps. One module per family: :mod:`.squeeze` (descriptor
then excitation MLP), :mod:`.excitation` (light pure channel gates) and
:mod:`.temporal` (channel and time gates), on the shared base in ``_base``.
"""

from ._base import ChannelAttention, channel_weights
from .excitation import (
    ECA,
    GCT,
    SRM,
    GatedChannelAttention,
    GatherExcite,
    GatherExciteTheta,
    GatherExciteThetaPlus,
    SRMCross,
)
from .squeeze import FCA, EncNet, GSoP, SqueezeExcitation, SqueezeExcitationL2
from .temporal import CAT, CBAM, ELA, ULSAM, CATLite, CoordinateAttention

__all__ = [
    "ChannelAttention", "SqueezeExcitation", "SqueezeExcitationL2", "GSoP", "FCA", "EncNet",
    "ECA", "GatherExcite", "GatherExciteTheta", "GatherExciteThetaPlus", "GCT", "SRM",
    "SRMCross", "CBAM", "CAT", "CATLite", "CoordinateAttention", "ELA", "ULSAM",
    "GatedChannelAttention", "channel_weights",
]
