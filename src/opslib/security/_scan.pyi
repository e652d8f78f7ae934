# The compiled scanner (_scan.c); see opslib.security._fast.
from collections.abc import Callable
from typing import Any

class Parsed:
    def merge(
        self,
        ips: dict[bytes, Any],
        new_ip: Callable[[bytes, int], Any],
        judge: Callable[[bytes, bool], bool],
        key_for: Callable[[bytes, Any], tuple[bytes, Any] | None],
        is_tool: Callable[[bytes], bool],
        /,
    ) -> tuple[int, int, int, list[tuple[Any, bytes, bytes]]]: ...

def parse(chunk: bytes, since: int, refused: bytes, /) -> Parsed | None: ...
def v4_mark(marks: bytearray, ip: str, /) -> int: ...
