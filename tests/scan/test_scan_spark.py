"""Scale-out on PySpark `local[2]`: the same output schema as `mexfi scan --jsonl`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'mexfi[spark]')")
if shutil.which("java") is None:
    pytest.skip("PySpark needs a Java runtime (java 17) on PATH", allow_module_level=True)

from pyspark.sql import SparkSession

from mexfi.errors import Invalid
from mexfi.scan import scan_text
from mexfi.scan.spark import detect_format, scan_directory

ROWS = [
    {"id": "a", "text": "Zəng edin +994 50 123 45 67", "lang": "az"},
    {"id": "b", "text": "Водитель Иванов Сергей Петрович, ФИН 5ZK7R2M", "lang": "ru"},
    {"id": "c", "text": "Promo NOVRUZ7, 12.50 AZN", "lang": "en"},
    {"id": "d", "text": "Card 4169 7388 0012 4418, IBAN AZ21NABZ00000000137010001944"},
]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = (
        SparkSession.builder.master("local[2]")
        .appName("mexfi-scan-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    yield session
    session.stop()


def read_output(directory: Path) -> dict[str, list[dict[str, Any]]]:
    lines = [
        json.loads(line)
        for part in sorted(directory.glob("part-*"))
        for line in part.read_text(encoding="utf-8").splitlines()
    ]
    return {line["id"]: line["entities"] for line in lines}


def expected() -> dict[str, list[dict[str, Any]]]:
    return {r["id"]: [e.as_dict() for e in scan_text(r["text"], lang=r.get("lang"))] for r in ROWS}


def test_jsonl_directory(spark: Any, tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "part1.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8"
    )
    assert scan_directory(source, tmp_path / "out", spark=spark) == len(ROWS)
    assert read_output(tmp_path / "out") == expected()


def test_parquet_and_csv_directories(spark: Any, tmp_path: Path) -> None:
    frame = spark.createDataFrame(
        [(r["id"], r["text"], r.get("lang")) for r in ROWS], "id string, text string, lang string"
    )
    frame.repartition(2).write.parquet(str(tmp_path / "pq"))
    frame.write.option("header", True).csv(str(tmp_path / "csv"))
    assert detect_format(tmp_path / "pq") == "parquet"
    assert scan_directory(tmp_path / "pq", tmp_path / "out_pq", spark=spark) == len(ROWS)
    assert read_output(tmp_path / "out_pq") == expected()
    assert scan_directory(tmp_path / "csv", tmp_path / "out_csv", spark=spark) == len(ROWS)
    assert read_output(tmp_path / "out_csv") == expected()


def test_missing_columns_and_mixed_formats(spark: Any, tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "x.jsonl").write_text('{"id": "1", "body": "x"}\n', encoding="utf-8")
    with pytest.raises(Invalid, match="text"):
        scan_directory(source, tmp_path / "out", spark=spark)
    (source / "y.csv").write_text("id,text\n1,x\n", encoding="utf-8")
    with pytest.raises(Invalid, match="mixed"):
        detect_format(source)


def test_cli_spark_mode(spark: Any, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from mexfi.cli.scan import scan_command

    app = typer.Typer()
    app.command("scan")(scan_command)
    app.command("other")(scan_command)
    source = tmp_path / "in"
    source.mkdir()
    (source / "rows.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8"
    )
    result = CliRunner().invoke(
        app, ["scan", "--spark", str(source), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert read_output(tmp_path / "out") == expected()
