"""The unit of work: one operation's transactions on both stores, committed in the designed
order by its caller; rollbacks keep what must stay on record; savepoints undo a part."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from mexfi.db import Store, UnitOfWork


@pytest.fixture
def probe(store: Store) -> Iterator[Store]:
    """Scratch tables in both databases (rolled back with the test's transaction)."""
    for session_of in (store.records, store.keys):
        with session_of() as session:
            session.execute(text("CREATE TABLE uow_probe (name VARCHAR(40) PRIMARY KEY)"))
    yield store


def names(store: Store, *, keys: bool = False) -> list[str]:
    with store.keys() if keys else store.records() as session:
        return list(session.scalars(text("SELECT name FROM uow_probe ORDER BY name")))


def put(session: Session, name: str) -> None:
    session.execute(text("INSERT INTO uow_probe (name) VALUES (:name)"), {"name": name})


def test_commits_keys_then_records_then_the_steps_in_order(probe: Store) -> None:
    seen: list[tuple[str, list[str], list[str]]] = []

    def step(label: str) -> Callable[[UnitOfWork], None]:
        def run(uow: UnitOfWork) -> None:
            # Both stores have committed before the first step runs.
            seen.append((label, names(probe), names(probe, keys=True)))
            put(uow.records, label)
            uow.records.commit()

        return run

    with probe.unit_of_work() as uow:
        put(uow.records, "record")
        put(uow.keys, "key")
        uow.then(step("first"))
        uow.then(step("second"))
        assert seen == []
    assert seen == [
        ("first", ["record"], ["key"]),
        ("second", ["first", "record"], ["key"]),
    ]
    assert names(probe) == ["first", "record", "second"]


def test_the_key_store_transaction_begins_after_the_records_one(probe: Store) -> None:
    with probe.unit_of_work() as uow:
        assert uow.keys is not None
        # Asking for the key store opened the records transaction first: one lock order.
        assert uow.records.in_transaction()


def test_an_exception_rolls_back_both_stores_and_skips_the_steps(probe: Store) -> None:
    ran: list[str] = []
    with pytest.raises(RuntimeError), probe.unit_of_work() as uow:
        put(uow.records, "record")
        put(uow.keys, "key")
        uow.then(lambda _: ran.append("step"))
        raise RuntimeError("failed")
    assert (names(probe), names(probe, keys=True), ran) == ([], [], [])


def test_writes_kept_on_rollback_are_committed_after_it(probe: Store) -> None:
    with pytest.raises(RuntimeError), probe.unit_of_work() as uow:
        put(uow.records, "the operation")
        uow.keep_on_rollback(lambda session: put(session, "its refusal"))
        raise RuntimeError("refused")
    assert names(probe) == ["its refusal"]
    # On success they are not made twice: the operation wrote them itself.
    with probe.unit_of_work() as uow:
        put(uow.records, "another")
        uow.keep_on_rollback(lambda session: put(session, "never"))
    assert names(probe) == ["another", "its refusal"]


def test_a_savepoint_undoes_its_records_keeps_its_refusals_and_drops_its_steps(
    probe: Store,
) -> None:
    ran: list[str] = []
    with probe.unit_of_work() as uow:
        put(uow.records, "before")
        with pytest.raises(ValueError), uow.savepoint():
            put(uow.records, "inside")
            uow.keep_on_rollback(lambda session: put(session, "refusal"))
            uow.then(lambda _: ran.append("inside step"))
            raise ValueError("part failed")
        uow.then(lambda _: ran.append("outer step"))
        put(uow.records, "after")
    assert names(probe) == ["after", "before", "refusal"]
    assert ran == ["outer step"]


def test_a_closed_unit_of_work_refuses_to_be_used(probe: Store) -> None:
    uow = probe.unit_of_work()
    with uow:
        put(uow.records, "once")
    with pytest.raises(RuntimeError, match="closed"):
        put(uow.records, "twice")
