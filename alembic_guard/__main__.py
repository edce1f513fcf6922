import sys

from alembic_guard.cli import main

sys.exit(main())
