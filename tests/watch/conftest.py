"""The real webhook receiver of tests/notify."""

from tests.notify.conftest import webhook

__all__ = ["webhook"]
