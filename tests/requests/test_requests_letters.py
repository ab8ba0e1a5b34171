"""Answers as letters: HTML that parses and PDF with the operator's name, in az, en and ru."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import pytest

from mexfi.requests import LetterUnavailable, RequestState, find_fonts, render_letter
from mexfi.vault import Vault

from .conftest import COMPLETE, DPO, add, answered, register_driver, register_rider

PHONE = "+994 50 111 22 33"
_VOID = {"meta", "br", "hr", "img", "link", "input"}


class _Balanced(HTMLParser):
    """Fails on a closing tag that does not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> str:
    parser = _Balanced()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    return "".join(parser.text)


def _pdf_text(pdf: bytes) -> str:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.mark.parametrize(
    ("lang", "title"),
    [("az", "Sorğunuza cavab"), ("en", "Answer to your request"), ("ru", "Ответ на ваш запрос")],
)
def test_access_letter_renders_in_each_language(rq_vault: Vault, lang: str, title: str) -> None:
    register_rider(rq_vault, PHONE, first_name="Şəbnəm")
    request = add(
        rq_vault, policy_id="bakikart", kind="access", channel="written", actor=DPO,
        phone=PHONE, language=lang,
    )  # fmt: skip
    answer = answered(rq_vault, request.id, actor=DPO)
    policy = rq_vault.policy("bakikart")
    html = render_letter(policy, answer, format="html")
    assert isinstance(html, str)
    text = _parse(html)
    assert title in text
    assert '"K Group" LLC' in text and "1402954871" in text
    assert "Şəbnəm" in text
    try:
        find_fonts()
    except LetterUnavailable:
        pytest.skip("DejaVu fonts missing (apt-get install fonts-dejavu-core)")
    pdf = render_letter(policy, answer, format="pdf")
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
    extracted = _pdf_text(pdf)
    assert "K Group" in extracted
    assert title in extracted
    assert "Şəbnəm" in extracted


def test_a_rejection_letter_names_the_missing_requirements(rq_vault: Vault) -> None:
    register_driver(rq_vault)
    from mexfi.requests import Answer, WrittenDetails

    request = add(
        rq_vault, policy_id="taxsee_driver", kind="blocking", channel="written", actor=DPO,
        phone="+994 55 765 43 21", written=WrittenDetails(signed=True), language="en",
    )  # fmt: skip
    assert request.state is RequestState.REJECTED
    html = render_letter(rq_vault.policy("taxsee_driver"), Answer(request, {}), format="html")
    text = _parse(str(html))
    assert "the date of issue of that document and the authority that issued it" in text
    assert "the signature" not in text


@pytest.mark.parametrize("lang", ["az", "en", "ru"])
def test_every_answered_kind_renders(rq_vault: Vault, lang: str) -> None:
    driver = register_driver(rq_vault)
    policy = rq_vault.policy("taxsee_driver")
    for kind in ("existence", "legal_basis", "processing_info", "sources", "operator_info",
                 "destruction"):  # fmt: skip
        request = add(
            rq_vault, policy_id="taxsee_driver", kind=kind, channel="written", actor=DPO,
            subject_id=driver, written=COMPLETE, language=lang,
        )  # fmt: skip
        answer = answered(rq_vault, request.id, actor=DPO)
        text = _parse(str(render_letter(policy, answer, format="html")))
        assert policy.operator.name in text
