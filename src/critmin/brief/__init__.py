"""The ministerial briefing pack: PDF (Typst) and Excel (xlsxwriter) from the live analysis.

``critmin brief`` and the dashboard's brief job both call :func:`critmin.brief.service.generate`
(one workflow). Steps: :mod:`assemble` gathers every figure from the capabilities' public APIs
into tables (each row with the datasets it came from), :mod:`charts` draws the charts to SVG
with matplotlib, :mod:`typeset` writes the Typst document and compiles it to PDF, and
:mod:`workbook` writes one sheet per table and a Sources sheet. See docs/brief.md.
"""
