"""``python -m infra.local``: start the local stack (see ``--help``)."""

from infra.local.cli import main

raise SystemExit(main())
