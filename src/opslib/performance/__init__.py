"""daily.performance: queue size and growth, processing rate, time to drain."""

from opslib.performance._queue import RateQuery, processing_rate, queue_size

__all__ = ["RateQuery", "processing_rate", "queue_size"]
