"""The log's tail hides every secret value in the whole log before it is cut, however the log arrives in chunks."""

import random
from urllib.parse import quote

from vexxy.sandbox.log_tail import redacted_tail

SECRET = "tok-4f1c2a9e8b7d6c5f"


def fragments(secret: str, size: int = 6) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def leaked(text: str, secret: str) -> set[str]:
    return {part for part in fragments(secret) if part in text}


def chunked(data: bytes, sizes) -> list[bytes]:
    pieces, start = [], 0
    for size in sizes:
        if start >= len(data):
            break
        pieces.append(data[start : start + size])
        start += size
    return pieces + ([data[start:]] if start < len(data) else [])


def test_a_secret_straddling_the_cut_is_hidden_not_halved():
    log = ("x" * 3000 + SECRET + "y" * (2000 - 10)).encode()
    tail = redacted_tail([log], [SECRET])
    assert tail.endswith("y" * 1990) and leaked(tail, SECRET) == set()
    assert redacted_tail([log], []).startswith(SECRET[-10:])  # what cutting first leaves of it


def test_a_secret_split_across_chunks_is_found_whole_in_every_written_form():
    forms = [SECRET, quote("p@ss word/é", safe=""), "line\\nbreak"]
    secrets = [SECRET, "p@ss word/é", "line\nbreak"]
    log = "".join(f"{i}: {form} " for i, form in enumerate(forms * 40)).encode()
    for split in range(1, 40):
        tail = redacted_tail(chunked(log, [split] * len(log)), secrets, limit=10_000)
        assert "[secret]" in tail and all(leaked(tail, form) == set() for form in forms), split


def test_overlapping_secrets_are_both_hidden_whole():
    first, second = "abcdef-123456", "123456-uvwxyz"  # the one's end is the other's start
    log = ("--" + "abcdef-123456-uvwxyz" + "--").encode()
    for secrets in ([first, second], [second, first]):
        for split in range(1, len(log)):
            assert redacted_tail([log[:split], log[split:]], secrets) == "--[secret]--"


def test_chunking_never_changes_what_is_hidden():
    rng = random.Random(7)
    secrets = ["abab", "ba", "zzq"]
    for _ in range(300):
        text = "".join(rng.choice(["a", "b", "z", "q", "-", "é", "abab"]) for _ in range(rng.randint(0, 150)))
        whole = redacted_tail([text.encode()], secrets, limit=10_000)
        pieces = redacted_tail(chunked(text.encode(), [rng.randint(1, 9) for _ in text]), secrets, limit=10_000)
        assert whole == pieces
        assert not any(s in part for part in whole.split("[secret]") for s in secrets)


def test_the_tail_is_the_last_bytes_even_mid_character():
    assert redacted_tail([("é" * 1500).encode()], []) == "é" * 1000
    assert redacted_tail([b"abc\xe2", b"\x82\xac  "], [], limit=6) == "c€"  # the character split between chunks is whole
