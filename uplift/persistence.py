"""Save and load fitted uplift estimators with the metadata a registry needs."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from uplift.errors import UpliftError
from uplift.estimators import UpliftClassifier, UpliftRegressor

FORMAT = "campaign-engine/uplift-model"
FORMAT_VERSION = 1
_LIBRARIES = ("causalml", "scikit-learn", "numpy", "pandas", "joblib")


@dataclass(frozen=True)
class ModelMetadata:
    """What a saved model was trained on and with."""

    estimator: str
    learner: str
    features: tuple[str, ...]
    treatments: tuple[Any, ...]
    control: Any
    n_train_rows: int
    cv_scores: dict[str, float] | None
    library_versions: dict[str, str]
    saved_at: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelArtifact:
    """A loaded model and its metadata."""

    model: UpliftClassifier | UpliftRegressor
    metadata: ModelMetadata


def library_versions() -> dict[str, str]:
    """Return the installed versions of Python and the libraries a model depends on."""
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def describe(
    model: UpliftClassifier | UpliftRegressor, extra: dict[str, Any] | None = None
) -> ModelMetadata:
    """Return the metadata of a fitted model."""
    if not hasattr(model, "model_"):
        raise UpliftError("only a fitted model can be saved: call fit first")
    return ModelMetadata(
        estimator=type(model).__name__,
        learner=model.learner_,
        features=tuple(str(n) for n in model.feature_names_in_),
        treatments=tuple(model.treatments_),
        control=model.control_,
        n_train_rows=model.n_train_rows_,
        cv_scores=dict(model.cv_scores_) if model.cv_scores_ is not None else None,
        library_versions=library_versions(),
        saved_at=datetime.now(UTC).isoformat(timespec="seconds"),
        extra=dict(extra or {}),
    )


def save_model(
    model: UpliftClassifier | UpliftRegressor, path: str | Path, extra: dict[str, Any] | None = None
) -> ModelMetadata:
    """Write a fitted model and its metadata to path with joblib; return the metadata."""
    import joblib

    meta = describe(model, extra)
    payload = {"format": FORMAT, "version": FORMAT_VERSION, "metadata": meta, "model": model}
    joblib.dump(payload, Path(path), compress=3)
    return meta


def load_model(path: str | Path) -> ModelArtifact:
    """Read a model written by save_model. Load only files you trust: this unpickles."""
    import joblib

    file = Path(path)
    if not file.is_file():
        raise UpliftError(f"no model file at {file}")
    from uplift.learners import quiet

    with quiet():  # unpickling imports causalml
        payload = joblib.load(file)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UpliftError(f"{file} is not a saved uplift model")
    if payload.get("version") != FORMAT_VERSION:
        raise UpliftError(
            f"{file} has model format version {payload.get('version')}; "
            f"this code reads version {FORMAT_VERSION}"
        )
    model, meta = payload["model"], payload["metadata"]
    if not isinstance(model, UpliftClassifier | UpliftRegressor) or not isinstance(
        meta, ModelMetadata
    ):
        raise UpliftError(f"{file} does not hold an uplift model and its metadata")
    return ModelArtifact(model=model, metadata=meta)
