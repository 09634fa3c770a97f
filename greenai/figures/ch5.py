"""Figures of chapter 5 (thesis 5): the power-limit profile and the dispatch.

The dispatch figures are drawn by :mod:`greenai.dispatch.report` (beside the
solver they explain); they are named here after the thesis figures.
"""

from __future__ import annotations


def fig_5_1_power_limit_profile(profile):
    """Fig 5.1 / Table 5.1 drawn: duration and energy per job vs power limit."""
    from greenai.dispatch.report import fig_power_profile

    return fig_power_profile(profile)


def fig_5_4_solar_first_week(solar, hours: int = 168):
    """Fig 5.4: solar power over the first week."""
    from greenai.dispatch.report import fig_solar_week

    return fig_solar_week(solar, hours)


def fig_5_6_solar_vs_min_cost(table, solar, deadline_h: int = 23):
    """Fig 5.6: solar power beside the minimum cost per start hour for one deadline."""
    from greenai.dispatch.report import fig_solar_vs_cost

    return fig_solar_vs_cost(table, solar, deadline_h)


def fig_5_7_min_cost_by_start_hour(table):
    """Fig 5.7: minimum cost by start hour and deadline."""
    from greenai.dispatch.report import fig_cost_by_start

    return fig_cost_by_start(table)
