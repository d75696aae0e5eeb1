"""Whatever bytes arrive, parsing either returns something storable or says why not: it never crashes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.email import parse
from tests.channels.email import samples

SEEDS = [
    samples.simple(),
    samples.gmail_reply("a@b.test", "s@acme.test", "x@y", ["x@y"], "hi", "m@z"),
    samples.latin1_outlook(),
    samples.qp_utf8(),
    samples.html_only_base64(),
    samples.with_attachments(),
    samples.broken_mime(),
    samples.dsn("hub.1.ab@acme.test"),
]


def _check(raw: bytes) -> None:
    try:
        p = parse.parse_message(raw)
    except parse.UnparseableEmail as exc:
        assert str(exc)
        return
    assert isinstance(p.text, str) and isinstance(p.reply_text, str)
    assert p.provider_id and len(p.provider_id) <= parse.MAX_PROVIDER_ID
    for att in p.attachments:
        assert isinstance(att.data, bytes) and att.filename


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 4000), junk=st.binary(max_size=64), at=st.integers(0, 4000))
def test_truncated_and_spliced_messages(seed: bytes, cut: int, junk: bytes, at: int) -> None:
    raw = seed[: max(cut, 1)]
    _check(raw[:at] + junk + raw[at:])


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=100, deadline=None)
@given(
    name=st.sampled_from(["From", "To", "Subject", "Content-Type", "Content-Transfer-Encoding", "Message-ID", "Date"]),
    value=st.text(max_size=80).map(lambda s: s.replace("\r", " ").replace("\n", " ")),
)
def test_hostile_header_values(name: str, value: str) -> None:
    raw = f"{name}: {value}\r\nFrom: a@b.test\r\nContent-Type: multipart/mixed; boundary=Q\r\n\r\n--Q\r\n\r\nx\r\n"
    _check(raw.encode("utf-8", "surrogateescape"))
