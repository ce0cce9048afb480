"""The deployment files in packaging/team are the ones the tests run, and say what they must."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from proxy.config.schema import load_config
from tests.team.engines import HAPROXY_TEMPLATE, haproxy_config

TEAM = Path(__file__).parents[2] / "packaging" / "team"


def test_haproxy_template_is_valid_and_never_resends_a_received_request(tmp_path: Path) -> None:
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(haproxy_config(40001, [40002, 40003, 40004]))
    done = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    text = HAPROXY_TEMPLATE.read_text()
    retry = [line.strip() for line in text.splitlines() if line.strip().startswith("retry-on")]
    assert retry == ["retry-on conn-failure"]  # not empty-response/response-timeout: billed twice
    assert "hdr Host {{HOST}}" in text  # the DNS-rebinding guard needs a Host it accepts
    assert re.search(r"timeout server \{\{TIMEOUT_SERVER\}\}", text)
    assert "timeout server 300s" in cfg.read_text()  # longer than a slow model's first token


def test_example_config_and_unit() -> None:
    config = load_config(TEAM / "config.example.json")
    assert config.state.on_redis_down == "fail_open" and config.state.redis_url is None  # URLs come from env
    unit = (TEAM / "switchboard@.service").read_text()
    assert "EnvironmentFile=/etc/switchboard/env" in unit and "--home /var/lib/switchboard/%i" in unit
    assert "NOT RUN here" in (TEAM / "compose.yaml").read_text()
