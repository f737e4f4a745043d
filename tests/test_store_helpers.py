"""The shared connector helpers: metadata codec, id mapping, retries."""

import pytest

from tests.records import awkward_records
from vex_dagster.stores import ids
from vex_dagster.stores.metadata_codec import MARKER, MetadataCodec, is_scalar
from vex_dagster.stores.retry import retry_call

PINECONE_LIKE = MetadataCodec(
    can_hold=lambda v: is_scalar(v) or (isinstance(v, list) and all(isinstance(x, str) for x in v)),
    reserved=frozenset({"text"}),
)


@pytest.mark.parametrize("record", awkward_records(3), ids=lambda r: r.id[:12])
def test_codec_gives_back_every_awkward_metadata(record):
    encoded = PINECONE_LIKE.encode(record.metadata)
    assert all(PINECONE_LIKE.can_hold(v) for v in encoded.values())
    assert "text" not in encoded
    assert PINECONE_LIKE.decode({**encoded, "text": "connector's own"}) == record.metadata


def test_codec_keeps_natively_what_the_store_holds():
    assert PINECONE_LIKE.encode({"a": 1, "tags": ["x"]}) == {"a": 1, "tags": ["x"]}
    assert MARKER in PINECONE_LIKE.encode({"a": None})


@pytest.mark.parametrize("rid,expected", [
    ("42", (42, False)), ("0", (0, False)), ("18446744073709551615", (18446744073709551615, False)),
    ("18446744073709551616", None), ("007", None), ("-7", None), ("3.14", None),
    ("a6c8d0a8-3f4e-4b0e-9a1f-2f7b5e8c9d10", ("a6c8d0a8-3f4e-4b0e-9a1f-2f7b5e8c9d10", False)),
    ("A6C8D0A8-3F4E-4B0E-9A1F-2F7B5E8C9D10", None),
])
def test_uint_or_uuid_ids(rid, expected):
    got = ids.uint_or_uuid_id(rid)
    if expected is None:
        assert got == (ids.derived_uuid(rid), True)
    else:
        assert got == expected


def test_retry_retries_transient_then_succeeds_and_gives_up_on_others():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionResetError("reset")
        return "ok"

    assert retry_call(flaky, is_transient=lambda e: isinstance(e, ConnectionError), what="t",
                      sleep=lambda s: None) == "ok"
    assert len(calls) == 3
    with pytest.raises(ValueError):
        retry_call(lambda: (_ for _ in ()).throw(ValueError("bad")), is_transient=lambda e: False,
                   what="t", sleep=lambda s: None)
    with pytest.raises(ConnectionResetError):
        retry_call(lambda: (_ for _ in ()).throw(ConnectionResetError()), is_transient=lambda e: True,
                   what="t", attempts=3, sleep=lambda s: None)
