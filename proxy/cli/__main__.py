"""``python -m proxy.cli``: the headless command line."""

from proxy.cli.main import main

raise SystemExit(main())
