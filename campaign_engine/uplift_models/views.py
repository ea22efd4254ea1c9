"""Read-only summaries of uplift models for the admin models pages and the CLI, as plain data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from campaign_engine.campaigns.spec import CampaignType
from campaign_engine.errors import InvalidQuery, NotFound
from campaign_engine.ingest.batch import problems_of
from campaign_engine.models import (
    Campaign,
    CampaignMember,
    Contact,
    UpliftModel,
    UpliftModelVersion,
    UpliftScore,
    UpliftScoringRun,
)
from campaign_engine.uplift_models.metrics import profit_curve
from campaign_engine.uplift_models.registry import get_model, get_version, model_spec, versions_of
from campaign_engine.uplift_models.scoring import latest_run
from uplift import LEARNERS

OUTCOMES = ("conversion", "revenue", "margin")
# What one unit of each outcome is called on the charts and in the CLI.
OUTCOME_UNITS = {"conversion": "conversions", "revenue": "revenue", "margin": "margin"}
# The policy chart's defaults when neither the query nor the model gives one.
DEFAULT_AUDIENCE = 1000  # only when the store has no contacts
DEFAULT_VALUE = 1.0  # profit then counts incremental conversions
CAMPAIGN_TYPES: tuple[str, ...] = tuple(str(t) for t in get_args(CampaignType))


@dataclass(frozen=True)
class VersionRow:
    """One trained version as the pages list it."""

    id: int
    version: int
    status: str
    learner: str
    outcome: str
    qini_model: float | None
    qini_propensity: float | None
    n_rows: int
    campaign_ids: list[int]
    trained_at: datetime
    trained_by: str | None
    promoted_at: datetime | None

    @property
    def beats_propensity(self) -> bool | None:
        """Whether the model ranks better than response propensity on its held-out members."""
        if self.qini_model is None or self.qini_propensity is None:
            return None
        return self.qini_model > self.qini_propensity


def version_row(version: UpliftModelVersion) -> VersionRow:
    """Copy what the pages show of a version."""
    qini = version.metrics.get("normalised_qini") or {}
    return VersionRow(
        id=version.id,
        version=version.version,
        status=version.status,
        learner=version.learner,
        outcome=version.outcome,
        qini_model=qini.get("model"),
        qini_propensity=qini.get("propensity"),
        n_rows=version.n_rows,
        campaign_ids=list(version.campaign_ids),
        trained_at=version.trained_at,
        trained_by=version.trained_by,
        promoted_at=version.promoted_at,
    )


@dataclass(frozen=True)
class RunRow:
    """A scoring run as the pages show it."""

    id: int
    version: int
    status: str
    as_of: datetime
    batches: int
    batches_done: int
    scored: int
    started_at: datetime
    finished_at: datetime | None
    error: str | None


def _run_row(session: Session, run: UpliftScoringRun | None) -> RunRow | None:
    if run is None:
        return None
    number = session.scalar(
        select(UpliftModelVersion.version).where(UpliftModelVersion.id == run.version_id)
    )
    return RunRow(
        id=run.id,
        version=int(number or 0),
        status=run.status,
        as_of=run.as_of,
        batches=run.batches,
        batches_done=run.batches_done,
        scored=run.scored,
        started_at=run.started_at,
        finished_at=run.finished_at,
        error=run.error,
    )


@dataclass(frozen=True)
class ModelRow:
    """A model with its definition, promoted version and last scoring run."""

    id: int
    name: str
    description: str
    spec: dict[str, Any]
    versions: int
    promoted: VersionRow | None
    last_run: RunRow | None
    train_requested_at: datetime | None
    train_requested_by: str | None


def _model_row(
    session: Session, model: UpliftModel, versions: list[UpliftModelVersion]
) -> ModelRow:
    promoted = next((v for v in versions if v.status == "promoted"), None)
    return ModelRow(
        id=model.id,
        name=model.name,
        description=model.description,
        spec=model_spec(model),
        versions=len(versions),
        promoted=version_row(promoted) if promoted else None,
        last_run=_run_row(session, latest_run(session, model.id)),
        train_requested_at=model.train_requested_at,
        train_requested_by=model.train_requested_by,
    )


def list_model_rows(session: Session) -> list[ModelRow]:
    """Return every model by name, with its promoted version and last scoring run."""
    models = list(session.scalars(select(UpliftModel).order_by(UpliftModel.name)))
    return [_model_row(session, m, versions_of(session, m.id)) for m in models]


def describe_model(session: Session, model_ref: int | str) -> dict[str, Any]:
    """Return a model, its versions (newest first) and last scoring run as JSON-ready data."""
    model = get_model(session, model_ref)
    versions = versions_of(session, model.id)
    row = asdict(_model_row(session, model, versions))
    return row | {"versions": [asdict(version_row(v)) for v in versions]}


@dataclass(frozen=True)
class CampaignChoice:
    """A campaign with a holdout, which can train or evaluate a model."""

    id: int
    code: str
    name: str
    type: str
    started_at: datetime | None
    members: int
    holdout: int


def holdout_campaigns(session: Session) -> list[CampaignChoice]:
    """Return the campaigns with holdout members, most recently started first."""
    control = func.sum(case((CampaignMember.group == "control", 1), else_=0))
    rows = session.execute(
        select(Campaign, func.count(CampaignMember.contact_id), control)
        .join(CampaignMember, CampaignMember.campaign_id == Campaign.id)
        .group_by(Campaign.id)
        .having(control > 0)
        .order_by(Campaign.started_at.desc(), Campaign.id.desc())
    ).all()
    return [
        CampaignChoice(
            id=c.id,
            code=c.code,
            name=c.name,
            type=c.type,
            started_at=c.started_at,
            members=int(members),
            holdout=int(holdout),
        )
        for c, members, holdout in rows
    ]


@dataclass(frozen=True)
class ModelForm:
    """What the define/edit form shows: current values and the choices it offers."""

    model_id: int | None
    values: dict[str, Any]
    campaigns: list[CampaignChoice]
    learners: tuple[str, ...] = LEARNERS
    outcomes: tuple[str, ...] = OUTCOMES
    campaign_types: tuple[str, ...] = CAMPAIGN_TYPES


BLANK_SPEC: dict[str, Any] = {
    "name": "",
    "description": "",
    "outcome": "conversion",
    "learner": "auto",
    "training": {"campaigns": [], "campaign_types": [], "days": 365},
    "retrain_days": None,
    "auto_promote": False,
    "value": None,
    "cost": None,
}


def model_form(
    session: Session, model_id: int | None, values: dict[str, Any] | None = None
) -> ModelForm:
    """Return the form of a new model (None) or of a stored one; `values` as posted, if any."""
    if values is None:
        values = BLANK_SPEC if model_id is None else model_spec(get_model(session, model_id))
    return ModelForm(model_id=model_id, values=values, campaigns=holdout_campaigns(session))


class PolicyQuery(BaseModel):
    """The policy chart's inputs from the query string; None takes the model's default."""

    model_config = ConfigDict(extra="ignore")

    version: Annotated[int, Field(ge=1)] | None = None
    audience: Annotated[int, Field(ge=1, le=1_000_000_000)] | None = None
    value: Annotated[float, Field(ge=0, le=1e9)] | None = None
    cost: Annotated[float, Field(ge=0, le=1e9)] | None = None


def parse_policy_query(args: Mapping[str, str]) -> PolicyQuery:
    """Return the page options in `args`, or raise InvalidQuery naming every bad one."""
    data = {key: value for key, value in args.items() if value.strip()}
    try:
        return PolicyQuery.model_validate(data)
    except ValidationError as error:
        raise InvalidQuery("the chart options have invalid values", problems_of(error)) from None


@dataclass(frozen=True)
class Policy:
    """Expected incremental outcome and profit by share contacted, and the most profitable share."""

    audience: int
    value: float
    cost: float
    rows: list[dict[str, float]]
    best: dict[str, float]


def policy_of(metrics: dict[str, Any], audience: int, value: float, cost: float) -> Policy | None:
    """Return the policy curve of a version's metrics (None without curves)."""
    if not metrics.get("curves"):
        return None
    rows = profit_curve(metrics, audience, value, cost)
    best = max(rows, key=lambda row: (row["profit"], -row["share"]))  # ties: contact fewer
    return Policy(audience=audience, value=value, cost=cost, rows=rows, best=best)


