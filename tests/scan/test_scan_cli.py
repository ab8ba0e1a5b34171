"""`mexfi scan` and `mexfi redact` on a local Typer app, as the lead will mount them."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from mexfi.cli.app import main
from mexfi.cli.scan import bench_scan_command, redact_command, scan_command
from mexfi.errors import Invalid, NotFound
from mexfi.scan import pseudonym

app = typer.Typer()
app.command("scan")(scan_command)
app.command("redact")(redact_command)
runner = CliRunner()

PHONE = "+994 50 123 45 67"
ROWS = [
    {"id": "1", "text": f"Zəng edin {PHONE}", "lang": "az"},
    {"id": "2", "text": "Водитель Иванов Сергей Петрович", "lang": "ru"},
    {"id": "3", "text": "Promo NOVRUZ7, 12.50 AZN"},
]


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def test_scan_jsonl_writes_one_line_per_input(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", ROWS)
    target = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["scan", "--jsonl", str(source), "--out", str(target)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["1", "2", "3"]
    phone = lines[0]["entities"][0]
    assert ROWS[0]["text"][phone["start"] : phone["end"]] == PHONE
    assert set(phone) == {"type", "start", "end", "score"}
    assert [e["type"] for e in lines[1]["entities"]] == ["PERSON"]
    assert lines[2]["entities"] == []


def test_scan_jsonl_to_stdout_with_types(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", ROWS)
    result = runner.invoke(app, ["scan", "--jsonl", str(source), "--types", "person"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [len(line["entities"]) for line in lines] == [0, 1, 0]


def test_bad_jsonl_is_invalid_without_echoing_text(tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"id": "1", "text": 5}\n', encoding="utf-8")
    result = runner.invoke(app, ["scan", "--jsonl", str(source)])
    assert isinstance(result.exception, Invalid)
    assert "field 'text'" in str(result.exception)


def test_missing_input_is_not_found(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", "--jsonl", str(tmp_path / "none.jsonl")])
    assert isinstance(result.exception, NotFound)


def test_no_or_two_inputs_is_invalid(tmp_path: Path) -> None:
    assert isinstance(runner.invoke(app, ["scan"]).exception, Invalid)
    source = write_jsonl(tmp_path / "in.jsonl", ROWS)
    both = runner.invoke(app, ["scan", "--jsonl", str(source), str(source)])
    assert isinstance(both.exception, Invalid)


def test_scan_files_prints_a_summary_per_file(tmp_path: Path) -> None:
    txt = tmp_path / "notes.txt"
    txt.write_text(f"tel {PHONE}\nFİN 5ZK7R2M\n", encoding="utf-8")
    table = tmp_path / "orders.csv"
    table.write_text(f"id,comment\n1,zəng {PHONE}\n2,kart 4169 7388 0012 4418\n", encoding="utf-8")
    jsonl = write_jsonl(tmp_path / "chat.jsonl", ROWS)
    result = runner.invoke(app, ["scan", str(txt), str(table), str(jsonl)])
    assert result.exit_code == 0, result.output
    for name in ("notes.txt", "orders.csv", "chat.jsonl", "PHONE", "FIN", "CARD", "PERSON"):
        assert name in result.stdout
    assert PHONE not in result.stdout


def test_unsupported_file_type(tmp_path: Path) -> None:
    other = tmp_path / "x.pdf"
    other.write_bytes(b"%PDF")
    assert isinstance(runner.invoke(app, ["scan", str(other)]).exception, Invalid)


def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("CREATE TABLE trips (id INTEGER, note TEXT, contact TEXT, fare REAL)")
        )
        for index in range(40):
            connection.execute(
                sa.text("INSERT INTO trips VALUES (:i, :n, :c, :f)"),
                {"i": index, "n": "gecikdi, 12.50 AZN", "c": f"050 555 {index:02d} 34", "f": 7.8},
            )
    engine.dispose()
    return url


def test_scan_db_finds_an_undeclared_phone_column(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    result = runner.invoke(app, ["scan", "--db", url, "--table", "trips", "--full"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "contact" in line)
    assert "PHONE" in row and "40" in row and "1.00" in row
    note = next(line for line in result.stdout.splitlines() if "note" in line)
    assert "PHONE" not in note


def test_scan_db_sample_and_column(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    result = runner.invoke(
        app, ["scan", "--db", url, "--table", "trips", "--column", "contact", "--sample", "10"]
    )
    assert result.exit_code == 0, result.output
    assert "sample of 10 rows" in result.stdout


def test_scan_db_unknown_table_and_column(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    assert isinstance(
        runner.invoke(app, ["scan", "--db", url, "--table", "nope"]).exception, NotFound
    )
    missing = runner.invoke(app, ["scan", "--db", url, "--table", "trips", "--column", "x"])
    assert isinstance(missing.exception, NotFound)
    assert isinstance(
        runner.invoke(app, ["scan", "--db", "nodb://x", "--table", "t"]).exception, Invalid
    )


def test_redact_tag_and_mask(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", ROWS)
    tagged = runner.invoke(app, ["redact", str(source)])
    assert tagged.exit_code == 0, tagged.output
    assert json.loads(tagged.stdout.splitlines()[0])["text"] == "Zəng edin [PHONE]"
    masked = runner.invoke(app, ["redact", str(source), "--mode", "mask", "--keep-separators"])
    assert json.loads(masked.stdout.splitlines()[0])["text"] == "Zəng edin +*** ** *** ** **"


def mexfi(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Exit code, stdout and stderr (lines joined) of `mexfi ARGS` as the console script."""
    monkeypatch.setattr(sys, "argv", ["mexfi", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    captured = capsys.readouterr()
    return (code if isinstance(code, int) else 0), captured.out, " ".join(captured.err.split())


def test_redact_pseudonym_uses_the_store_key_as_the_vault_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mexfi.cli.context import open_vault

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    assert mexfi(monkeypatch, capsys, "keys", "init")[0] == 0
    source = tmp_path / "in.txt"
    source.write_text(f"tel {PHONE}\nnömrə 0501234567\ntel 0559998877\n", encoding="utf-8")
    code, out, err = mexfi(monkeypatch, capsys, "redact", str(source), "--mode", "pseudonym")
    assert code == 0, err
    first, second, third = (line.split()[-1] for line in out.splitlines())
    assert first == second != third and first.startswith("PHONE_")
    with open_vault() as vault:
        assert first == vault.value_pseudonym("PHONE", PHONE)
        assert third == vault.value_pseudonym("PHONE", "+994 55 999 88 77")
    # Another key, given: other pseudonyms, those of that key.
    other_key = b"other key 123456"
    key_file = tmp_path / "key"
    key_file.write_text(base64.b64encode(other_key).decode(), encoding="ascii")
    code, out, err = mexfi(
        monkeypatch, capsys, "redact", str(source), "--mode", "pseudonym", "--key-file",
        str(key_file),
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[0].split()[-1] == pseudonym("PHONE", PHONE, other_key) != first


def test_redact_pseudonym_without_a_store_or_key_says_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "nowhere"))
    source = write_jsonl(tmp_path / "in.jsonl", ROWS)
    code, out, err = mexfi(monkeypatch, capsys, "redact", str(source), "--mode", "pseudonym")
    assert code == 5 and out == ""
    assert "store's pseudonym key" in err and "--key-file" in err
    assert not (tmp_path / "nowhere" / "keys.json").exists()  # nothing created
    code, _, err = mexfi(monkeypatch, capsys, "redact", str(source), "--mode", "scramble")
    assert code == 3 and "unknown mode" in err


def test_bench_scan_without_presidio_prints_figures() -> None:
    bench = typer.Typer()
    bench.command("scan")(bench_scan_command)
    bench.command("other")(bench_scan_command)  # a group, so `scan` is a subcommand
    result = runner.invoke(bench, ["scan", "--repeat", "1", "--no-presidio"])
    assert result.exit_code == 0, result.output
    assert "MB/s" in result.stdout and "mexfi" in result.stdout and "PERSON" in result.stdout
