"""Request and response models of the HTTP API (kept apart from storage and library types)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Visibility = Literal["US", "JP", "joint"]


class Me(BaseModel):
    name: str
    role: str
    government: str
    sees: list[str]
    can_write: bool


class JobCreated(BaseModel):
    job_id: str
    status: str
    url: str


class Job(BaseModel):
    job_id: str
    kind: str
    owner: str
    visibility: Visibility
    status: Literal["queued", "running", "done", "failed", "cancelled", "interrupted"]
    progress: float = Field(ge=0, le=1)
    message: str | None
    spec: dict[str, Any]
    seed: int | None
    result: dict[str, Any] | None
    error: str | None
    created_at: str
    finished_at: str | None


class JobList(BaseModel):
    jobs: list[Job]


class Table(BaseModel):
    """A table of records with provenance columns (``dataset_id``, ``source_line``) where known."""

    model_config = ConfigDict(extra="allow")
    columns: list[str]
    rows: list[dict[str, Any]]


class ErrorDetail(BaseModel):
    """An error: a message, or (validation errors) a list of {loc, msg, type}."""

    detail: str | list[dict[str, Any]]


def _err(text: str) -> dict[str, Any]:
    return {"model": ErrorDetail, "description": text}


#: error answers every API route may give (documented in the OpenAPI schema)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: _err("Not authenticated (no session, or an unknown or revoked bearer token)"),
    403: _err("The role may not do this, or the CSRF token is missing or wrong"),
    404: _err("No such record, or a record the caller may not see (the two are not distinguished)"),
    400: _err("The request cannot be read (malformed body, path or parameters)"),
    409: _err("A stale write: the record changed since the version you edited (reload and retry)"),
    413: _err("The request body is larger than the limit (setting web.max_body_bytes)"),
    422: _err("The request is invalid; the message names the field and what was expected"),
    429: _err("Too many requests or jobs (quota); retry after the Retry-After seconds"),
    503: _err("The operational store cannot be reached or is locked; retry after the Retry-After seconds"),
}
