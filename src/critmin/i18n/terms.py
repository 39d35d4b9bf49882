"""Terms and machine-written notes of critmin's records, in the reader's language.

* :func:`term` -- the label of an enumerated value of a record (a project's stage, status and
  financing instrument, a reference price's comparability): the value itself is the id, the
  label is a catalogue message.
* :func:`machine_text` -- the notes critmin's own analysis writes into its records in English
  (the net-import-reliance note of a stage not performed at home, the trade proxy of the
  simulator, the descriptions of market signals). Each is recognised by a pattern of the code
  that writes it and rewritten through a catalogue message with the same figures; a text no
  pattern knows (a publisher's own wording, a registry note) is returned unchanged: it stays as
  published.

Both are identities in English.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from functools import cache

from critmin.i18n import N_, gettext_for

__all__ = ["TERMS", "machine_text", "term"]

#: labels of enumerated record values, by kind (critmin.projects.models and the markets' reference table)
TERMS: dict[str, dict[str, str]] = {
    "project_stage": {
        "mine": N_("mine"), "processing": N_("processing"), "refining": N_("refining"), "recycling": N_("recycling"),
        "magnets": N_("magnets"), "batteries": N_("batteries"), "catalysts": N_("catalysts"),
        "optical": N_("optical"), "other": N_("other"),
    },
    "project_status": {
        "announced": N_("announced"), "feasibility": N_("feasibility"), "permitting": N_("permitting"),
        "financing": N_("financing (development status)"), "construction": N_("construction"), "operating": N_("operating"),
        "suspended": N_("suspended"),
    },
    "instrument": {
        "grant": N_("grant"), "loan": N_("loan"), "guarantee": N_("guarantee"), "equity": N_("equity"),
        "offtake": N_("offtake"), "insurance": N_("insurance"),
    },
    "visibility": {"joint": N_("joint")},  # US and JP are shown as the codes
    "comparability": {"poor": N_("comparability poor"), "fair": N_("comparability fair"),
                      "good": N_("comparability good")},
}


#: tooltips the dashboard's number formatting (critmin.web.formatting.published_title) writes in
#: English; shown through :func:`machine_text`, which looks a whole text up in the catalogue first
SHOWN_TEXTS = (N_("as published by the USGS"), N_("withheld to avoid disclosing company data (USGS)"),
               N_("net exporter (USGS)"), N_("not available (USGS)"))


def term(kind: str, value: object, lang: str) -> str:
    """The label of ``value`` of ``kind`` (:data:`TERMS`) in ``lang``; an unknown value as given."""
    v = str(value)
    if lang == "en":  # the value is its own English label (a message may be disambiguated)
        return v
    msg = TERMS[kind].get(v)
    return gettext_for(lang)(msg) if msg is not None else v


_NUM = r"[-\d.,eE+]+"
#: (pattern of the English text as critmin's code writes it, catalogue message with the same
#: named fields). Applied in order, each as a substitution; the writers are named beside each.
PATTERNS: tuple[tuple[str, str], ...] = (
    # critmin.risk.exposure (a stage not performed at home)
    (r"stage not performed at home: all supply imported \((?P<flows>[^()]*)\)",
     N_("stage not performed at home: all supply imported ({flows})")),
    (r", own next stage F=(?P<f>\S+ t)", N_(", own use at the next stage F={f}")),
    (r"; exports above imports without production \(re-exports, residues or secondary output\)",
     N_("; exports above imports without production (re-exports, residues or secondary output)")),
    # critmin.disruption.inputs (the trade source of a partner without bilateral data)
    (r"world production shares \(proxy: no BACI or Comtrade partner data\)",
     N_("world production shares (proxy: no BACI or Comtrade partner data)")),
    # critmin.markets.reference (below-market price)
    (r"(?P<flow>\S+->\S+) HS (?P<hs>\S+) \((?P<source>[^,()]+), reported by (?P<rep>[^()]+)\) (?P<year>\d{4}): "
     rf"unit value (?P<uv>{_NUM}) USD/kg vs reference (?P<ref>\S+) (?P<rv>{_NUM}) USD/kg "
     rf"\(ratio (?P<ratio>{_NUM}); comparability (?P<comp>\w+)\)",
     N_("{flow} HS {hs} ({source}, reported by {rep}) {year}: unit value {uv} USD/kg vs reference {ref} {rv} "
        "USD/kg (ratio {ratio}; {comp})")),
    # critmin.markets.signals (price discrimination across destinations)
    (r"(?P<exp>\S+) (?P<what>\S+) \((?P<source>[^()]+)\) (?P<year>\d{4}): unit value to (?P<hi>\S+) "
     rf"(?P<uvhi>{_NUM}) USD/kg vs (?P<lo>\S+) (?P<uvlo>{_NUM}) USD/kg \(x(?P<ratio>{_NUM})\); "
     rf"Kruskal-Wallis H=(?P<h>{_NUM}), p=(?P<p>{_NUM}) over (?P<n>\d+) destinations",
     N_("{exp} {what} ({source}) {year}: unit value to {hi} {uvhi} USD/kg vs {lo} {uvlo} USD/kg (x{ratio}); "
        "Kruskal-Wallis H={h}, p={p} over {n} destinations")),
    # critmin.markets.signals (structural break)
    (r"(?P<flow>\S+->\S+) (?P<what>\S+) \((?P<source>[^()]+)\): break in (?P<when>\S+), "
     rf"geometric-mean quantity x(?P<ratio>{_NUM}) \((?P<before>\S+) vs (?P<after>\S+)\)",
     N_("{flow} {what} ({source}): break in {when}, geometric-mean quantity x{ratio} ({before} vs {after})")),
    # critmin.markets.signals (volume change around an event)
    (r"(?P<flow>\S+->\S+) (?P<what>\S+) \((?P<source>[^()]+)\): mean monthly quantity (?P<post>\S+) t in "
     rf"(?P<pw>\S+) vs (?P<pre>\S+) t in (?P<prw>\S+) \(ratio (?P<ratio>{_NUM}), Mann-Whitney p=(?P<p>\S+)\) "
     r"around (?P<event>\S+)",
     N_("{flow} {what} ({source}): mean monthly quantity {post} t in {pw} vs {pre} t in {prw} "
        "(ratio {ratio}, Mann-Whitney p={p}) around {event}")),
    (r"^not flagged: ", N_("not flagged: ")),
    # critmin.projects.clock (why a project is not on track)
    (r"^project suspended$", N_("project suspended")),
    (r"permitting milestone '(?P<name>[^']*)' overdue by (?P<days>\d+) days \(target (?P<date>[\d-]+)\)",
     N_("permitting milestone '{name}' overdue by {days} days (target {date})")),
    (r"financing deadline (?P<date>[\d-]+) passed without financial close \(status (?P<status>\w+)\)",
     N_("financing deadline {date} passed without financial close (status {status})")),
    # critmin.risk.chain (a net exporter without recorded production)
    (r"^E \((?P<flows>[^()]*)\): net exporter without recorded production \(secondary or by-product supply\)",
     N_("E ({flows}): net exporter without recorded production (secondary or by-product supply)")),
)


@cache
def _compiled() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(p), m) for p, m in PATTERNS)


def machine_text(text: object, lang: str, commodity: Callable[[str], str] | None = None) -> str:
    """``text`` with every note of critmin's own analysis it contains in ``lang`` (see module doc);
    ``commodity`` names a commodity id the note names (a market signal's commodity)."""
    s = "" if text is None else str(text)
    if lang == "en" or not s:
        return s
    _ = gettext_for(lang)
    if _(s) != s:  # a whole message of the catalogue (SHOWN_TEXTS, a term)
        return _(s)
    for rx, msg in _compiled():
        def repl(m: re.Match[str], msg: str = msg) -> str:
            fields = m.groupdict()
            if commodity is not None and fields.get("what"):
                with contextlib.suppress(KeyError, LookupError):  # an HS code, not an id: as written
                    fields["what"] = commodity(fields["what"])
            if "status" in fields:
                fields["status"] = term("project_status", fields["status"], lang)
            if "comp" in fields:
                fields["comp"] = term("comparability", fields["comp"], lang)
            return _(msg).format(**fields)
        s = rx.sub(repl, s)
    return s
