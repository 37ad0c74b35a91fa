"""Signed tree heads: the signed bytes, the JSON an auditor keeps, the key's sources."""

from __future__ import annotations

import os
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.datastructures import Secret

from analytics_graph.audit.heads import KEY_FILE, Signer, TreeHead, message, signer
from analytics_graph.config import Settings
from analytics_graph.errors import ConfigurationError

AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def test_the_signed_message_is_the_documented_53_bytes() -> None:
    root = bytes(range(32))
    micros = 1772368215123456  # 2026-03-01T12:30:15.123456Z since the Unix epoch
    assert message(7, root, AT) == b"AGTH\x01" + struct.pack(">Q", 7) + root + struct.pack(
        ">q", micros
    )
    assert len(message(7, root, AT)) == 53


def test_a_head_round_trips_through_json_and_detects_any_change() -> None:
    head = Signer.from_hex("22" * 32).sign(5, bytes(32), AT)
    again = TreeHead.from_json(head.to_json())
    assert again == head and again.valid()
    forged = TreeHead.from_json({**head.to_json(), "treeSize": 6})
    assert not forged.valid()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"treeSize": -1}, "treeSize"),
        ({"treeSize": "5"}, "treeSize"),
        ({"rootHash": "abcd"}, "rootHash"),
        ({"sealedAt": "2026-03-01T12:00:00"}, "sealedAt"),
        ({"signature": None}, "wrong type"),
    ],
)
def test_a_bad_head_file_is_refused_saying_why(change: dict[str, object], named: str) -> None:
    good = Signer.from_hex("22" * 32).sign(5, bytes(32), AT).to_json()
    with pytest.raises(ValueError, match=named):
        TreeHead.from_json({**good, **change})
    with pytest.raises(ValueError, match="publicKey: missing"):
        TreeHead.from_json({k: v for k, v in good.items() if k != "publicKey"})


def test_the_key_comes_from_the_setting_or_is_generated_once(tmp_path: Path) -> None:
    configured = signer(Settings(data_dir=tmp_path, signing_key=Secret("33" * 32)))
    assert configured.public_key == Signer.from_hex("33" * 32).public_key
    assert not (tmp_path / KEY_FILE).exists()
    generated = signer(Settings(data_dir=tmp_path))
    assert signer(Settings(data_dir=tmp_path)).public_key == generated.public_key
    assert os.stat(tmp_path / KEY_FILE).st_mode & 0o777 == 0o600
    with pytest.raises(ConfigurationError, match="64 hex digits"):
        signer(Settings(data_dir=tmp_path, signing_key=Secret("not hex")))


def test_settings_read_the_signing_key_from_the_environment() -> None:
    settings = Settings.from_environ({"ANALYTICS_GRAPH_SIGNING_KEY": "44" * 32})
    assert settings.signing_key is not None and str(settings.signing_key) == "44" * 32
