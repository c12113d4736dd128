"""The campaign report: :mod:`.collect` gathers a :class:`~.model.ReportData` from the API,
:mod:`.metrics` derives the figures from it and :mod:`.render` turns it into one self-contained
HTML page (inline SVG charts drawn here, no JavaScript needed to see them, nothing fetched)."""
