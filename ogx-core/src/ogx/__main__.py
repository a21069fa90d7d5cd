import sys

from ogx.cli.main import main

sys.exit(main())
