"""A network file that is wrong is one line naming the file, the location and the field, and the gateway does
not start on it; `server.py check-network` says so without serving."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import start_gateway
from settings import Settings
from sources.network.file import NetworkFileError, parse_network

ROOT = Path(__file__).resolve().parent.parent


# -- the one-line errors --------------------------------------------------------------------------
VALID_ENTRY = """[[locations]]
id = "dublin"
name = "Dublin"
kind = "pms"
base_url = "https://dublin.example.com"
timezone = "Europe/Dublin"
currency = "EUR"
tax_rate = 9
commission_rate = 10
latitude = 53.3
longitude = -6.2
town = "Dublin"
[locations.credentials]
api_key_env = "TEST_NET_CHECK_KEY"
"""


def _entry(old: str, new: str) -> str:
    assert old in VALID_ENTRY
    return VALID_ENTRY.replace(old, new)


INVALID: dict[str, str] = {
    "unknown-time-zone": _entry('"Europe/Dublin"', '"Europe/Dubln"'),
    "currency-not-iso": _entry('"EUR"', '"Euro"'),
    "rate-too-fine": _entry("tax_rate = 9", "tax_rate = 9.125"),
    "latitude-off-the-globe": _entry("latitude = 53.3", "latitude = 153.3"),
    "unknown-kind": _entry('kind = "pms"', 'kind = "fax"'),
    "literal-secret": _entry('api_key_env = "TEST_NET_CHECK_KEY"', 'api_key = "sk_live_123"'),
    "missing-credential": _entry('api_key_env = "TEST_NET_CHECK_KEY"', ""),
    "unset-variable": _entry("TEST_NET_CHECK_KEY", "TEST_NET_NOBODY_SET_THIS"),
    "missing-file": _entry('api_key_env = "TEST_NET_CHECK_KEY"', 'api_key_file = "no-such-file"'),
    "bad-id": _entry('id = "dublin"', 'id = "Dublin Hub"'),
    "missing-id-by-index": _entry('id = "dublin"', ""),
    "duplicate-id": VALID_ENTRY + VALID_ENTRY,
    "not-toml": "[[locations]\n",
}
EXPECTED: dict[str, str] = {
    "unknown-time-zone": 'location "dublin": timezone: unknown time zone "Europe/Dubln"',
    "currency-not-iso": 'location "dublin": currency: string should match pattern',
    "rate-too-fine": 'location "dublin": tax_rate: tax_rate has more than two decimals (9.125)',
    "latitude-off-the-globe": 'location "dublin": latitude: input should be less than or equal to 90',
    "unknown-kind": 'location "dublin": kind: input should be',
    "literal-secret": 'location "dublin": credentials.api_key: a secret is never written in the network file',
    "missing-credential": 'location "dublin": credentials: a pms location needs api_key_env or api_key_file',
    "unset-variable": 'location "dublin": credentials.api_key_env: environment variable TEST_NET_NOBODY_SET_THIS '
    "is not set",
    "missing-file": 'location "dublin": credentials.api_key_file: cannot read ',
    "bad-id": 'location "Dublin Hub": id: string should match pattern',
    "missing-id-by-index": "location #1: id: field required",
    "duplicate-id": 'location "dublin": id: names two locations',
    "not-toml": "not valid TOML",
}


@pytest.fixture
def check_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_NET_CHECK_KEY", "pms-key-from-the-environment")


@pytest.mark.parametrize("case", sorted(INVALID))
def test_an_invalid_file_is_one_line_naming_file_location_and_field(case: str, check_key: None, tmp_path: Path) -> None:
    path = tmp_path / "network.toml"
    with pytest.raises(NetworkFileError) as raised:
        parse_network(INVALID[case], path=path)
    line = str(raised.value)
    assert "\n" not in line
    assert line.startswith(f"{path}: {EXPECTED[case]}"), line
    assert "sk_live_123" not in line


def test_a_valid_file_reads_its_credentials_and_keeps_rates_exact(check_key: None, tmp_path: Path) -> None:
    network = parse_network(_entry("tax_rate = 9", "tax_rate = 13.5"), path=tmp_path / "network.toml")
    (location,) = network.locations
    assert location.credentials == {"api_key": "pms-key-from-the-environment"}
    assert location.fields.row_values()["tax_rate_bp"] == 1350


def _check_network(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "server.py", "check-network", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_check_network_says_ok_or_the_line_and_exits_accordingly(tmp_path: Path) -> None:
    path = tmp_path / "network.toml"
    path.write_text(VALID_ENTRY)
    ok = _check_network(path, TEST_NET_CHECK_KEY="k")
    assert (ok.returncode, ok.stdout.strip()) == (0, "ok: 1 locations"), ok.stderr
    unset = _check_network(path)
    assert unset.returncode == 1
    assert unset.stderr.strip() == (
        f'{path}: location "dublin": credentials.api_key_env: environment variable TEST_NET_CHECK_KEY is not set'
    )
    path.write_text(INVALID["unknown-time-zone"])
    serving = subprocess.run(
        [sys.executable, "server.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GATEWAY_NETWORK_FILE": str(path), "TEST_NET_CHECK_KEY": "k"},
    )
    assert serving.returncode == 1
    assert serving.stderr.strip() == f'{path}: location "dublin": timezone: unknown time zone "Europe/Dubln"'


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # uvicorn's startup exit
def test_the_gateway_does_not_start_on_an_invalid_file(own_database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "network.toml"
    path.write_text(INVALID["unknown-time-zone"])
    with pytest.raises(RuntimeError, match="did not start"):
        start_gateway(Settings(database_url=own_database_url, network_file=path, sync_scheduler=False))


# -- service categories ---------------------------------------------------------------------------------
CATEGORIES = '[locations.categories]\n"Rooms & Suites" = "room"\n'


def test_a_locations_categories_are_read_from_its_entry(check_key: None, tmp_path: Path) -> None:
    network = parse_network(VALID_ENTRY + CATEGORIES, path=tmp_path / "network.toml")

    assert network.category_mappings == {"dublin": {"Rooms & Suites": "room"}}


def test_a_category_mapped_outside_the_vocabulary_stops_the_gateway_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "network.toml"
    path.write_text(VALID_ENTRY + CATEGORIES)
    serving = subprocess.run(
        [sys.executable, "server.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "GATEWAY_NETWORK_FILE": str(path),
            "GATEWAY_NETWORK_CATEGORIES": '["hair", "spa"]',
            "TEST_NET_CHECK_KEY": "k",
        },
    )

    assert serving.returncode == 1
    assert serving.stderr.strip() == (
        f'{path}: location "dublin": categories: "Rooms & Suites" maps to "room", which is not a network category'
    )


def test_settings_refuse_a_mapping_outside_the_vocabulary() -> None:
    with pytest.raises(ValueError, match='"Coupe" maps to "cut", which is not one of network_categories'):
        Settings(network_categories=["hair"], category_mappings={"paris": {"Coupe": "cut"}})
