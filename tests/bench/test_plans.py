"""Reading query plans: what counts as an index read on each backend."""

from __future__ import annotations

from mexfi.bench import Plan


def _plan(backend: str, lines: list[str], forced: list[str] | None = None) -> Plan:
    return Plan(
        "shred records",
        "destruction",
        backend,
        "DELETE FROM records WHERE records.key_id = ANY (%(key_id_1)s)",
        tuple(lines),
        ("records",),
        forced_lines=tuple(forced or ()),
    )


def test_postgres_seq_scan_of_a_guarded_table_is_no_index_read() -> None:
    seq = _plan("postgresql", ["Delete on records", "  ->  Seq Scan on records  (cost=0.00..1.00)"])
    assert not seq.uses_index and not seq.index_available
    assert seq.scans() == ["->  Seq Scan on records  (cost=0.00..1.00)"]
    forced = _plan(
        "postgresql",
        ["Delete on records", "  ->  Seq Scan on records"],
        ["Delete on records", "  ->  Bitmap Heap Scan on records", "  ->  Bitmap Index Scan on ix"],
    )
    assert not forced.uses_index and forced.index_available
    indexed = _plan("postgresql", ["Delete on records", "  ->  Index Scan using ix on records"])
    assert indexed.uses_index and indexed.index_available


def test_sqlite_search_is_an_index_read_and_bare_scan_is_not() -> None:
    assert _plan(
        "sqlite", ["SEARCH records USING COVERING INDEX ix_records_key_id (key_id=?)"]
    ).uses_index
    assert _plan("sqlite", ["SCAN records USING INDEX ix_x"]).uses_index
    assert not _plan("sqlite", ["SCAN records"]).uses_index


def test_long_id_arrays_are_shortened() -> None:
    ids = ",".join(f"{n:032x}" for n in range(50))
    plan = _plan("postgresql", [f"  Filter: ((key_id)::text = ANY ('{{{ids}}}'::text[]))"])
    (line,) = plan.short_lines()
    assert "50 values" in line and len(line) < 120
