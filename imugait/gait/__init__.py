"""imugait.gait stage: strides and gait events per leg, and the bilateral stride table."""

from imugait.gait.bouts import QUALITY_COLUMNS, STRIDE_COLUMNS, stride_table
from imugait.gait.scoring import EventScore, match_events, score_events
from imugait.gait.stride_types import Stride, StrideFlag
from imugait.gait.strides import StrideDetector, detect_strides

__all__ = [
    "QUALITY_COLUMNS",
    "STRIDE_COLUMNS",
    "EventScore",
    "Stride",
    "StrideDetector",
    "StrideFlag",
    "detect_strides",
    "match_events",
    "score_events",
    "stride_table",
]
