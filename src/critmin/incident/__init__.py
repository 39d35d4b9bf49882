"""Incidents: the Rapid Response Group's workflow from a trigger to a recorded decision.

Modules: :mod:`~critmin.incident.sharing` (stockpile sharing rules), :mod:`~critmin.incident.trigger`
(trigger -> scenario), :mod:`~critmin.incident.assess` (assessment for both partners),
:mod:`~critmin.incident.options` (response options, ranked), :mod:`~critmin.incident.tables` and
:mod:`~critmin.incident.store` (append-only storage), :mod:`~critmin.incident.service` (the
workflow called by the CLI and the web). See ``docs/incidents.md``.
"""
