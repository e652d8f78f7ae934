"""opslib: the operations runbook of a price-monitoring scraping fleet, as code."""

__version__ = "0.1.0"
