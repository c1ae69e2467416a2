from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from bot.storage.privacy import (
    EMAIL,
    NUMBER,
    PHONE,
    SECRET_BYTES,
    SECRET_FILE,
    UserKeyer,
    load_or_create_secret,
    mask_personal_data,
)

PHONES = [
    "06 12 34 56 78",
    "0612345678",
    "+33 6 12 34 56 78",
    "+33612345678",
    "0033 6 12 34 56 78",
    "+33 (0)6 12 34 56 78",
    "06.12.34.56.78",
    "06-12-34-56-78",
    "01 45 17 60 00",
    "07\u00a012\u00a034\u00a056\u00a078",  # non-breaking spaces from a phone keyboard
    "+32 470 12 34 56",
]

EMAILS = [
    "jean.dupont@gmail.com",
    "lea_94@orange.fr",
    "prenom.nom+cio@ac-creteil.fr",
    "eleve2026@laposte.net",
    "jean @ gmail.com",
]

NUMBERS = [
    "123456",
    "123456789AB",  # INE
    "1234567890A",  # INE
    "4970 1012 3456 7890",  # card
    "4970.1012.3456.7890",
    "1 85 05 78 006 084 36",  # social security number
    "12 34 56",
    "061234567",  # phone with a digit missing
]

KEPT = [
    "94400",
    "94400 Vitry-sur-Seine",
    "j'habite au 94400",
    "la rentrée 2026",
    "rentrée 2025 2026",
    "2025-2026",
    "en 3e",
    "appelle le 119",
    "le 3020 ou le 3114",
    "119, 3020, 3114",
    "100 000 €",
    "le 12/05/2026 à 14h30",
    "j'ai 15 ans",
    "94400 2026",
    "seconde générale",
]


@pytest.mark.parametrize("phone", PHONES)
def test_masks_phone_numbers(phone: str) -> None:
    assert mask_personal_data(f"appelle-moi au {phone} stp") == f"appelle-moi au {PHONE} stp"


@pytest.mark.parametrize("phone", PHONES)
def test_masks_phone_at_sentence_edges(phone: str) -> None:
    assert mask_personal_data(f"{phone}.") == f"{PHONE}."
    assert mask_personal_data(f"tel:{phone}") == f"tel:{PHONE}"


@pytest.mark.parametrize("email", EMAILS)
def test_masks_emails(email: str) -> None:
    assert mask_personal_data(f"écris à {email}, merci") == f"écris à {EMAIL}, merci"


@pytest.mark.parametrize("number", NUMBERS)
def test_masks_long_numbers(number: str) -> None:
    assert mask_personal_data(f"mon numéro {number} ok") == f"mon numéro {NUMBER} ok"


@pytest.mark.parametrize("text", KEPT)
def test_keeps_postcodes_years_and_short_numbers(text: str) -> None:
    assert mask_personal_data(text) == text


def test_masks_several_items_and_keeps_context() -> None:
    text = "Je suis en 3e à 94400, 06 12 34 56 78 ou a.b@c.fr, INE 123456789AB, rentrée 2026"
    assert mask_personal_data(text) == (
        f"Je suis en 3e à 94400, {PHONE} ou {EMAIL}, INE {NUMBER}, rentrée 2026"
    )


def test_no_digit_run_survives() -> None:
    masked = mask_personal_data("0612345678 06.12.34.56.78 12345678901234 toto@x.com")
    assert not any(ch.isdigit() for ch in masked)


def test_secret_file_created_once_with_0600(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    keyer = UserKeyer.from_dir(data_dir)
    secret_path = data_dir / SECRET_FILE
    assert stat.S_IMODE(secret_path.stat().st_mode) == 0o600
    content = secret_path.read_bytes()
    assert len(content) == SECRET_BYTES
    mtime = secret_path.stat().st_mtime_ns

    again = UserKeyer.from_dir(data_dir)
    assert secret_path.read_bytes() == content
    assert secret_path.stat().st_mtime_ns == mtime
    assert again.key(123456789) == keyer.key(123456789)
    assert [p.name for p in data_dir.iterdir()] == [SECRET_FILE]  # no temp file left over


def test_key_is_hex_hmac_not_the_id(tmp_path: Path) -> None:
    key = UserKeyer.from_dir(tmp_path).key(987654321)
    assert len(key) == 64
    int(key, 16)
    assert "987654321" not in key
    assert key != UserKeyer.from_dir(tmp_path).key(987654322)


def test_key_differs_between_secrets(tmp_path: Path) -> None:
    first = UserKeyer.from_dir(tmp_path / "a")
    second = UserKeyer.from_dir(tmp_path / "b")
    secrets = [(tmp_path / name / SECRET_FILE).read_bytes() for name in ("a", "b")]
    assert secrets[0] != secrets[1]
    assert first.key(42) != second.key(42)
    assert UserKeyer(b"x" * 32).key(42) != UserKeyer(b"y" * 32).key(42)


def test_key_rejects_non_int(tmp_path: Path) -> None:
    keyer = UserKeyer(b"x" * 32)
    with pytest.raises(TypeError):
        keyer.key("42")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        keyer.key(True)
    with pytest.raises(ValueError):
        UserKeyer(b"short")
    assert "x" * 32 not in repr(keyer)


def test_corrupt_secret_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_bytes(b"too short")
    with pytest.raises(ValueError):
        UserKeyer.from_dir(tmp_path)
    assert (tmp_path / SECRET_FILE).read_bytes() == b"too short"


def test_concurrent_first_start_agrees_on_one_secret(tmp_path: Path) -> None:
    results: list[bytes] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        results.append(load_or_create_secret(tmp_path / SECRET_FILE))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert set(results) == {(tmp_path / SECRET_FILE).read_bytes()}
    assert [p.name for p in tmp_path.iterdir()] == [SECRET_FILE]
