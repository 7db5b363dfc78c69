"""``python -m vireid_core``: see :mod:`vireid_core.cli`."""

from vireid_core.cli import main

raise SystemExit(main())
