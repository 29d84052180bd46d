"""Decrypt files written by ``openssl enc``, and recognise encrypted formats from their bytes.

An ``openssl enc`` file with a salt is ``b"Salted__"``, an 8-byte salt, then the ciphertext.
The key and IV are derived from the password and the salt by one of two functions:

- PBKDF2-HMAC (``openssl enc -pbkdf2 [-iter N] [-md D]``; OpenSSL 1.1.1 and later default to
  SHA-256 and 10000 iterations);
- ``EVP_BytesToKey`` with one round (``openssl enc`` without ``-pbkdf2``; the digest is MD5 up
  to OpenSSL 1.0.2 and SHA-256 from 1.1.0 on).

CBC ciphertext carries PKCS#7 padding, which is the only check a wrong password fails: openssl
``enc`` has no authentication tag. CTR ciphertext has no padding at all, so a wrong password or a
damaged byte cannot be detected here. Callers check the SHA-256 manifest before decrypting and
the plaintext afterwards (see ``looks_like_text``).

``openssl enc -a`` writes the same bytes in base64, 64 characters a line. It is recognised from
its first characters (``U2FsdGVkX1`` is the base64 form of ``Salted__``), not from the file name.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from migration.delivery.errors import DecryptionError, DeliveryError

SALT_MAGIC = b"Salted__"
BASE64_SALT_MAGIC = b"U2FsdGVkX1"
HEADER_SIZE = 16
BLOCK_SIZE = 16
DEFAULT_CHUNK_SIZE = 1 << 20

# cipher name -> (key length in bytes, block mode)
CIPHERS: dict[str, tuple[int, str]] = {
    "aes-128-cbc": (16, "cbc"),
    "aes-192-cbc": (24, "cbc"),
    "aes-256-cbc": (32, "cbc"),
    "aes-128-ctr": (16, "ctr"),
    "aes-192-ctr": (24, "ctr"),
    "aes-256-ctr": (32, "ctr"),
}
DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
KDFS = ("pbkdf2", "evp-bytes-to-key")

OPENSSL_FORMATS = ("openssl-enc", "openssl-enc-base64")

# Bytes that do not occur in text: the C0 controls except TAB, LF, VT, FF and CR, plus DEL.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F])
_WHITESPACE = b" \t\r\n"


class Writable(Protocol):
    """Destination of plaintext: anything with a binary ``write`` method."""

    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True)
class EncryptionParameters:
    """Encryption parameters of an ``openssl enc`` file: cipher, key derivation, digest, iterations.

    ``iterations`` only applies to PBKDF2: ``openssl enc`` runs ``EVP_BytesToKey`` once.
    """

    cipher: str = "aes-256-cbc"
    kdf: str = "pbkdf2"
    digest: str = "sha256"
    iterations: int = 10000

    def __post_init__(self) -> None:
        if self.cipher not in CIPHERS:
            raise DeliveryError(
                f"cipher {self.cipher!r} is not supported; use one of {', '.join(CIPHERS)}"
            )
        if self.kdf not in KDFS:
            raise DeliveryError(
                f"key derivation {self.kdf!r} is not supported; use one of {', '.join(KDFS)}"
            )
        if self.digest not in DIGESTS:
            raise DeliveryError(
                f"digest {self.digest!r} is not supported; use one of {', '.join(DIGESTS)}"
            )
        if isinstance(self.iterations, bool) or not isinstance(self.iterations, int):
            raise DeliveryError(f"iterations must be a whole number, got {self.iterations!r}")
        if self.iterations < 1:
            raise DeliveryError(f"iterations must be at least 1, got {self.iterations}")

    @property
    def mode(self) -> str:
        """Block mode, ``"cbc"`` or ``"ctr"``."""
        return CIPHERS[self.cipher][1]

    def describe(self) -> str:
        """Return the parameters as a short text for logs and messages."""
        if self.kdf == "pbkdf2":
            derivation = f"PBKDF2-HMAC-{self.digest.upper()}, {self.iterations} iterations"
        else:
            derivation = f"EVP_BytesToKey-{self.digest.upper()}"
        return f"{self.cipher}, {derivation}"


def derive_key_iv(password: str, salt: bytes, params: EncryptionParameters) -> tuple[bytes, bytes]:
    """Derive the key and IV that ``openssl enc`` derives from ``password`` and ``salt``."""
    # surrogateescape gives back the original bytes of a password read from a non-UTF-8
    # environment, which are the bytes openssl used.
    secret = password.encode("utf-8", "surrogateescape")
    key_size = CIPHERS[params.cipher][0]
    size = key_size + BLOCK_SIZE
    digest = DIGESTS[params.digest]()

    if params.kdf == "pbkdf2":
        material = PBKDF2HMAC(
            algorithm=digest, length=size, salt=salt, iterations=params.iterations
        ).derive(secret)
    else:
        material = _evp_bytes_to_key(secret, salt, digest, size)
    return material[:key_size], material[key_size:size]


def _evp_bytes_to_key(secret: bytes, salt: bytes, digest: hashes.HashAlgorithm, size: int) -> bytes:
    # D_1 = H(password || salt), D_i = H(D_{i-1} || password || salt), concatenated.
    material = b""
    block = b""
    while len(material) < size:
        hasher = hashes.Hash(digest)
        hasher.update(block + secret + salt)
        block = hasher.finalize()
        material += block
    return material


def decrypt_openssl_enc(
    data_or_stream: bytes | bytearray | memoryview | BinaryIO,
    password: str,
    *,
    cipher: str = "aes-256-cbc",
    kdf: str = "pbkdf2",
    digest: str = "sha256",
    iterations: int = 10000,
    name: str | None = None,
) -> bytes:
    """Decrypt an ``openssl enc`` file (binary or base64) held in memory or read from a stream.

    Args:
        data_or_stream: The encrypted bytes, or a binary stream positioned at their start.
        password: The password given to ``openssl enc``.
        cipher: ``aes-{128,192,256}-{cbc,ctr}``.
        kdf: ``"pbkdf2"`` or ``"evp-bytes-to-key"``.
        digest: Digest of the key derivation (``md5``, ``sha1``, ``sha256``, ``sha512``...).
        iterations: PBKDF2 iterations.
        name: File name used in error messages.

    Returns:
        The plaintext.

    Raises:
        DecryptionError: No ``Salted__`` header, truncated data, bad base64 or a padding failure
            (wrong password or damaged file).
    """
    if isinstance(data_or_stream, bytes | bytearray | memoryview):
        source: BinaryIO = io.BytesIO(bytes(data_or_stream))
    else:
        source = data_or_stream
    output = io.BytesIO()
    decrypt_openssl_enc_stream(
        source,
        output,
        password,
        params=EncryptionParameters(cipher, kdf, digest, iterations),
        name=name,
    )
    return output.getvalue()


def decrypt_openssl_enc_stream(
    source: Path | BinaryIO,
    destination: Writable,
    password: str,
    *,
    params: EncryptionParameters | None = None,
    name: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> int:
    """Decrypt an ``openssl enc`` file chunk by chunk into ``destination``.

    Memory use stays around ``chunk_size`` whatever the file size. On failure ``destination``
    may already hold part of the plaintext: the caller must discard it.

    Args:
        source: Path of the encrypted file, or a binary stream.
        destination: Binary stream the plaintext is written to.
        password: The password given to ``openssl enc``.
        params: Cipher and key derivation; default aes-256-cbc with PBKDF2-HMAC-SHA256, 10000
            iterations (what ``openssl enc -aes-256-cbc -pbkdf2`` writes).
        name: File name used in error messages; default the path or the stream's name.
        chunk_size: Bytes read at a time.

    Returns:
        The number of plaintext bytes written.

    Raises:
        DecryptionError: As for ``decrypt_openssl_enc``.
    """
    params = params or EncryptionParameters()
    if isinstance(source, Path):
        with source.open("rb") as stream:
            return decrypt_openssl_enc_stream(
                stream,
                destination,
                password,
                params=params,
                name=name or str(source),
                chunk_size=chunk_size,
            )

    label = name or str(getattr(source, "name", "<data>"))
    salt, body = _open_body(source, label, chunk_size)
    key, iv = derive_key_iv(password, salt, params)
    decryptor = _cipher(params, key, iv).decryptor()
    unpadder = padding.PKCS7(BLOCK_SIZE * 8).unpadder() if params.mode == "cbc" else None

    ciphertext_size = 0
    written = 0
    for chunk in body:
        ciphertext_size += len(chunk)
        plain = decryptor.update(chunk)
        if unpadder is not None:
            plain = unpadder.update(plain)
        destination.write(plain)
        written += len(plain)

    if params.mode == "cbc" and (ciphertext_size == 0 or ciphertext_size % BLOCK_SIZE):
        raise DecryptionError(
            f"{label}: the file is truncated or damaged: its encrypted data "
            f"({ciphertext_size} bytes) is not a whole number of {BLOCK_SIZE}-byte blocks; "
            "ask the sender for a new copy"
        )
    plain = decryptor.finalize()
    if unpadder is not None:
        try:
            plain = unpadder.update(plain) + unpadder.finalize()
        except ValueError:
            raise DecryptionError(f"{label}: wrong password, or the file is damaged") from None
    destination.write(plain)
    return written + len(plain)


def probe_openssl_enc(
    source: Path, password: str, params: EncryptionParameters, *, expect_text: bool = True
) -> bool:
    """Tell, without decrypting the whole file, whether ``params`` and ``password`` fit it.

    Only the first block and, for CBC, the last block are decrypted: the padding must be valid
    and, with ``expect_text``, the first block must contain no control byte. For random bytes a
    wrong guess passes about 1 time in 1600 (1 in 256 without ``expect_text``), so the full
    decryption must still check its result.
    """
    with source.open("rb") as stream:
        salt, body = _open_body(stream, str(source), DEFAULT_CHUNK_SIZE)
        first, before_last, last, size = _first_and_last_blocks(body)
    if size < BLOCK_SIZE or (params.mode == "cbc" and size % BLOCK_SIZE):
        return False

    key, iv = derive_key_iv(password, salt, params)
    first_plain = _cipher(params, key, iv).decryptor().update(first)
    if expect_text and not looks_like_text(first_plain, max_ratio=0.0):
        return False
    if params.mode != "cbc":
        return True

    chain = before_last if size > BLOCK_SIZE else iv
    last_plain = Cipher(algorithms.AES(key), modes.CBC(chain)).decryptor().update(last)
    unpadder = padding.PKCS7(BLOCK_SIZE * 8).unpadder()
    try:
        unpadder.update(last_plain)
        unpadder.finalize()
    except ValueError:
        return False
    return True


def _first_and_last_blocks(body: Iterable[bytes]) -> tuple[bytes, bytes, bytes, int]:
    head = b""
    tail = b""
    size = 0
    for chunk in body:
        size += len(chunk)
        if len(head) < BLOCK_SIZE:
            head = (head + chunk)[:BLOCK_SIZE]
        tail = (tail + chunk)[-2 * BLOCK_SIZE :]
    return head, tail[:-BLOCK_SIZE], tail[-BLOCK_SIZE:], size


def _cipher(params: EncryptionParameters, key: bytes, iv: bytes) -> Cipher:
    mode = modes.CBC(iv) if params.mode == "cbc" else modes.CTR(iv)
    return Cipher(algorithms.AES(key), mode)


def _open_body(source: BinaryIO, label: str, chunk_size: int) -> tuple[bytes, Iterator[bytes]]:
    """Read the header of an openssl enc stream; return the salt and the ciphertext chunks."""
    chunks: Iterator[bytes] = iter(lambda: source.read(chunk_size), b"")
    # Enough bytes to tell binary from base64 even when chunks are tiny.
    first = b""
    for chunk in chunks:
        first += chunk
        if len(first) >= 2 * HEADER_SIZE:
            break
    if first.lstrip(_WHITESPACE).startswith(BASE64_SALT_MAGIC):
        chunks = _decode_base64(itertools.chain([first], chunks), label)
    else:
        chunks = itertools.chain([first], chunks)

    header = b""
    for chunk in chunks:
        header += chunk
        if len(header) >= HEADER_SIZE:
            break
    if not header:
        raise DecryptionError(f"{label}: the file is empty; ask the sender for a new copy")
    if not header.startswith(SALT_MAGIC[: len(header)]):
        raise DecryptionError(
            f"{label}: not an OpenSSL enc file with a salt (it does not start with Salted__); "
            "check the file, or the format declared in livraison.yaml"
        )
    if len(header) < HEADER_SIZE:
        raise DecryptionError(
            f"{label}: the file is truncated: {len(header)} bytes, shorter than the "
            f"{HEADER_SIZE}-byte OpenSSL header; ask the sender for a new copy"
        )
    return header[8:HEADER_SIZE], itertools.chain([header[HEADER_SIZE:]], chunks)


def _decode_base64(chunks: Iterable[bytes], label: str) -> Iterator[bytes]:
    pending = b""
    for chunk in chunks:
        pending += chunk.translate(None, _WHITESPACE)
        usable = len(pending) - len(pending) % 4
        if usable:
            yield _b64decode(pending[:usable], label)
            pending = pending[usable:]
    if pending:
        raise DecryptionError(
            f"{label}: the base64 text is truncated or damaged (its length is not a multiple "
            "of 4 characters); ask the sender for a new copy"
        )


def _b64decode(text: bytes, label: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise DecryptionError(
            f"{label}: the file looks like base64 (openssl enc -a) but contains characters that "
            "are not base64; the file is damaged"
        ) from None


def looks_like_text(sample: bytes, *, max_ratio: float = 0.01) -> bool:
    """Tell whether ``sample`` (the start of a file) looks like text in a single-byte encoding.

    Text has almost no C0 control bytes besides TAB, CR and LF, while random bytes (a wrong
    decryption) have about 11 % of them (28 of the 256 byte values). A UTF-16 byte order mark
    counts as text.

    Args:
        sample: Bytes to inspect.
        max_ratio: Largest share of control bytes still taken as text.
    """
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if not sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls <= max_ratio * len(sample)


def detect_format(path: Path) -> str:
    """Recognise a delivered file's format from its first bytes, whatever its name.

    Returns:
        One of ``"openssl-enc"``, ``"openssl-enc-base64"``, ``"zip"``, ``"7z"``, ``"gzip"``,
        ``"openpgp"``, ``"openpgp-armored"``, ``"plaintext"``, ``"empty"`` or ``"unknown"``
        (which includes ``openssl enc -nosalt`` output: it has no header to recognise).
    """
    with Path(path).open("rb") as stream:
        head = stream.read(4096)
    return detect_format_bytes(head)


def detect_format_bytes(head: bytes) -> str:
    """Recognise a format from the first bytes of a file (see ``detect_format``)."""
    if not head:
        return "empty"
    if head.startswith(SALT_MAGIC):
        return "openssl-enc"
    if head.lstrip(_WHITESPACE).startswith(BASE64_SALT_MAGIC):
        return "openssl-enc-base64"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.lstrip(_WHITESPACE).startswith(b"-----BEGIN PGP MESSAGE-----"):
        return "openpgp-armored"
    # First packet of an OpenPGP message: public-key or symmetric-key encrypted session key
    # (tags 1 and 3), in the old (0x84-0x87, 0x8C-0x8F) or new (0xC1, 0xC3) header format.
    if head[0] in {0x84, 0x85, 0x86, 0x87, 0x8C, 0x8D, 0x8E, 0x8F, 0xC1, 0xC3}:
        return "openpgp"
    if looks_like_text(head):
        return "plaintext"
    return "unknown"


def ensure_decryptable(file_format: str, label: str) -> None:
    """Raise unless ``file_format`` is an ``openssl enc`` format this module decrypts.

    Raises:
        DeliveryError: The format is another archive or encryption format, plain text, empty
            or unknown.
    """
    if file_format in OPENSSL_FORMATS:
        return
    if file_format == "plaintext":
        raise DeliveryError(
            f"{label}: the file is not encrypted (it is plain text) although its name ends in "
            ".enc; rename it without .enc or ask the sender for the encrypted file"
        )
    if file_format == "empty":
        raise DeliveryError(f"{label}: the file is empty; ask the sender for a new copy")
    if file_format == "unknown":
        raise DeliveryError(
            f"{label}: unknown file format (no OpenSSL Salted__ header, not zip, 7z, gzip or "
            "OpenPGP); files written with openssl enc -nosalt cannot be recognised"
        )
    # TODO: decrypt zip (pyzipper), 7z (py7zr) and OpenPGP deliveries once a real delivery in
    # one of these formats is available to test against.
    raise DeliveryError(
        f"{label}: format {file_format} is not supported yet; only openssl enc files "
        "(binary or base64) can be decrypted"
    )
