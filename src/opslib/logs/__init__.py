"""Error patterns from logs: an online template miner (``opslib logs patterns``).

:class:`PatternMiner` takes lines (str or bytes) one at a time, tells the header from the
message (:class:`HeaderParser`), masks the variable parts and groups messages into
:class:`Pattern` templates in bounded memory. :func:`save_baseline` / :func:`load_baseline`
and :func:`new_patterns` tell which patterns a stored run did not have.
"""

from opslib.logs._baseline import load_baseline, new_patterns, save_baseline
from opslib.logs._check import LogStreams, error_patterns, recent_log_lines
from opslib.logs._header import Header, HeaderParser
from opslib.logs._mask import WILDCARD, domains_in, mask
from opslib.logs._miner import OTHER_ID, Pattern, PatternMiner
from opslib.logs._text import read_lines
from opslib.logs._time import parse_log_time

__all__ = [
    "OTHER_ID",
    "WILDCARD",
    "Header",
    "HeaderParser",
    "LogStreams",
    "Pattern",
    "PatternMiner",
    "domains_in",
    "error_patterns",
    "load_baseline",
    "mask",
    "new_patterns",
    "parse_log_time",
    "read_lines",
    "recent_log_lines",
    "save_baseline",
]
