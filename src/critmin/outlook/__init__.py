"""The outlook to 2040 (issue 17): demand by technology and scenario (:mod:`demand`), the supply
pipeline by country, stage and project (:mod:`pipeline`) and the gap with its uncertainty
(:mod:`gap`, pure; :mod:`service` wires them to the warehouse). See ``docs/outlook.md``."""
