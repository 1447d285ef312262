#!/usr/bin/env python3
"""One-time generator of golden-v1.json: format v1 rebuilt independently of the TypeScript code,
from DESIGN.md "Keys and ciphertext (format v1)", with pyca/cryptography.

The JSON is FROZEN. Do not re-run this to make a failing test pass: a mismatch means format v1
changed, and stored credentials would stop opening. A new format gets a new file (golden-v2.json).
Kept for review only: `python3 golden-v1.gen.py > golden-v1.json`.
"""
import hashlib
import json
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def fixed(label: str, n: int) -> bytes:
    """Deterministic, arbitrary-looking bytes: SHA-256 chain over a label."""
    out, i = b"", 0
    while len(out) < n:
        out += hashlib.sha256(f"gv-golden-v1/{label}/{i}".encode()).digest()
        i += 1
    return out[:n]


def u32(n: int) -> bytes:
    return struct.pack(">I", n)


def encode_context(tenant_id: str, credential_id: str, version: int) -> bytes:
    pairs = sorted([("tenant_id", tenant_id), ("credential_id", credential_id), ("version", str(version))])
    out = b""
    for k, v in pairs:
        kb, vb = k.encode(), v.encode()
        out += u32(len(kb)) + kb + u32(len(vb)) + vb
    return out


def seal(case):
    kek, dek = bytes.fromhex(case["kekHex"]), bytes.fromhex(case["dekHex"])
    value_iv, salt, wrap_iv = (bytes.fromhex(case[k]) for k in ("valueIvHex", "saltHex", "wrapIvHex"))
    ctx = encode_context(case["tenantId"], case["credentialId"], case["version"])
    pt = plaintext_of(case)
    value_blob = b"GV\x01" + value_iv + AESGCM(dek).encrypt(value_iv, pt, b"gv/value/v1" + ctx)
    wrap_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"gv/wrap/v1").derive(kek)
    aad = b"gv/wrap/v1" + ctx + u32(case["kekVersion"])
    wrapped = b"GW\x01" + u32(case["kekVersion"]) + salt + wrap_iv + AESGCM(wrap_key).encrypt(wrap_iv, dek, aad)
    assert len(wrapped) == 83
    return ctx, value_blob, wrapped


def plaintext_of(case) -> bytes:
    if "plaintextPattern" in case:
        p = case["plaintextPattern"]
        return bytes(i % p["modulus"] for i in range(p["length"]))
    return bytes.fromhex(case["plaintextHex"])


def case(name, tenant_id, credential_id, version, kek_version, plaintext=None, pattern=None):
    c = {
        "name": name,
        "tenantId": tenant_id,
        "credentialId": credential_id,
        "version": version,
        "kekVersion": kek_version,
        "kekHex": fixed(name + "/kek", 32).hex(),
        "dekHex": fixed(name + "/dek", 32).hex(),
        "valueIvHex": fixed(name + "/value-iv", 12).hex(),
        "saltHex": fixed(name + "/salt", 16).hex(),
        "wrapIvHex": fixed(name + "/wrap-iv", 12).hex(),
    }
    if pattern:
        c["plaintextPattern"] = pattern
    else:
        c["plaintextHex"] = plaintext.hex()
    ctx, value_blob, wrapped = seal(c)
    c["contextHex"] = ctx.hex()
    if pattern:
        # 64 KiB of ciphertext as hex would bloat the file; its SHA-256 freezes it just as well.
        c["valueBlobSha256Hex"] = hashlib.sha256(value_blob).hexdigest()
    else:
        c["valueBlobHex"] = value_blob.hex()
    c["wrappedDekHex"] = wrapped.hex()
    return c


cases = [
    case("empty-value", "t_acme", "cred_01", 1, 1, plaintext=b""),
    case("ascii-value", "t_acme", "cred_db_password", 3, 2, plaintext=b"hunter2-correct-horse"),
    case("unicode-value-and-ids", "t_\u00e9cole", "cl\u00e9/\u5bc6\u94a5", 7, 1,
         plaintext="p\u00e4ssw\u00f6rd \U0001F511 \u5bc6\u7801".encode()),
    case("extreme-versions", "t_acme", "cred_01", 2**53 - 1, 2**32 - 1, plaintext=b"\x00\xff" * 8),
    case("64kib-pattern", "t_acme", "cred_big", 2, 5, pattern={"length": 65536, "modulus": 251}),
]
doc = {
    "comment": "FROZEN format-v1 golden vectors (DESIGN.md 'Keys and ciphertext'). Generated once by "
               "golden-v1.gen.py (pyca/cryptography, independent of worker/crypto). Never regenerate "
               "to fix a test: a mismatch means the on-disk format changed.",
    "format": "v1",
    "cases": cases,
}
print(json.dumps(doc, indent=2, ensure_ascii=False))
