"""Scale-out: the scanner on PySpark (`mapPartitions`) over Parquet, CSV or JSONL directories.

The output is JSON lines with the CLI's schema, `{"id", "entities": [{"type", "start", "end",
"score"}]}`, written by Spark as part files under the output directory. PySpark is imported
lazily; each partition builds one `Scanner` and reuses it for all of its rows.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from mexfi.errors import Invalid, NotFound, Unavailable

__all__ = ["detect_format", "scan_directory", "scan_partition"]

_FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json", ".json": "json"}


def detect_format(input_dir: Path) -> str:
    """`parquet`, `csv` or `json` from the data files in `input_dir`."""
    if not input_dir.is_dir():
        raise NotFound(f"input directory {input_dir} does not exist")
    found = {
        _FORMATS[path.suffix.lower()]
        for path in input_dir.rglob("*")
        if path.is_file()
        and path.suffix.lower() in _FORMATS
        and not path.name.startswith((".", "_"))
    }
    if len(found) != 1:
        raise Invalid(
            f"input directory {input_dir} holds {'no' if not found else 'mixed'} data files",
            hint="put only .parquet, only .csv or only .jsonl files in it",
        )
    return found.pop()


def scan_partition(
    rows: Iterable[Any], types: Collection[str] | None = None, min_score: float = 0.5
) -> Iterator[tuple[str, list[tuple[str, int, int, float]]]]:
    """Scan the (id, text, lang) rows of one partition with one scanner."""
    from mexfi.scan.engine import Scanner

    scanner = Scanner(types=types, min_score=min_score)
    for row in rows:
        record_id, text, lang = row[0], row[1], row[2]
        if lang not in ("az", "ru", "en"):
            lang = None
        found = scanner.scan(text or "", lang=lang)
        yield str(record_id), [(e.type, e.start, e.end, e.score) for e in found]


def scan_directory(
    input_dir: Path | str,
    output_dir: Path | str,
    *,
    types: Collection[str] | None = None,
    min_score: float = 0.5,
    spark: Any | None = None,
) -> int:
    """Scan the `id`/`text`(/`lang`) records under `input_dir`; write JSONL parts; the count."""
    try:
        from pyspark.sql import SparkSession
        from pyspark.sql import functions as F
        from pyspark.sql import types as T
    except ImportError as exc:
        raise Unavailable(
            "PySpark is not installed", hint="pip install 'mexfi[spark]' (pyspark, Java 17)"
        ) from exc
    source, target = Path(input_dir), Path(output_dir)
    fmt = detect_format(source)
    session = spark or (
        SparkSession.builder.master(os.environ.get("MEXFI_SPARK_MASTER", "local[*]"))
        .appName("mexfi-scan")
        .getOrCreate()
    )
    reader = session.read
    if fmt == "csv":
        frame = (
            reader.option("header", True)
            .option("multiLine", True)
            .option("escape", '"')
            .csv(str(source))
        )
    elif fmt == "json":
        frame = reader.json(str(source))
    else:
        frame = reader.parquet(str(source))
    missing = {"id", "text"} - set(frame.columns)
    if missing:
        raise Invalid(f"input lacks column(s) {', '.join(sorted(missing))}; need id and text")
    lang = F.col("lang").cast("string") if "lang" in frame.columns else F.lit(None).cast("string")
    rows = frame.select(F.col("id").cast("string"), F.col("text").cast("string"), lang).rdd
    chosen = None if types is None else list(types)
    scanned = rows.mapPartitions(lambda part: scan_partition(part, chosen, min_score))
    schema = T.StructType(
        [
            T.StructField("id", T.StringType()),
            T.StructField(
                "entities",
                T.ArrayType(
                    T.StructType(
                        [
                            T.StructField("type", T.StringType()),
                            T.StructField("start", T.IntegerType()),
                            T.StructField("end", T.IntegerType()),
                            T.StructField("score", T.DoubleType()),
                        ]
                    )
                ),
            ),
        ]
    )
    result = session.createDataFrame(scanned, schema).cache()
    result.write.mode("overwrite").json(str(target))
    count = int(result.count())
    result.unpersist()
    return count
