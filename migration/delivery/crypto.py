"""Decrypt files written by ``openssl enc``, and recognise encrypted formats from their bytes.

An ``openssl enc`` file with a salt is ``b"Salted__"``, an 8-byte salt, then the ciphertext.
The key and IV are derived from the password and the salt by one of two functions:

- PBKDF2-HMAC (``openssl enc -pbkdf2 [-iter N] [-md D]``; OpenSSL 1.1.1 and later default to
  SHA-256 and 10000 iterations);
- ``EVP_BytesToKey`` with one round (``openssl enc`` without ``-pbkdf2``; the digest is MD5 up
  to OpenSSL 1.0.2 and SHA-256 from 1.1.0 on).

The file carries neither the cipher nor the key derivation: they come from the delivery
configuration or from trial (see ``migration.delivery.config``).

CBC ciphertext carries PKCS#7 padding, which is the only check a wrong password fails: openssl
``enc`` has no authentication tag. The stream modes (CTR, CFB, OFB, ChaCha20) have no padding at
all, so a wrong password or a damaged byte cannot be detected here. Callers check the SHA-256
manifest before decrypting and the plaintext afterwards (see ``looks_like_text`` and
``migration.delivery.inventory``).

``openssl enc -a`` writes the same bytes in base64, 64 characters a line. It is recognised from
its first characters (``U2FsdGVkX1`` is the base64 form of ``Salted__``), not from the file name.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from migration.delivery.errors import (
    DecryptionError,
    DeliveryError,
    PasswordOrDamageError,
    TruncatedFileError,
)

try:  # cryptography 43 and later keep these among the "decrepit" (legacy) primitives.
    from cryptography.hazmat.decrepit.ciphers.algorithms import Camellia, TripleDES
    from cryptography.hazmat.decrepit.ciphers.modes import CFB, OFB
except ImportError:  # pragma: no cover - older cryptography
    Camellia, TripleDES = algorithms.Camellia, algorithms.TripleDES
    CFB, OFB = modes.CFB, modes.OFB

SALT_MAGIC = b"Salted__"
BASE64_SALT_MAGIC = b"U2FsdGVkX1"
HEADER_SIZE = 16
# AES block size; also the size of the Salted__ header. 3DES has 8-byte blocks (CipherSpec).
BLOCK_SIZE = 16
DEFAULT_CHUNK_SIZE = 1 << 20


@dataclass(frozen=True)
class CipherSpec:
    """Parameters of one ``openssl enc`` cipher: key and IV sizes, block mode and block size.

    ``mode`` is ``"cbc"`` (PKCS#7 padded) or a stream mode: ``"ctr"``, ``"cfb"``, ``"ofb"`` or
    ``"stream"`` (ChaCha20, whose 16-byte IV is a 4-byte little-endian counter and a 12-byte
    nonce, the layout ``cryptography`` expects).
    """

    key_size: int
    iv_size: int
    mode: str
    algorithm: Callable[[bytes], object]
    block_size: int = 16

    def __getitem__(self, index: int) -> object:
        # Earlier versions stored (key size, mode) tuples; keep indexing working.
        return (self.key_size, self.mode)[index]


def _aes(key_size: int, mode: str) -> CipherSpec:
    return CipherSpec(key_size, 16, mode, algorithms.AES)


# Ciphers of ``openssl enc`` (OpenSSL 3 default provider) that this module decrypts.
CIPHERS: dict[str, CipherSpec] = {
    **{
        f"aes-{bits}-{mode}": _aes(bits // 8, mode)
        for mode in ("cbc", "ctr", "cfb", "ofb")
        for bits in (128, 192, 256)
    },
    **{
        f"camellia-{bits}-cbc": CipherSpec(bits // 8, 16, "cbc", Camellia)
        for bits in (128, 192, 256)
    },
    "des-ede3-cbc": CipherSpec(24, 8, "cbc", TripleDES, block_size=8),
    "chacha20": CipherSpec(32, 16, "stream", algorithms.ChaCha20),
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
OPENPGP_FORMATS = ("openpgp", "openpgp-armored")
ARCHIVE_FORMATS = ("zip", "7z", "tar", "gzip")
# Formats intake can open: decrypt, or unpack (archives may be password-protected or not).
SUPPORTED_FORMATS = (*OPENSSL_FORMATS, *OPENPGP_FORMATS, *ARCHIVE_FORMATS)

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
        """Block mode: ``"cbc"``, or ``"ctr"``, ``"cfb"``, ``"ofb"``, ``"stream"`` (no padding)."""
        return CIPHERS[self.cipher].mode

    @property
    def padded(self) -> bool:
        """Whether the ciphertext carries PKCS#7 padding, the only check of a wrong password."""
        return self.mode == "cbc"

    @property
    def block_size(self) -> int:
        """Cipher block size in bytes (the padding unit in CBC)."""
        return CIPHERS[self.cipher].block_size

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
    spec = CIPHERS[params.cipher]
    key_size = spec.key_size
    size = key_size + spec.iv_size
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
    block = params.block_size
    unpadder = padding.PKCS7(block * 8).unpadder() if params.padded else None

    ciphertext_size = 0
    written = 0
    for chunk in body:
        ciphertext_size += len(chunk)
        plain = decryptor.update(chunk)
        if unpadder is not None:
            plain = unpadder.update(plain)
        destination.write(plain)
        written += len(plain)

    if params.padded and (ciphertext_size == 0 or ciphertext_size % block):
        raise TruncatedFileError(
            f"{label}: the file is truncated or damaged: its encrypted data "
            f"({ciphertext_size} bytes) is not a whole number of {block}-byte blocks; "
            "ask the sender for a new copy"
        )
    plain = decryptor.finalize()
    if unpadder is not None:
        try:
            plain = unpadder.update(plain) + unpadder.finalize()
        except ValueError:
            raise PasswordOrDamageError(label) from None
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
    block = params.block_size
    with source.open("rb") as stream:
        salt, body = _open_body(stream, str(source), DEFAULT_CHUNK_SIZE)
        first, before_last, last, size = _first_and_last_blocks(body, block)
    if size < block or (params.padded and size % block):
        return False

    key, iv = derive_key_iv(password, salt, params)
    first_plain = _cipher(params, key, iv).decryptor().update(first)
    if expect_text and not looks_like_text(first_plain, max_ratio=0.0):
        return False
    if not params.padded:
        return True

    # In CBC the last block decrypts alone: its IV is the ciphertext block before it.
    chain = before_last if size > block else iv
    last_plain = _cipher(params, key, chain).decryptor().update(last)
    unpadder = padding.PKCS7(block * 8).unpadder()
    try:
        unpadder.update(last_plain)
        unpadder.finalize()
    except ValueError:
        return False
    return True


def _first_and_last_blocks(body: Iterable[bytes], block: int) -> tuple[bytes, bytes, bytes, int]:
    head = b""
    tail = b""
    size = 0
    for chunk in body:
        size += len(chunk)
        if len(head) < block:
            head = (head + chunk)[:block]
        tail = (tail + chunk)[-2 * block :]
    return head, tail[:-block], tail[-block:], size


def _cipher(params: EncryptionParameters, key: bytes, iv: bytes) -> Cipher:
    spec = CIPHERS[params.cipher]
    if spec.mode == "stream":
        return Cipher(spec.algorithm(key, iv), mode=None)
    mode_classes = {"cbc": modes.CBC, "ctr": modes.CTR, "cfb": CFB, "ofb": OFB}
    return Cipher(spec.algorithm(key), mode_classes[spec.mode](iv))


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
        raise TruncatedFileError(
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
        raise TruncatedFileError(
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
        ``"tar"``, ``"openpgp"`` (binary, password-encrypted as by ``gpg -c``),
        ``"openpgp-armored"``, ``"openpgp-public-key"`` (encrypted for a key pair),
        ``"plaintext"``, ``"empty"`` or ``"unknown"`` (which includes ``openssl enc -nosalt``
        output: it has no header to recognise).
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
    # POSIX (ustar\0) and GNU (ustar  \0) tar headers carry their magic at offset 257.
    if head[257:262] == b"ustar":
        return "tar"
    if head.lstrip(_WHITESPACE).startswith(b"-----BEGIN PGP MESSAGE-----"):
        return "openpgp-armored"
    packet = _openpgp_first_packet(head)
    if packet == 3:
        return "openpgp"
    if packet == 1:
        return "openpgp-public-key"
    if looks_like_text(head):
        return "plaintext"
    return "unknown"


def _openpgp_first_packet(head: bytes) -> int | None:
    """Return the tag of the first OpenPGP packet when it is a session key packet, else None.

    A message encrypted with ``gpg -c`` starts with a symmetric-key encrypted session key
    packet (tag 3, versions 4 to 6). One encrypted for a key pair starts with a public-key
    encrypted session key packet (tag 1, versions 3 or 6). The header byte is 0x84-0x87 or
    0x8C-0x8F in the old format and 0xC1 or 0xC3 in the new one. The version byte after the
    length is also checked, because 0x8C, 0xC1 and 0xC3 are also letters in Windows-1252.
    """
    if len(head) < 3:
        return None
    first = head[0]
    if first in (0xC1, 0xC3):
        tag = first & 0x3F
        length_octet = head[1]
        if length_octet < 192:
            offset = 2
        elif length_octet < 224:
            offset = 3
        else:
            return None
    elif first & 0xC0 == 0x80:
        tag = (first >> 2) & 0x0F
        offset = 1 + {0: 1, 1: 2, 2: 4, 3: 0}[first & 0x03]
    else:
        return None
    if len(head) <= offset:
        return None
    version = head[offset]
    if tag == 3 and version in (4, 5, 6):
        return 3
    if tag == 1 and version in (3, 6):
        return 1
    return None


def ensure_decryptable(file_format: str, label: str) -> None:
    """Raise unless intake can open ``file_format`` (decrypt it or unpack it).

    Raises:
        DeliveryError: The file is plain text, empty, of an unknown format, or encrypted for an
            OpenPGP key pair.
    """
    if file_format in SUPPORTED_FORMATS:
        return
    if file_format == "plaintext":
        suffix = Path(label).suffix or ".enc"
        raise DeliveryError(
            f"{label}: the file is not encrypted (it is plain text) although its name ends in "
            f"{suffix}; rename it without {suffix} or ask the sender for the encrypted file"
        )
    if file_format == "empty":
        raise DeliveryError(f"{label}: the file is empty; ask the sender for a new copy")
    if file_format == "openpgp-public-key":
        raise DeliveryError(
            f"{label}: the OpenPGP file is encrypted for a key pair, not with a password; "
            "ask the sender for a file encrypted with the delivery password (gpg -c)"
        )
    raise DeliveryError(
        f"{label}: unknown file format (no OpenSSL Salted__ header, not zip, 7z, tar, gzip or "
        "OpenPGP); files written with openssl enc -nosalt cannot be recognised"
    )


def ensure_openssl(file_format: str, label: str) -> None:
    """Raise unless ``file_format`` is an ``openssl enc`` format (binary or base64).

    Raises:
        DeliveryError: As ``ensure_decryptable``, or the file is in another supported format.
    """
    ensure_decryptable(file_format, label)
    if file_format not in OPENSSL_FORMATS:
        raise DeliveryError(f"{label}: expected an openssl enc file, found format {file_format}")
