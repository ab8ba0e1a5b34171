"""Server logs hold no personal data (issue 12, item 2): real API traffic against a real
`mexfi serve` with uvicorn's access log and mexfi's logging at debug level; nothing the
server process wrote holds a generated phone (in any formatting), FIN, name or card
number, nor anything the scanner takes for a phone, card or FIN."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from mexfi.scan import luhn_valid
from tests.api.leaks import Generated, TrafficLog, leaks
from tests.api.test_serve import REPO, _free_port

MEXFI = [sys.executable, "-m", "mexfi"]
GIVEN = ("Aysel", "Nigar", "Tural", "Rəşad", "Günel", "Elvin", "Ольга", "Səbinə")
SURNAMES = ("Məmmədova", "Hüseynli", "Quliyev", "Əliyeva", "Səfərov", "Иванова", "Kərimli")


def _card(rng: random.Random) -> str:
    while True:
        number = "4" + "".join(rng.choice("0123456789") for _ in range(15))
        if luhn_valid(number):
            return number


def _fin(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(7))


def _key(env: dict[str, str], policy: str, role: str) -> str:
    made = subprocess.run(
        [*MEXFI, "apikeys", "create", "--policy", policy, "--role", role, "--label", "log-test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return made.stdout.strip()


def _traffic(base: str, keys: dict[str, str], generated: Generated, rng: random.Random) -> None:
    """Registrations, reads, writes, finds, requests; validation errors, 404s, oddities."""

    def call(method: str, path: str, key: str, purpose: str | None = None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {key}", **kw.pop("headers", {})}
        if purpose:
            headers["X-Mexfi-Purpose"] = purpose
        return httpx.request(method, base + path, headers=headers, timeout=30, **kw)

    riders: list[str] = []
    for _ in range(4):
        phone = f"+994 {rng.choice(['50', '51', '55', '70', '77'])} {rng.randint(100, 999)} "
        phone += f"{rng.randint(10, 99)} {rng.randint(10, 99)}"
        given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
        card = _card(rng)
        generated.phones.add(phone)
        generated.names.add(f"{given} {surname}")
        generated.cards.add(card)
        body = {
            "policy_id": "bakikart",
            "kind": "rider",
            "lookup_phone": phone,
            "records": {
                "phone": {"phone": phone},
                "profile": {"first_name": given, "last_name": surname},
            },
        }
        made = call("POST", "/subjects", keys["bk"], "service_provision", json=body)
        assert made.status_code == 201, made.text
        riders.append(made.json()["id"])
        # The same phone again (409), digits only on find (200), a card where none may go.
        call("POST", "/subjects", keys["bk"], "service_provision", json=body)
        digits = "".join(c for c in phone if c.isdigit())
        call("POST", "/subjects/find", keys["bk"], json={"policy_id": "bakikart", "phone": digits})
        call(
            "POST",
            f"/subjects/{made.json()['id']}/records",
            keys["bk"],
            "service_provision",
            json={"category": "profile", "values": {"first_name": card, "bank_card": card}},
        )
        call(
            "POST",
            f"/subjects/{made.json()['id']}/read",
            keys["bk"],
            "service_provision",
            json={"categories": ["phone", "profile"]},
        )
        # An undeclared purpose (403), a bad body naming the phone in a wrong field (422).
        call(
            "POST",
            f"/subjects/{riders[-1]}/read",
            keys["bk"],
            "marketing",
            json={"categories": ["phone"]},
        )
        call("POST", "/subjects", keys["bk"], "service_provision", json={**body, "phone": phone})
        call(
            "POST", "/subjects/find", keys["bk"], json={"policy_id": "bakikart", "phone": card * 3}
        )
    for _ in range(3):
        phone = f"+99455{rng.randint(1000000, 9999999)}"
        name = f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}"
        fin = _fin(rng)
        generated.phones.add(phone)
        generated.names.add(name)
        generated.fins.add(fin)
        registration = {
            "full_name": name,
            "date_of_birth": "1990-04-01",
            "phone": phone,
            "licence_series": "AB",
            "licence_number": "123456",
            "licence_issued_on": "2012-04-01",
            "plate": "10-AB-123",
            "fin": fin,  # not a field of the category: refused, by name only
        }
        call(
            "POST",
            "/subjects",
            keys["tx"],
            "licence_agreement",
            json={
                "policy_id": "taxsee_driver",
                "kind": "driver",
                "lookup_phone": phone,
                "records": {"registration": registration},
            },
        )
        registration.pop("fin")
        call(
            "POST",
            "/subjects",
            keys["tx"],
            "licence_agreement",
            json={
                "policy_id": "taxsee_driver",
                "kind": "driver",
                "lookup_phone": phone,
                "records": {"registration": registration},
            },
        )
        # A written request with the author's details (TX-11): checked, dropped.
        for path in ("/requests/check", "/requests"):
            call(
                "POST",
                path,
                keys["dpo"],
                json={
                    "policy_id": "taxsee_driver",
                    "kind": "access",
                    "channel": "written",
                    "phone": phone,
                    "written": {"fin": fin, "full_name": name, "signed": True, "address": name},
                },
            )
    # Oddities: broken JSON holding a phone, wrong types, a huge body, NUL bytes, an unknown
    # id, a path of no route, a wrong method.
    phone = next(iter(generated.phones))
    call("POST", "/subjects", keys["bk"], "service_provision", content=f'{{"phone": "{phone}"')
    call(
        "POST",
        "/subjects",
        keys["bk"],
        "service_provision",
        content=phone.encode() + b"\xff\xfe",
        headers={"Content-Type": "application/json"},
    )
    call("POST", "/subjects/find", keys["bk"], json={"policy_id": ["bakikart"], "phone": [phone]})
    call(
        "POST",
        "/subjects/find",
        keys["bk"],
        json={"policy_id": "bakikart", "phone": phone + "\x00"},
    )
    call("POST", "/subjects/find", keys["bk"], json={"policy_id": "bakikart\x00", "phone": phone})
    call(
        "POST",
        "/scan",
        keys["dpo"],
        json={"text": f"call {phone}, card {next(iter(generated.cards))}"},
    )
    call(
        "POST", "/scan/redact", keys["dpo"], json={"text": f"{next(iter(generated.names))} {phone}"}
    )
    call("GET", "/subjects/" + "f" * 32, keys["bk"])
    call("POST", "/no-such-route", keys["bk"], json={"phone": phone})
    call("DELETE", "/subjects/find", keys["bk"], json={"phone": phone})
    call(
        "POST", f"/subjects/{riders[0]}/read", "mexfi_wrong", "service_provision", json={"x": phone}
    )


def test_nothing_personal_in_what_the_server_logged(tmp_path: Path) -> None:
    env = {**os.environ, "MEXFI_POLICY_DIR": str(REPO / "policies")}
    subprocess.run([*MEXFI, "init"], env=env, check=True, capture_output=True, timeout=120)
    keys = {
        "bk": _key(env, "bakikart", "service"),
        "tx": _key(env, "taxsee_driver", "system"),
        "dpo": _key(env, "taxsee_driver", "dpo"),
    }
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [*MEXFI, "serve", "--port", str(port), "--workers", "1", "--log-level", "debug"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        generated = Generated()
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    httpx.get(base + "/api/v1/health", timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            _traffic(base + "/api/v1", keys, generated, random.Random(12))
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = log.read_text(errors="replace")
    # The logs were on: a debug line of uvicorn's and an access line a request.
    assert "Application startup complete" in text and '"POST /api/v1/subjects HTTP/1.1" 201' in text
    assert text.count("HTTP/1.1") >= 40
    assert generated.phones and generated.fins and generated.names and generated.cards
    assert leaks(text, generated) == [], text


def test_the_check_finds_a_phone_in_any_formatting() -> None:
    generated = Generated(
        phones={"+994 50 444 55 66"}, fins={"5ZK2P7Q"}, cards={"4111111111111111"}
    )
    generated.names.add("Aysel Məmmədova")
    for text in ("tel 0504445566", "tel (050) 444-55-66", "994504445566", "+994 50 444 55 66"):
        assert leaks(text, generated, scan=False) == ["phone +994 50 444 55 66"], text
    assert leaks("x 4111 1111 1111 1111 y", generated, scan=False) == ["card 4111111111111111"]
    assert leaks("fin=5zk2p7q", generated, scan=False) == ["FIN 5ZK2P7Q"]
    assert leaks("by AYSEL MƏMMƏDOVA", generated, scan=False) == ["name Aysel Məmmədova"]
    assert leaks("id 95045044455660 and 1504445566", generated, scan=False) == []
    assert leaks('"GET /x?p=+994 50 111 22 33 HTTP/1.1" 404', Generated())[0].startswith(
        "scanner: PHONE"
    )


def test_the_session_collector_takes_bodies_and_finds_them_in_server_logs() -> None:
    # Loggers of its own: the session's collector must not see this test's planted leak.
    log = TrafficLog(loggers=("probe.server",))
    records = {"profile": {"first_name": "Tural"}, "phone": {"phone": "+994 70 123 45 67"}}
    body = json.dumps({"records": records}).encode()
    log.record_request(httpx.Request("POST", "http://x/", content=body))
    assert log.generated.phones == {"+994 70 123 45 67"} and log.generated.names == {"Tural"}
    log.install()
    try:
        logging.getLogger("probe.server.api").debug("looked up 0701234567")
        logging.getLogger("probe.client").warning("Tural, the client's own log: not the server's")
    finally:
        log.remove()
    assert log.leaks()[0] == "phone +994 70 123 45 67"
    assert not any("Tural" in line for line in log.lines)
