"""``python -m proxy``: run the gateway headless (same as ``switchboard serve``)."""

import sys

from proxy.cli.main import main

if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args if args and args[0] == "serve" else ["serve", *args]))
