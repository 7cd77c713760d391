"""Clinical analysis on strides: stance knee hyperextension and left/right loading asymmetry.

- :mod:`~imugait.analysis.hyperextension`: per-stride rule and per-leg flag (biomechanics.md §1.4).
- :mod:`~imugait.analysis.hyperext_check`: streaming :class:`HyperextensionCheck`, table columns.
- :mod:`~imugait.analysis.impact`: shank/foot impact peak, loading rate, loading-response flexion.
- :mod:`~imugait.analysis.asymmetry`: SI/SR with bootstrap CI, flags, offloaded side (§4).
- :mod:`~imugait.analysis.summary`: the ``summary.json`` sections.
"""

from __future__ import annotations

from .asymmetry import (
    DEFAULT_METRICS,
    AsymmetryReport,
    Metric,
    MetricAsymmetry,
    SensorConfiguration,
    analyse_asymmetry,
    sensor_configuration,
    steady_strides,
)
from .hyperext_check import (
    HYPEREXT_COLUMNS,
    HyperextensionCheck,
    add_hyperextension_columns,
    hyperextension_frame,
)
from .hyperextension import (
    HyperextensionParams,
    LegHyperextension,
    StrideHyperextension,
    severity_band,
    stride_hyperextension,
    summarize_leg,
)
from .impact import (
    IMPACT_COLUMNS,
    ImpactMetrics,
    LongAxis,
    add_impact_columns,
    add_lr_flexion_column,
    impact_metrics,
    loading_response_flexion,
    resultant_impact_metrics,
    segment_long_axis,
)
from .summary import asymmetry_section, build_summary, hyperextension_section

__all__ = [
    "DEFAULT_METRICS",
    "HYPEREXT_COLUMNS",
    "IMPACT_COLUMNS",
    "AsymmetryReport",
    "HyperextensionCheck",
    "HyperextensionParams",
    "ImpactMetrics",
    "LegHyperextension",
    "LongAxis",
    "Metric",
    "MetricAsymmetry",
    "SensorConfiguration",
    "StrideHyperextension",
    "add_hyperextension_columns",
    "add_impact_columns",
    "add_lr_flexion_column",
    "analyse_asymmetry",
    "asymmetry_section",
    "build_summary",
    "hyperextension_frame",
    "hyperextension_section",
    "impact_metrics",
    "loading_response_flexion",
    "resultant_impact_metrics",
    "segment_long_axis",
    "sensor_configuration",
    "severity_band",
    "steady_strides",
    "stride_hyperextension",
    "summarize_leg",
]
