"""
File names: the one canonical rule for what a tenant may call an object.

A name is a relative path inside the tenant's namespace; `/` separates
virtual folders. The full S3 key is always `namespace.prefix + name`, and the
name is checked exactly as given: nothing is normalised (no `normpath`, no
Unicode NFC, no slash collapsing), so the bytes a client sends are the bytes
stored and listed, and no spelling can reach outside the prefix.

Refused with 400 `invalid_name`: empty names, names of only whitespace, a
leading `/`, a trailing `/` (that is a folder, not a file), `//`, `.` or `..`
segments, control characters (C0, DEL, C1: CR, LF and TAB included), a
backslash (Windows clients mean it as a separator), text that is not valid
Unicode, and names whose full key passes S3's 1024 UTF-8 bytes.
"""

from __future__ import annotations

import unicodedata

from pockity.exceptions import InvalidInput

MAX_KEY_BYTES = 1024


class InvalidName(InvalidInput):
    code = "invalid_name"
    default_message = "The file name is not valid."


def _refuse(message: str, name: str, **details) -> InvalidName:
    return InvalidName(message, details={"name": name, **details})


def validate_name(name, *, prefix: str) -> str:
    """Return `name` unchanged if it is a valid file name under `prefix`."""
    if not isinstance(name, str):
        raise InvalidName("A file name must be a string.", details={"name": None})
    if name == "":
        raise _refuse("The file name is empty.", name)
    if name.strip() == "":
        raise _refuse("The file name is only whitespace.", name)

    for char in name:
        if unicodedata.category(char) == "Cc":
            raise _refuse(
                "The file name contains a control character "
                f"(U+{ord(char):04X}); CR, LF, TAB and the like are not allowed.",
                name,
            )
        if char == "\\":
            raise _refuse(
                "The file name contains a backslash; use '/' for folders.", name
            )
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise _refuse("The file name is not valid Unicode text.", name) from None

    if name.startswith("/"):
        raise _refuse("The file name must not start with '/'.", name)
    if name.endswith("/"):
        raise _refuse("The file name must not end with '/': that names a folder.", name)
    if "//" in name:
        raise _refuse("The file name must not contain an empty folder ('//').", name)
    if any(segment in (".", "..") for segment in name.split("/")):
        raise _refuse("The file name must not contain '.' or '..' segments.", name)

    key_bytes = len(prefix.encode("utf-8")) + len(encoded)
    if key_bytes > MAX_KEY_BYTES:
        raise _refuse(
            f"The file name is too long: the full key would be {key_bytes} bytes "
            f"of UTF-8, the limit is {MAX_KEY_BYTES} bytes including the "
            f"namespace prefix ({len(prefix.encode('utf-8'))} bytes).",
            name,
            keyBytes=key_bytes,
            limit=MAX_KEY_BYTES,
        )
    return name


def key_for(name: str, *, prefix: str) -> str:
    """The S3 key of a validated name."""
    return prefix + validate_name(name, prefix=prefix)


def name_from_key(key: str, *, prefix: str) -> str | None:
    """The tenant-visible name of a listed key, or None for keys to hide.

    Hidden: keys outside the prefix, the folder marker itself, and any key
    whose remainder `validate_name` refuses: folder markers made by other
    tools (ending in `/`), and names put there outside the API such as
    `a//b.txt`, `../x` or a whitespace-only name. No upload can create them
    and no API call could address them, so the listing, the analytics and
    a usage resync all leave them out alike (they are still removed when the
    namespace is purged). Hiding them is simpler and safer than letting
    deletes accept names that uploads refuse.
    """
    if not key.startswith(prefix):
        return None
    name = key[len(prefix) :]
    try:
        return validate_name(name, prefix=prefix)
    except InvalidName:
        return None


def join_upload_name(path: str | None, file_name: str) -> str:
    """`path` + `/` + `file_name` for an upload into a folder.

    A `path` given with its trailing `/` is joined as is; the result is
    validated as a whole afterwards, so `..` or `//` in either part is
    still refused.
    """
    if not path:
        return file_name
    if path.endswith("/"):
        return path + file_name
    return f"{path}/{file_name}"
