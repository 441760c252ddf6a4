import sys

from gaitsae.cli import main

sys.exit(main())
