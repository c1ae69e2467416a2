"""`python run_bot.py` as users start it: polls the (fake) Bot API, answers, stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from cli_runner import clean_env
from fake_bot_api import DEFAULT_USER_ID, TEST_TOKEN, FakeBotApi

from bot import messages
from bot.storage.store import DB_FILE

REPO = Path(__file__).resolve().parent.parent


def test_run_bot_answers_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with FakeBotApi() as fake:
        env = clean_env()
        env.update({
            "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "BOT_DATA_DIR": str(tmp_path / "data"),
            "PYTHONUNBUFFERED": "1",
        })
        fake.send_command("start")
        fake.send_text("c koi un cio")
        process = subprocess.Popen(
            [sys.executable, "run_bot.py"], cwd=REPO, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            fake.wait_for_calls("sendMessage", 2, timeout=30)
            welcome, answer = (m["text"] for m in fake.sent_messages(DEFAULT_USER_ID)[:2])
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=15)
        finally:
            _kill_if_running(process)

    assert process.returncode == 0, err
    assert welcome.startswith(messages.WELCOME[:40])
    assert answer.startswith("Qu'est-ce qu'un CIO ?")
    assert "Application started" in err  # the log is on, so the next check means something
    secret = TEST_TOKEN.split(":", 1)[1]
    assert TEST_TOKEN not in out + err and secret not in out + err
    assert (tmp_path / "data" / DB_FILE).exists()


def _kill_if_running(process: subprocess.Popen[str]) -> None:
    """Never leave a bot behind when a test fails half-way."""
    if process.poll() is None:
        process.kill()
        process.communicate()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_webhook_mode_registers_the_url_and_checks_the_secret(tmp_path: Path) -> None:
    port = _free_port()
    with FakeBotApi() as fake:
        env = clean_env()
        env.update({
            "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "BOT_DATA_DIR": str(tmp_path / "data"),
            "BOT_WEBHOOK_URL": "https://bot.example.org/telegram/hook",
            "BOT_WEBHOOK_PORT": str(port),
            "BOT_WEBHOOK_SECRET": "s3cret-Token_1",
        })
        process = subprocess.Popen(
            [sys.executable, "run_bot.py"], cwd=REPO, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            fake.wait_for_calls("setWebhook", 1, timeout=30)
            assert fake.webhook_url == "https://bot.example.org/telegram/hook"
            fake.add_chat(DEFAULT_USER_ID)
            update = {"update_id": 1, "message": {
                "message_id": 1, "date": int(time.time()), "text": "c koi un cio",
                "from": {"id": DEFAULT_USER_ID, "is_bot": False, "first_name": "Test"},
                "chat": {"id": DEFAULT_USER_ID, "type": "private", "first_name": "Test"},
            }}
            url = f"http://127.0.0.1:{port}/telegram/hook"
            assert _post(url, update, "wrong") == 403  # forged updates are refused
            assert _post(url, update, "s3cret-Token_1") == 200
            [sent] = fake.wait_for_calls("sendMessage", 1, timeout=10)
            assert sent.result["text"].startswith("Qu'est-ce qu'un CIO ?")
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=15)
        finally:
            _kill_if_running(process)
    assert process.returncode == 0, err
    assert TEST_TOKEN not in out + err


def _post(url: str, update: dict, secret: str) -> int:
    deadline = time.monotonic() + 10
    while True:  # the server may still be starting
        request = urllib.request.Request(
            url, data=json.dumps(update).encode(), method="POST",
            headers={"Content-Type": "application/json",
                     "X-Telegram-Bot-Api-Secret-Token": secret},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
