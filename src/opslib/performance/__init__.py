"""daily.performance: queue size and growth, processing rate, time to drain."""

from opslib.performance._queue import MetricsScrape, RateQuery, processing_rate, queue_size

__all__ = ["MetricsScrape", "RateQuery", "processing_rate", "queue_size"]
