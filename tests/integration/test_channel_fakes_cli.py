"""`campaign-engine fakes`: the printed settings point the real channels at the running fakes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from campaign_engine.channels.registry import make_channels
from campaign_engine.config import load_settings
from campaign_engine.fakes.recording import read_log
from tests.fakes_fixtures import email_message, sms_message, social_message


def test_fakes_command_prints_settings_that_reach_the_fakes(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "campaign_engine", "fakes", "--log", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        env: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                env[name] = value
            if "Ctrl-C" in line:
                break
        channels = make_channels(load_settings(env))
        results = [
            channels["email"].send([email_message(1)]),
            channels["sms"].send([sms_message(2)]),
            channels["social"].send([social_message(3)]),
        ]
        for channel in channels.values():
            channel.close()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert [r[0].outcome for r in results] == ["accepted"] * 3
    assert [r["delivery_id"] for r in read_log(tmp_path / "sendgrid.jsonl")] == ["1"]
    assert [r["to"] for r in read_log(tmp_path / "twilio.jsonl")] == ["+14155550100"]
    assert [r["delivery_id"] for r in read_log(tmp_path / "social.jsonl")] == [3]
