"""api_runs (filled in as the libraries land)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api")
