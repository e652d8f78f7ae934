"""Price extraction from product pages, for scrapers (the ``extraction`` extra).

``extract(page, domain)`` tries the domain's :class:`Pattern`, else scores the page's
structured data (JSON-LD, microdata, RDFa, Open Graph, script state) and its visible prices
with a small price-element model, and returns an :class:`Extraction`: price, currency, a
calibrated confidence and the method. ``evaluate_dir`` scores the engine on labelled pages.

``PatternStore(db).active(domain)`` is the domain's deployed pattern, cached (one small query
per ``cache_seconds``), for scrapers to pass to ``extract(page, domain, pattern=...)``.
"""

from opslib.extraction._decode import MAX_PAGE_BYTES
from opslib.extraction._engine import extract
from opslib.extraction._evaluate import Evaluation, PageResult, evaluate_dir
from opslib.extraction._store import PatternStore, PatternVersion, ReferencePage
from opslib.extraction._types import Extraction, Method, Pattern

__all__ = [
    "MAX_PAGE_BYTES",
    "Evaluation",
    "Extraction",
    "Method",
    "PageResult",
    "Pattern",
    "PatternStore",
    "PatternVersion",
    "ReferencePage",
    "evaluate_dir",
    "extract",
]
