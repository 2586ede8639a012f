import sys

from lograd.cli import main

sys.exit(main())
