"""Writing the delivery files: CSV records, OpenSSL `enc` encryption and checksums.

Every file is written as a stream, so a benchmark delivery of millions of rows never sits in
memory. An encrypted file is `b"Salted__"`, an 8-byte salt, then the AES-256-CBC ciphertext
with PKCS#7 padding. Key and IV are PBKDF2-HMAC-SHA256(password, salt, 10000 iterations,
48 bytes) split 32 + 16, which is what `openssl enc -aes-256-cbc -pbkdf2` uses by default
(OpenSSL 1.1.1 and 3.x).
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

DEMO_PASSWORD = "reprise-57-demo"
PBKDF2_ITERATIONS = 10_000
ENCODING = "cp1252"
_BUFFER_SIZE = 1 << 16


def derive_salt(seed: int, relative_path: str) -> bytes:
    """Return the salt of one file: the first 8 bytes of sha256(seed + relative path).

    A fixed salt per file keeps the delivery byte-for-byte reproducible. A real delivery uses
    random salts, but this one contains fictional data only.
    """
    return hashlib.sha256(f"{seed}{relative_path}".encode()).digest()[:8]


class _HashingSink(io.RawIOBase):
    """A binary file that also computes the SHA-256 of what is written to it."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = path.open("wb")
        self.sha256 = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.sha256.update(data)
        self._file.write(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


class _EncryptingSink(io.RawIOBase):
    """A binary stream that encrypts what is written into the OpenSSL `enc` format."""

    def __init__(self, target: _HashingSink, password: str, salt: bytes) -> None:
        super().__init__()
        material = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PBKDF2_ITERATIONS, 48)
        cipher = Cipher(algorithms.AES(material[:32]), modes.CBC(material[32:]))
        self._encryptor = cipher.encryptor()
        self._padder = padding.PKCS7(128).padder()
        self._target = target
        self._target.write(b"Salted__" + salt)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._target.write(self._encryptor.update(self._padder.update(bytes(data))))
        return len(data)

    def close(self) -> None:
        if not self.closed:
            tail = self._encryptor.update(self._padder.finalize()) + self._encryptor.finalize()
            self._target.write(tail)
            self._target.close()
        super().close()


class RecordFile:
    """One delivery file written as cp1252 `;`-separated records ending in CRLF."""

    def __init__(self, sink: _HashingSink, raw: io.RawIOBase, relative_path: str) -> None:
        self.relative_path = relative_path
        self.records = 0
        self._sink = sink
        self._text = io.TextIOWrapper(
            io.BufferedWriter(raw, buffer_size=_BUFFER_SIZE),
            encoding=ENCODING,
            errors="strict",
            newline="",
        )
        # QUOTE_MINIMAL quotes a field only when it contains ';', '"', CR or LF.
        self._writer = csv.writer(self._text, delimiter=";", quotechar='"', lineterminator="\r\n")

    def write_line(self, line: str) -> None:
        """Write a line that is not a record (the FINESS first line), adding CRLF."""
        self._text.write(line + "\r\n")

    def write_header(self, columns: list[str]) -> None:
        """Write the header line; it is not counted as a record."""
        self._writer.writerow(columns)

    def write(self, row: list[str]) -> None:
        """Write one record."""
        self._writer.writerow(row)
        self.records += 1

    def close(self) -> str:
        """Close the file and return the SHA-256 (hex) of the bytes on disk."""
        self._text.close()
        return self._sink.sha256.hexdigest()


class DeliveryWriter:
    """Creates the files of a delivery folder and remembers their checksums."""

    def __init__(self, root: Path, seed: int, encrypt: bool, password: str = DEMO_PASSWORD):
        self.root = root
        self.encrypt = encrypt
        self._seed = seed
        self._password = password
        self.checksums: dict[str, str] = {}

    def open(self, application: str, file_name: str) -> RecordFile:
        """Open `application/file_name` (with `.enc` added when encrypting) for writing."""
        relative_path = f"{application}/{file_name}" + (".enc" if self.encrypt else "")
        path = self.root / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        sink = _HashingSink(path)
        raw: io.RawIOBase = sink
        if self.encrypt:
            raw = _EncryptingSink(sink, self._password, derive_salt(self._seed, relative_path))
        return RecordFile(sink, raw, relative_path)

    def close(self, record_file: RecordFile) -> None:
        """Close a file and record its checksum for SHA256SUMS."""
        self.checksums[record_file.relative_path] = record_file.close()

    def write_checksums(self) -> None:
        """Write SHA256SUMS in `sha256sum` format, sorted by path."""
        lines = [f"{digest}  {path}\n" for path, digest in sorted(self.checksums.items())]
        (self.root / "SHA256SUMS").write_text("".join(lines), encoding="ascii", newline="\n")
