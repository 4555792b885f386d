"""API keys: bearer tokens, stored only as their SHA-256, created with ``landslide serve key create``.

A token is ``lsk_`` + 32 random bytes (:func:`secrets.token_urlsafe`, 256 bits). It is printed
once, when created; the database keeps its SHA-256 hex digest, so a copy of the database gives
no usable token. A fast hash suffices because the token is random and long: a slow password hash
(bcrypt, Argon2) protects low-entropy secrets people choose, which these are not (the practice of
e.g. GitHub's and PyPI's API tokens). A request sends ``Authorization: Bearer <token>``
(RFC 6750); a missing, unknown or revoked token is answered 401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, fields

from ..errors import ConfigError
from .problems import Problem
from .quotas import Quota
from .store import JobStore

__all__ = ["ApiKey", "create_key", "list_keys", "revoke_key", "authenticate", "hash_token", "TOKEN_PREFIX"]

TOKEN_PREFIX = "lsk_"


@dataclass(frozen=True)
class ApiKey:
    """A key as the service knows it (never the token)."""

    id: str
    name: str
    quota: Quota
    revoked: bool = False


def hash_token(token: str) -> str:
    """SHA-256 hex digest of ``token`` (what the database stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _key(row: dict) -> ApiKey:
    quota = Quota(**{f.name: row[f.name] for f in fields(Quota)})
    return ApiKey(row["id"], row["name"], quota, bool(row["revoked"]))


def create_key(store: JobStore, name: str, quota: Quota) -> tuple[ApiKey, str]:
    """A new key named ``name`` with ``quota``; returns it and its token (shown once, never stored)."""
    if not name.strip() or len(name) > 200:
        raise ConfigError(f"key name {name!r} must be 1 to 200 characters, e.g. --name analyst-team")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key_id = "k" + secrets.token_hex(6)
    store.insert_key(
        {
            "id": key_id,
            "name": name.strip(),
            "token_hash": hash_token(token),
            "created": time.time(),
            "revoked": False,
            **{f.name: getattr(quota, f.name) for f in fields(Quota)},
        }
    )
    return ApiKey(key_id, name.strip(), quota), token


def list_keys(store: JobStore) -> list[ApiKey]:
    return [_key(r) for r in store.list_keys()]


def revoke_key(store: JobStore, key_id: str) -> ApiKey:
    """Revoke key ``key_id``; its token is refused from the next request on."""
    if not store.revoke_key(key_id):
        known = ", ".join(k.id for k in list_keys(store)) or "none"
        raise ConfigError(f"no key {key_id!r}; keys: {known} (landslide serve key list)")
    return next(k for k in list_keys(store) if k.id == key_id)


def authenticate(store: JobStore, authorization: str | None) -> ApiKey:
    """The key of an ``Authorization: Bearer`` header value; raises a 401 :class:`Problem` otherwise."""
    challenge = {"WWW-Authenticate": 'Bearer realm="landslide"'}
    if not authorization:
        raise Problem(
            401,
            "unauthorized",
            "API key required",
            "send the header 'Authorization: Bearer <token>' with a key from 'landslide serve key create'",
            headers=challenge,
        )
    scheme, _, token = authorization.partition(" ")
    row = store.key_by_hash(hash_token(token.strip())) if scheme.lower() == "bearer" and token.strip() else None
    if row is None or row["revoked"]:
        raise Problem(
            401,
            "unauthorized",
            "Unknown or revoked API key",
            "the bearer token is not a valid key of this service",
            headers=challenge,
        )
    return _key(row)
