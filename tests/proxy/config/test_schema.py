"""Config models: defaults, the rules that keep keys and traffic safe, and precise error paths."""

from __future__ import annotations

import json

import pytest

from proxy.config.schema import GatewayConfig, config_json_schema, default_config, format_loc, load_config, parse_config
from proxy.domain.errors import ConfigError


def problems(data: object) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(json.dumps(data), "cfg.json")
    assert str(err.value).startswith("cfg.json: ")
    return err.value.problems


def test_defaults_are_safe():
    cfg = GatewayConfig()
    assert (cfg.server.host, cfg.server.port, cfg.server.require_auth) == ("127.0.0.1", 4141, True)
    assert cfg.server.allowed_origins == [] and cfg.logging.store_bodies is False


def test_default_config_serves_demo_and_discovered_servers():
    cfg = default_config(("ollama",))
    assert [p.id for p in cfg.providers] == ["demo", "ollama"]
    assert cfg.provider("ollama").effective_base_url == "http://127.0.0.1:11434/v1"
    assert {r.name for r in cfg.routes} == {"demo", "demo-embed"}


def test_schema_has_a_description_for_every_field():
    schema = config_json_schema()

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                assert "description" in prop, f"{path}.{name} has no description"
            for key, value in node.items():
                walk(value, f"{path}.{key}")

    walk(schema, "$")
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"server": {"port": 70000}}, "server.port: Input should be less than or equal to 65535"),
        ({"server": {"prot": 1}}, "server.prot: Extra inputs are not permitted"),
        ({"server": {"host": "0.0.0.0"}}, "not a loopback address"),
        ({"server": {"allowed_origins": ["*"]}}, "server.allowed_origins: "),
        ({"server": {"allowed_origins": ["null"]}}, "wildcards and 'null' are not allowed"),
        (
            {
                "providers": [
                    {"id": "a", "preset": "demo"},
                    {"id": "b", "preset": "custom", "base_url": "http://x/v1", "timeouts": {"connect": -1}},
                ]
            },
            "providers[1].base_url: plain http",
        ),
        (
            {"providers": [{"id": "a", "preset": "custom", "base_url": "https://x/v1", "timeouts": {"connect": -1}}]},
            "providers[0].timeouts.connect: Input should be greater than 0",
        ),
        (
            {"providers": [{"id": "a", "preset": "custom", "base_url": "https://x/v1", "timeouts": {"timout": 1}}]},
            "providers[0].timeouts.timout: Extra inputs are not permitted",
        ),
        ({"providers": [{"id": "m", "preset": "custom", "base_url": "http://169.254.169.254/v1"}]}, "link-local"),
        ({"providers": [{"id": "m", "preset": "custom", "base_url": "https://u:p@x.example/v1"}]}, "user name"),
        ({"providers": [{"id": "m", "preset": "custom", "base_url": "file:///etc/passwd"}]}, "http(s) URL"),
        ({"providers": [{"id": "m", "preset": "custom"}]}, "has no default base_url"),
        (
            {"providers": [{"id": "o", "preset": "openai"}]},
            'needs an API key: set `key` such as {"env": "OPENAI_API_KEY"}',
        ),
        (
            {"providers": [{"id": "o", "preset": "ollama", "headers": {"Authorization": "Bearer x"}}]},
            "carries credentials",
        ),
        ({"providers": [{"id": "o", "preset": "ollama", "key": {"env": "A", "keychain": "b"}}]}, "exactly one"),
        ({"providers": [{"id": "Bad Id", "preset": "demo"}]}, "providers[0].id: String should match pattern"),
        ({"providers": [{"id": "d", "preset": "demo"}, {"id": "d", "preset": "demo"}]}, "providers[1].id: duplicate"),
        (
            {
                "providers": [{"id": "d", "preset": "demo"}],
                "routes": [{"name": "r", "targets": [{"provider": "x", "model": "m"}]}],
            },
            "routes[0].targets[0].provider: unknown provider 'x'",
        ),
        ({"routes": [{"name": "r", "targets": []}]}, "routes[0]: set either `targets` or `variants`"),
        ({"schema_version": 99}, "unsupported schema_version 99"),
    ],
)
def test_invalid_configs_name_the_path(data, expected):
    found = problems(data)
    assert any(expected in p for p in found), found


def test_broken_json_names_line_and_column(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{\n  "server": {"port": 1,}\n}')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (
        str(err.value) == f"{path}: line 2 column 24: invalid JSON: Expecting property name enclosed in double quotes"
    )


def test_missing_file_and_wrong_top_level(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path / "nope.json")
    with pytest.raises(ConfigError, match="top level must be a JSON object"):
        parse_config("[]")


def test_roundtrip_and_secret_refs_hold_no_secrets():
    cfg = parse_config(json.dumps({"providers": [{"id": "o", "preset": "openai", "key": {"env": "OPENAI_API_KEY"}}]}))
    assert GatewayConfig.model_validate_json(cfg.model_dump_json()) == cfg
    assert cfg.provider("o").key.describe() == "environment variable OPENAI_API_KEY"


def test_format_loc():
    assert format_loc(("providers", 2, "timeouts", "connect")) == "providers[2].timeouts.connect"
    assert format_loc(("providers", 0, "headers", "X Bad")) == 'providers[0].headers["X Bad"]'
