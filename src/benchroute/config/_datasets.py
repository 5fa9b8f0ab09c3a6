"""The ``datasets:`` block of ``benchroute.yaml``: how ``benchroute dataset`` scrubs personal
data out of production logs before anything is written, and the defaults of its commands."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._conversation import check_regex


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecognizerSpec(_Strict):
    """A project's own kind of personal data (an employee id, a customer number): every match
    of ``regex`` is replaced by ``<ENTITY_n>``."""

    entity: str = Field(description="upper-case entity name, e.g. EMPLOYEE_ID (its placeholder tag)")
    regex: str = Field(description="regular expression of a value (Python syntax)")
    score: float = Field(default=0.9, ge=0, le=1, description="confidence given to a match")

    _check_regex = field_validator("regex")(check_regex)

    @field_validator("entity")
    @classmethod
    def _entity_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,39}", value):
            raise ValueError(f"entity {value!r}: use upper-case letters, digits and _ (e.g. EMPLOYEE_ID)")
        return value


class ScrubSpec(_Strict):
    """What the scrubber looks for."""

    entities: list[str] | None = Field(
        default=None, description="typed entities to find (default: every typed entity benchroute knows)"
    )
    names: bool = Field(default=True, description="find person names with the NER model")
    recognizers: list[RecognizerSpec] = Field(default_factory=list, description="the project's own patterns")
    fake: bool = Field(default=False, description="realistic fakes (Faker) instead of <TYPE_n> placeholders")


class DatasetsSpec(_Strict):
    """Defaults of ``benchroute dataset``."""

    scrub: ScrubSpec = Field(default_factory=ScrubSpec)
    golden_size: int = Field(default=100, ge=1, description="cases `dataset sample` draws by default")
    near_duplicate_threshold: float = Field(
        default=0.8, gt=0, le=1, description="Jaccard similarity from which `dataset dedupe` drops a case"
    )
