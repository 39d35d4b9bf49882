"""Complementary stockpiling: a two-partner two-stage stochastic LP solved with HiGHS.

Public API (see docs/stockpile.md):

* :func:`critmin.stockpile.plan.make_problem`, :func:`~critmin.stockpile.plan.plan`,
  :func:`~critmin.stockpile.plan.optimise`, :func:`~critmin.stockpile.plan.evaluate_stock`;
* :func:`critmin.stockpile.policy.policy_baselines`, :func:`~critmin.stockpile.policy.comparison_table`;
* :func:`critmin.stockpile.frontier.frontier`, :func:`~critmin.stockpile.frontier.write_frontier_html`;
* :mod:`critmin.stockpile.inputs` (scenarios from the disruption API, loss multiples from the
  assessment).
"""
