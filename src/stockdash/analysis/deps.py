"""Dependency alias for the analysis service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from stockdash.analysis.service import AnalysisService
from stockdash.container import ContainerDep


async def get_analysis(container: ContainerDep) -> AnalysisService:
    """The app's analysis service."""
    return container.analysis


AnalysisDep = Annotated[AnalysisService, Depends(get_analysis)]
