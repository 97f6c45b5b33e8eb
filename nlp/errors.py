"""Errors of the analysis: one base, `AnalysisError`, and a subclass per cause with the fields that explain it."""

from __future__ import annotations

__all__ = ["AnalysisError", "ModelMissing", "ModelUnsuitable"]


class AnalysisError(Exception):
    """Base of every error the analysis raises on purpose."""


class ModelMissing(AnalysisError):
    """The spaCy model is not installed in this environment."""

    def __init__(self, model: str, package: str) -> None:
        self.model = model
        self.package = package
        super().__init__(
            f"the spaCy model {model!r} is not installed; install it with `pip install {package}` "
            f"(parole pins it in pyproject.toml)"
        )


class ModelUnsuitable(AnalysisError):
    """The spaCy model loads but lacks a component the analysis needs."""

    def __init__(self, model: str, component: str) -> None:
        self.model = model
        self.component = component
        super().__init__(f"the spaCy model {model!r} has no {component!r} component, which the analysis needs")
