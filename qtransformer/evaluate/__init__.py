"""Evaluation stage: classification metrics, model size in bits, BOPs, reports."""

from __future__ import annotations

from .costs import model_costs
from .metrics import accuracy_on_test, classification_metrics
from .report import write_report

__all__ = ["classification_metrics", "model_costs", "accuracy_on_test", "write_report"]
