"""The benchmark runs on demand (``tests/bench/run_bench.py``), never as part of the test suite."""

collect_ignore_glob = ["*"]