@dataclass(frozen=True)
class ModelPage:
    """A model's page: definition, versions, the selected version's metrics and policy."""

    model: ModelRow
    versions: list[VersionRow]
    selected: VersionRow | None
    metrics: dict[str, Any]
    policy: Policy | None
    unit: str
    can_roll_back: bool


def _first(*values: Any) -> Any:
    return next(v for v in values if v is not None)


def model_page(session: Session, model_id: int, query: PolicyQuery) -> ModelPage:
    """Return a model's page, on `query.version` (else the promoted, else the newest version)."""
    model = get_model(session, model_id)
    versions = versions_of(session, model.id)
    if query.version is not None:
        chosen: UpliftModelVersion | None = get_version(session, model, query.version)
    else:
        chosen = next((v for v in versions if v.status == "promoted"), None) or next(
            iter(versions), None
        )
    metrics = chosen.metrics if chosen else {}
    contacts = int(session.scalar(select(func.count(Contact.id))) or 0)
    policy = policy_of(
        metrics,
        _first(query.audience, contacts or None, DEFAULT_AUDIENCE),
        _first(query.value, model.value, DEFAULT_VALUE),
        _first(query.cost, model.cost, 0.0),
    )
    promoted = any(v.status == "promoted" for v in versions)
    earlier = any(v.promoted_at is not None and v.status != "promoted" for v in versions)
    return ModelPage(
        model=_model_row(session, model, versions),
        versions=[version_row(v) for v in versions],
        selected=version_row(chosen) if chosen else None,
        metrics=metrics,
        policy=policy,
        unit=OUTCOME_UNITS[model.outcome],
        can_roll_back=promoted and earlier,
    )


def version_detail(session: Session, model_ref: int | str, number: int) -> dict[str, Any]:
    """Return one version with its features, library versions and full held-out metrics."""
    version = get_version(session, get_model(session, model_ref), number)
    return asdict(version_row(version)) | {
        "features": version.features,
        "library_versions": version.library_versions,
        "metrics": version.metrics,
    }


def contact_score(session: Session, model_ref: int | str, contact_id: int) -> dict[str, Any]:
    """Return a contact's current score under a model, or raise NotFound when unscored."""
    model = get_model(session, model_ref)
    row = session.execute(
        select(UpliftScore, UpliftModelVersion.version)
        .join(UpliftModelVersion, UpliftModelVersion.id == UpliftScore.version_id)
        .where(UpliftScore.model_id == model.id, UpliftScore.contact_id == contact_id)
    ).first()
    if row is None:
        raise NotFound(f"contact {contact_id} has no score under model {model.name!r}")
    score, version = row
    return {
        "model": model.name,
        "contact_id": contact_id,
        "version": version,
        "score": score.score,
        "percentile": score.percentile,
        "scored_at": score.scored_at,
    }
