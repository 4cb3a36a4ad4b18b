"""The cost engine: what training and inference cost on each backend, and when fine-tuning pays back.

Pure functions over per-example token counts and the catalogs (``ftrouter.catalog``); the CLI layer
(``ftrouter.cli.cost``) reads the dataset and renders the reports.
"""

from ftrouter.cost.calibration import MeasuredRun, measured_tokens_per_second, registry_runs
from ftrouter.cost.compare import Comparison, build_comparison
from ftrouter.cost.inference import (
    BreakEven,
    InferenceOption,
    Workload,
    break_even,
    fine_tuned_option,
    prompting_option,
    rag_option,
    self_hosted_option,
)
from ftrouter.cost.memory import (
    GpuFit,
    MemoryEstimate,
    estimate_memory,
    fit_on_gpu,
    methods_that_fit,
    smallest_fitting_gpu,
)
from ftrouter.cost.shapes import ModelShape, lora_trainable_params, resolve_shape, shape_from_params
from ftrouter.cost.training import billed_tokens, estimate_training, openai_default_epochs
from ftrouter.cost.types import Assumptions, TrainingEstimate

__all__ = [
    "Assumptions",
    "BreakEven",
    "Comparison",
    "GpuFit",
    "InferenceOption",
    "MeasuredRun",
    "MemoryEstimate",
    "ModelShape",
    "TrainingEstimate",
    "Workload",
    "billed_tokens",
    "break_even",
    "build_comparison",
    "estimate_memory",
    "estimate_training",
    "fine_tuned_option",
    "fit_on_gpu",
    "lora_trainable_params",
    "measured_tokens_per_second",
    "methods_that_fit",
    "openai_default_epochs",
    "prompting_option",
    "rag_option",
    "registry_runs",
    "resolve_shape",
    "self_hosted_option",
    "shape_from_params",
    "smallest_fitting_gpu",
]
