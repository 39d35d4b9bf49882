"""Projects: the exploration-gap ranking (allied deposits with no registered project)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

import critmin.risk.api
from critmin.projects.gaps import calc_exploration_gaps, exploration_gaps


def test_exploration_gaps_ranked_by_watchlist() -> None:
    deps = pd.DataFrame(
        {
            "layer": ["PP1802", "PP1802", "MAJOR", "PP1802", "PP1802"],
            "country_iso3": ["AUS", "AUS", "CAN", "CHN", "USA"],
            "commodity_ids": [["gallium"], ["gallium", "rare_earths"], ["rare_earths"], ["gallium"], ["cobalt"]],
        }
    )
    watch = pd.DataFrame({"commodity_id": ["rare_earths", "gallium"], "joint_score": [0.9, 0.8]})
    out = calc_exploration_gaps(deps, [("rare_earths", "CAN")], frozenset({"AUS", "CAN", "USA"}), watch)
    rows = list(zip(out["commodity_id"], out["country_iso3"], out["n_deposits"], strict=True))
    # CAN rare earths has a project; CHN not allied; cobalt off the watchlist goes last
    assert rows == [("rare_earths", "AUS", 1), ("gallium", "AUS", 2), ("cobalt", "USA", 1)]
    assert out["watchlist_rank"].isna().tolist() == [False, False, True]
    assert out.loc[0, "projects_elsewhere"] == 1


class _Deposits:
    """A stand-in warehouse: only ``deposits()`` is read by :func:`exploration_gaps`."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df

    def deposits(self) -> pd.DataFrame:
        return self.df


def test_exploration_gaps_ranks_by_the_partners_watchlist(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[object, int]] = []

    def fake_assess(wh, consumers=None, year=2024):
        seen.append((consumers, year))
        return pd.DataFrame({"commodity_id": ["gallium", "rare_earths"], "rank": [1, 2], "joint_score": [0.7, 0.6]})

    monkeypatch.setattr(critmin.risk.api, "assess", fake_assess)
    monkeypatch.setenv("CRITMIN_RISK_CONSUMERS", "USA,KOR")
    deps = pd.DataFrame({"layer": ["PP1802", "MAJOR"], "country_iso3": ["AUS", "CAN"],
                         "commodity_ids": [["rare_earths"], ["gallium"]]})
    out = exploration_gaps(_Deposits(deps), [SimpleNamespace(commodity_id="gallium", host_country_iso3="AUS")], year=2023)
    assert seen == [(("USA", "KOR"), 2023)]  # the partners come from risk.consumers, not a literal pair
    assert list(zip(out["commodity_id"], out["country_iso3"], out["watchlist_rank"], strict=True)) == [
        ("gallium", "CAN", 1), ("rare_earths", "AUS", 2)]
    assert out["projects_elsewhere"].tolist() == [1, 0]


def test_exploration_gaps_without_deposits_is_an_error() -> None:
    empty = pd.DataFrame({"layer": [], "country_iso3": [], "commodity_ids": []})
    with pytest.raises(ValueError, match="no deposits"):
        exploration_gaps(_Deposits(empty), [])
