#!/usr/bin/env python3
"""Writes the known-answer vectors in crates/keywarden-core/tests/vectors/.

An implementation independent of ours (Python's `cryptography`, `hmac`,
`zlib`) computes what each format in FORMAT.md must give for fixed inputs;
the Rust runner (crates/keywarden-core/src/vectors.rs) checks the code
against these files. Regenerate only when a format changes on purpose, and
say so in FORMAT.md: a changed vector means old vaults no longer read.

    python3 scripts/make-vectors.py
"""

import base64
import hashlib
import hmac
import json
import struct
import uuid
import zlib
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

OUT = Path(__file__).resolve().parent.parent / "crates/keywarden-core/tests/vectors"


def hkdf(ikm: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(ikm)


def mac(key: bytes, *parts: bytes) -> bytes:
    msg = b"".join(struct.pack(">Q", len(p)) + p for p in parts)
    return hmac.new(key, msg, hashlib.sha256).digest()


def gcm(key: bytes, nonce: bytes, plain: bytes, aad: bytes) -> bytes:
    return nonce + AESGCM(key).encrypt(nonce, plain, aad)


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(b: bytes, width: int) -> str:
    n = int.from_bytes(b, "big")
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(BASE62[r])
    return "".join(reversed(out))


def derived_keys():
    vault_key = bytes(range(32))
    labels = [
        "keywarden/sqlcipher/v1",
        "keywarden/dek-wrap/v1",
        "keywarden/audit-mac/v1",
        "keywarden/partner-key-hash/v1",
        "keywarden/ed25519-signing/v1",
    ]
    return {
        "about": "FORMAT.md 3.1: HKDF-SHA256, no salt, L = 32, info = the label",
        "vault_key_hex": vault_key.hex(),
        "derived": [{"label": l, "key_hex": hkdf(vault_key, l).hex()} for l in labels],
    }


def key_wraps():
    vault_id = uuid.UUID("6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f")
    kek = bytes([0x4B] * 32)
    vault_key = bytes(range(100, 132))
    cases = []
    for by, nonce in [("kek", bytes([1] * 12)), ("recovery", bytes([2] * 12))]:
        aad = b"keywarden/vault-key/v1|" + vault_id.bytes + b"|" + by.encode()
        cases.append(
            {
                "wrapped_by": by,
                "aad_hex": aad.hex(),
                "nonce_hex": nonce.hex(),
                "wrapped_hex": gcm(kek, nonce, vault_key, aad).hex(),
            }
        )
    dek_wrap = bytes([0x57] * 32)
    dek = bytes(range(200, 232))
    key_id = 3
    aad = b"keywarden/dek/v1|" + vault_id.bytes + struct.pack(">I", key_id)
    nonce = bytes([3] * 12)
    return {
        "about": "FORMAT.md 2.1 and 3.3: nonce(12) || AES-256-GCM ciphertext || tag(16)",
        "vault_id": str(vault_id),
        "vault_key": {"kek_hex": kek.hex(), "vault_key_hex": vault_key.hex(), "wraps": cases},
        "data_key": {
            "dek_wrap_hex": dek_wrap.hex(),
            "key_id": key_id,
            "dek_hex": dek.hex(),
            "aad_hex": aad.hex(),
            "nonce_hex": nonce.hex(),
            "wrapped_hex": gcm(dek_wrap, nonce, dek, aad).hex(),
        },
    }


def sealed():
    cases = []
    nil = uuid.UUID(int=0)
    cred = uuid.UUID("11111111-1111-1111-1111-111111111111")
    inputs = [
        ("secret field", bytes([0x42] * 32), 7, cred, "api_key", 3, bytes([0x24] * 12), b"pk_live_abcd"),
        ("empty secret", bytes([0x42] * 32), 1, cred, "password", 1, bytes([0] * 12), b""),
        ("non-ASCII secret", bytes([0x42] * 32), 2, cred, "passphrase", 9, bytes([5] * 12), "blåbær-ключ".encode()),
        (
            "partner key awaiting delivery",
            bytes([0x33] * 32),
            4,
            nil,
            "partner-key-delivery:k3v7x2mq7a5t4b6c",
            0,
            bytes([6] * 12),
            b"kwp_live_k3v7x2mq7a5t4b6c_not-a-real-key",
        ),
        ("cached access token", bytes([0x33] * 32), 4, cred, "~access_token", 2, bytes([7] * 12), b"eyJ.not-a-token"),
    ]
    for name, key, key_id, cid, field, version, nonce, plain in inputs:
        f = field.encode()
        aad = (
            b"keywarden/field"
            + b"\x01"
            + struct.pack(">I", key_id)
            + cid.bytes
            + struct.pack(">I", len(f))
            + f
            + struct.pack(">I", version)
        )
        ct = AESGCM(key).encrypt(nonce, plain, aad)
        blob = b"\x01" + struct.pack(">I", key_id) + nonce + ct
        cases.append(
            {
                "name": name,
                "key_hex": key.hex(),
                "key_id": key_id,
                "credential_id": str(cid),
                "field": field,
                "version": version,
                "nonce_hex": nonce.hex(),
                "plaintext_hex": plain.hex(),
                "blob_hex": blob.hex(),
            }
        )
    return {"about": "FORMAT.md 4: 0x01 || u32be(key_id) || nonce(12) || AES-256-GCM(plaintext) || tag(16)", "cases": cases}


def audit_chain():
    key = bytes([0xA7] * 32)
    events = [
        ("2026-12-02T10:00:00.000000Z", "alice", "alice", "ws1", "vault.create", "vault", "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f", None, "success", ""),
        ("2026-12-02T10:00:01.250000Z", "alice", "alice", "ws1", "credential.add", "credential", "0a0b0c0d-0000-4000-8000-000000000001", "Pleo payroll", "success", "type api_key; checked with the provider before saving"),
        ("2026-12-02T10:05:09.000001Z", "bob", "bob", "ws2", "credential.use", "credential", None, "Pleo payroll", "denied", "kw run: lønn — disabled"),
        ("2026-12-02T11:00:00.999999Z", "bob", "bob", "ws2", "credential.check", "credential", "0a0b0c0d-0000-4000-8000-000000000001", "Pleo payroll", "failure", "live check failed (invalid_credential)"),
    ]
    opt = lambda s: b"\x00" if s is None else b"\x01" + s.encode()
    genesis = mac(key, b"keywarden/audit/genesis")
    prev = genesis
    out = []
    for seq, (at, profile, os_user, host, action, kind, oid, oname, outcome, detail) in enumerate(events, 1):
        m = mac(
            key,
            b"keywarden/audit/v1",
            struct.pack(">q", seq),
            at.encode(),
            profile.encode(),
            os_user.encode(),
            host.encode(),
            action.encode(),
            kind.encode(),
            opt(oid),
            opt(oname),
            outcome.encode(),
            detail.encode(),
            prev,
        )
        out.append(
            {
                "seq": seq,
                "at": at,
                "profile": profile,
                "os_user": os_user,
                "host": host,
                "action": action,
                "object_kind": kind,
                "object_id": oid,
                "object_name": oname,
                "outcome": outcome,
                "detail": detail,
                "prev_mac_hex": prev.hex(),
                "mac_hex": m.hex(),
            }
        )
        prev = m
    head = mac(key, b"keywarden/audit/head", struct.pack(">q", len(events)), prev)
    return {
        "about": "FORMAT.md 5.1: each part length-prefixed (u64be) under HMAC-SHA256",
        "audit_key_hex": key.hex(),
        "genesis_hex": genesis.hex(),
        "events": out,
        "head_mac_hex": head.hex(),
    }


def partner_keys():
    hash_key = bytes([0x5A] * 32)
    cases = []
    for prefix, env, key_id, secret in [
        ("kwp_", "live", "k3v7x2mq7a5t4b6c", bytes(range(32))),
        ("kwp_", "test", "aaaaaaaaaaaaaaaa", bytes([0xFF] * 32)),
        ("kws_", "live", "zz234567abcdefgh", bytes([0] * 32)),
    ]:
        body = f"{prefix}{env}_{key_id}_{base62(secret, 43)}"
        check = base62(struct.pack(">I", zlib.crc32(body.encode())), 6)
        text = body + check
        cases.append(
            {
                "key": text,
                "secret_hex": secret.hex(),
                "kind": "partner" if prefix == "kwp_" else "service",
                "env": env,
                "id": key_id,
                "hash_hex": mac(hash_key, b"keywarden/partner-key", text.encode()).hex(),
            }
        )
    good = cases[0]["key"]
    flipped = good[:-1] + ("A" if good[-1] != "A" else "B")
    return {
        "about": "FORMAT.md 6: prefix, env, 16-char id, 43 base62 secret, 6 base62 CRC-32; HMAC for storage",
        "hash_key_hex": hash_key.hex(),
        "cases": cases,
        "refused": [
            flipped,
            good[:-1],
            good + "x",
            good.replace("kwp_", "kwx_", 1),
            good.replace("_live_", "_prod_", 1),
        ],
    }


def signing():
    seed = bytes(range(64, 96))
    sk = Ed25519PrivateKey.from_private_bytes(seed)
    public = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    payload = json.dumps(
        {"format": "keywarden-revocations", "version": 1, "issued_at": "2026-12-02T10:00:00.000000Z", "revoked": []},
        separators=(",", ":"),
    ).encode()
    return {
        "about": "FORMAT.md 7: Ed25519 (RFC 8032) over the payload bytes; base64url without padding",
        "seed_hex": seed.hex(),
        "public_key": b64url(public),
        "payload": b64url(payload),
        "signature": b64url(sk.sign(payload)),
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in [
        ("derived_keys", derived_keys),
        ("key_wraps", key_wraps),
        ("sealed", sealed),
        ("audit_chain", audit_chain),
        ("partner_keys", partner_keys),
        ("signing", signing),
    ]:
        (OUT / f"{name}.json").write_text(json.dumps(make(), indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
