"""``bridge ivvy …`` as a real subprocess against the sandbox iVvy over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bridge.config import load_config
from bridge.ivvy.sandbox import SANDBOX_KEY, SANDBOX_SECRET, SandboxServer
from tests.sandbox.conftest import Inspector
from tests.support.configs import TOKEN, write_config

URL = "https://bridge.example/hooks/ivvy"
STAFF_KEY, STAFF_SECRET = "staff-key", "staff-secret-value"
IVVY_SOURCE = """
  ivvy:
    type: ivvy
    topics:
      - arn:aws:sns:ap-southeast-2:123456789012:iVvy_Account_41_5b0x_NotifCrm
"""


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    credentials = {SANDBOX_KEY: SANDBOX_SECRET, STAFF_KEY: STAFF_SECRET}
    with SandboxServer(credentials=credentials, primary_keys=frozenset({SANDBOX_KEY})) as made:
        yield made


@pytest.fixture
def config(tmp_path: Path, sandbox: SandboxServer) -> Path:
    return write_config(tmp_path, ivvy_url=sandbox.url, rules="  []", extra_sources=IVVY_SOURCE)


def bridge(
    config: Path, *args: str, key: str = SANDBOX_KEY, secret: str = SANDBOX_SECRET
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BRIDGE_CONFIG": str(config),
        "IVVY_API_KEY": key,
        "IVVY_API_SECRET": secret,
        "WEBSITE_TOKEN": TOKEN,
    }
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", "ivvy", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_ping_accepts_good_credentials_and_explains_bad_ones(config):
    done = bridge(config, "ping")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("iVvy at http://127.0.0.1:")
    assert "accepted the credentials (server time 20" in done.stdout
    refused = bridge(config, "ping", secret="not-the-secret")
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("bridge ivvy ping: iVvy refused the credentials (check ivvy.key")
    assert "not-the-secret" not in refused.stderr


def test_ping_without_an_answer_says_so(tmp_path):
    with SandboxServer() as gone:
        url = gone.url
    path = write_config(tmp_path, ivvy_url=url, rules="  []")
    done = bridge(path, "ping")
    assert done.returncode == 1
    assert done.stderr.startswith("bridge ivvy ping: could not reach iVvy")


def test_users_and_venues_list_ids_names_and_emails(config):
    users = bridge(config, "users")
    assert users.returncode == 0, users.stderr
    lines = users.stdout.splitlines()
    assert lines[0].split() == ["id", "name", "email", "status"]
    assert any(
        line.split() == ["2", "Sam", "Patel", "events@venue.example", "active"] for line in lines
    )
    assert any(line.endswith("inactive") for line in lines)
    venues = bridge(config, "venues", "--json")
    assert venues.returncode == 0, venues.stderr
    found = yaml.safe_load(venues.stdout)
    harbourside = {
        "id": 1,
        "businessName": "Harbourside Conference Centre",
        "emailAddress": "hello@harbourside.example",
        "timezone": "Australia/Sydney",
    }
    assert harbourside in found


def test_subscribe_prints_the_yaml_that_makes_the_source_accept_the_topics(config, sandbox):
    done = bridge(config, "subscribe", "--url", URL, "--endpoints", "crm,payments")
    assert done.returncode == 0, done.stderr
    pasted = yaml.safe_load(done.stdout)
    topics = pasted["sources"]["ivvy"]["topics"]
    assert topics[0].endswith("_NotifCrm")  # already configured: kept, not repeated
    assert topics[1].endswith("_NotifPayments")
    assert len(topics) == 2
    assert "# new" in done.stdout.splitlines()[-1]
    assert "crm: arn:aws:sns:" in done.stderr and "run this command again" in done.stderr
    stored = Inspector(sandbox.url).get("subscriptions")
    assert sorted(s["scope"] for s in stored) == ["account:crm", "account:payments"]
    # Pasting the printed YAML gives a config whose ivvy source accepts exactly those topics.
    text = config.read_text().replace(IVVY_SOURCE, "")
    text = text.replace(
        "sources:\n", "sources:\n" + done.stdout.split("sources:\n", 1)[1] + "\n", 1
    )
    config.write_text(text)
    source = load_config(config, env_for_load()).sources["ivvy"]
    assert source.sns.topics == frozenset(topics)
    # Once listed, a second run has nothing new to add.
    again = bridge(config, "subscribe", "--url", URL, "--endpoints", "crm,payments")
    assert again.returncode == 0 and "nothing to change" in again.stderr


def env_for_load() -> dict[str, str]:
    return {"IVVY_API_KEY": SANDBOX_KEY, "IVVY_API_SECRET": SANDBOX_SECRET, "WEBSITE_TOKEN": TOKEN}


def test_subscribe_one_venue(config, sandbox):
    done = bridge(config, "subscribe", "--url", URL, "--venue", "1")
    assert done.returncode == 0, done.stderr
    assert "venue 1: arn:aws:sns:" in done.stderr
    assert len(yaml.safe_load(done.stdout)["sources"]["ivvy"]["topics"]) == 2
    refused = bridge(config, "subscribe", "--url", URL, "--venue", "99")
    assert refused.returncode == 1
    assert "venue 99: NOT subscribed: The API key has no access to this venue" in refused.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--url", "http://bridge.example/hooks/ivvy"], "must be an https address"),
        (["--url", "https://bridge.example/ivvy"], "must end in /hooks/SOURCE"),
        (["--url", "https://bridge.example/hooks/website"], "is of type form, not ivvy"),
        (["--url", URL, "--endpoints", "crm,bookings"], "unknown endpoint bookings"),
        (["--url", URL, "--endpoints", "crm", "--venue", "1"], "leave out --endpoints"),
    ],
)
def test_subscribe_refuses_what_cannot_work(config, sandbox, args, said):
    done = bridge(config, "subscribe", *args)
    assert done.returncode == 1
    assert done.stderr.startswith("bridge ivvy subscribe: ") and said in done.stderr
    assert Inspector(sandbox.url).get("subscriptions") == []


def test_unsubscribe_explains_each_result(config, sandbox):
    assert bridge(config, "subscribe", "--url", URL, "--endpoints", "crm,venues").returncode == 0
    done = bridge(config, "unsubscribe", "--url", URL, "--endpoints", "crm,payments")
    assert done.returncode == 1
    assert "crm: not confirmed: the subscription was never confirmed" in done.stdout
    assert "(result 6)" in done.stdout
    assert (
        "payments: not found: this URL has no subscription to this feed (result 4)" in done.stdout
    )
    inspector = Inspector(sandbox.url)
    for subscription in inspector.get("subscriptions"):
        inspector.post(f"subscriptions/{subscription['id']}/confirm")
    done = bridge(config, "unsubscribe", "--url", URL, "--endpoints", "crm,venues")
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines() == [
        "crm: unsubscribed (result 1)",
        "venues: unsubscribed (result 1)",
    ]
    assert inspector.get("subscriptions") == []


def test_a_key_that_is_not_the_primary_users_is_told_why(config, sandbox):
    for command in ("subscribe", "unsubscribe"):
        done = bridge(config, command, "--url", URL, key=STAFF_KEY, secret=STAFF_SECRET)
        assert done.returncode == 1
        assert done.stderr.startswith(
            f"bridge ivvy {command}: iVvy refused (403): only the account's primary user"
        )
        assert STAFF_SECRET not in done.stderr
