import sys

from opslib.cli import main

sys.exit(main())
