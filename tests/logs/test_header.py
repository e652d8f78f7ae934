"""Headers of the common log formats told from the message; a header regex of one's own."""

from __future__ import annotations

import pytest

import opslib.logs._header as _header
from opslib.errors import ConfigError
from opslib.logs import HeaderParser
from tests.logs.conftest import load_dev_log

CASES = [  # (line, time, level, message)
    ("081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_3 "
     "terminating", "081109 203615 148", "INFO", "PacketResponder 1 for block blk_3 terminating"),
    ("[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] Directory index forbidden",
     "Sun Dec 04 04:47:44 2005", "error", "[client 1.2.3.4] Directory index forbidden"),
    ("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown",
     "Jun 14 15:16:01", None, "check pass; user unknown"),
    ("Dec 10 06:55:46 LabSZ sshd[24200]: pam_unix(sshd:auth): authentication failure",
     "Dec 10 06:55:46", None, "pam_unix(sshd:auth): authentication failure"),
    ("2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.MRAppMaster: Created MRAppMaster",
     "2015-10-18 18:01:47,978", "INFO", "Created MRAppMaster"),
    ("2015-10-18 18:01:52,066 INFO [IPC Server handler 3 on 62270] org.apache.hadoop.mapred."
     "TaskAttemptListenerImpl: Progress of TaskAttempt is : 0.0", "2015-10-18 18:01:52,066",
     "INFO", "Progress of TaskAttempt is : 0.0"),
    ("[10.30 16:54:08] chrome.exe *64 - proxy.cse.cuhk.edu.hk:5070 close, 0 bytes sent",
     "10.30 16:54:08", None, "proxy.cse.cuhk.edu.hk:5070 close, 0 bytes sent"),
    ("- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11"
     " RAS KERNEL INFO instruction cache parity error corrected", "1117838570 2005.06.03 "
     "R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872", None,
     "RAS KERNEL INFO instruction cache parity error corrected"),
    ("Jul  1 09:01:05 calvisitor-10-105-160-95 com.apple.CDScheduler[43]: Thermal pressure",
     "Jul 1 09:01:05", None, "Thermal pressure"),
    ("nova-compute.log.1.2017-05-16_13:55:31 2017-05-16 00:00:04.500 2931 INFO nova.compute."
     "manager [req-3ea4052c-895d - - - - -] [instance: b9000564-fe1a] VM Started",
     "2017-05-16 00:00:04.500 2931", "INFO", "[instance: b9000564-fe1a] VM Started"),
    ("2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:2181:Election@774] - "
     "Notification time out: 3200", "2015-07-29 17:41:44,747", "INFO",
     "Notification time out: 3200"),
    ("03-17 16:13:38.811  1702  2395 E WindowManager: freezing display", "03-17 16:13:38.811 "
     "1702 2395", "E", "freezing display"),
    ("20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
     "20171223-22:15:29:606 | Step_LSC | 30002312", None, "onStandStepChanged 3579"),
    ("2024-05-01T10:00:00.123Z ERROR scraper: fetch failed", "2024-05-01T10:00:00.123Z",
     "ERROR", "fetch failed"),
    ("PacketResponder 1 for block blk_3 terminating", None, None,
     "PacketResponder 1 for block blk_3 terminating"),
    ("Invalid user webmaster from 173.234.31.186", None, None,
     "Invalid user webmaster from 173.234.31.186"),
    ("", None, None, ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("line", "time", "level", "message"), CASES, ids=[c[3][:24] for c in CASES]
)
def test_header_and_message(line: str, time: str | None, level: str | None, message: str) -> None:
    header = HeaderParser().parse(line)
    assert (header.time, header.level, header.message) == (time, level, message)


def test_error_levels() -> None:
    parse = HeaderParser().parse
    assert parse("2024-05-01 10:00:00 ERROR x: boom").is_error
    assert parse("03-17 16:13:38.811 1 2 F Tag: boom").is_error
    assert not parse("2024-05-01 10:00:00 INFO x: fine").is_error
    assert not parse("no header at all").is_error


def test_a_header_pattern_of_ones_own() -> None:
    parser = HeaderParser(r"(?P<time>\S+) \[(?P<level>\w+)\] (?P<message>.*)")
    header = parser.parse("t1 [WARN] disk almost full")
    assert (header.time, header.level, header.message) == ("t1", "WARN", "disk almost full")
    assert parser.parse("does not match").message == "does not match"


@pytest.mark.parametrize("pattern", ["(unclosed", r"(?P<time>\S+) .*"])
def test_a_bad_header_pattern_is_a_config_error(pattern: str) -> None:
    with pytest.raises(ConfigError, match="header_pattern"):
        HeaderParser(pattern)


@pytest.mark.parametrize("name", ["Apache", "HDFS", "Linux", "OpenSSH"])
def test_a_decision_remembered_by_shape_is_the_one_the_scan_makes(name: str) -> None:
    parse = HeaderParser().parse
    for line in load_dev_log(name).raw:
        remembered = parse(line)
        _header._SHAPES.clear()
        assert parse(line) == remembered, line
