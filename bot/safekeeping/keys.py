"""The deployment's key (DATA_KEY): a new one (`python -m bot keygen`), and a rotation of the data at rest to a new
one (`python -m bot rotate-key`, with the bot stopped), which is also how data kept without a key are encrypted
the first time.

A rotation touches two things: the database (re-keyed, or encrypted into a copy that replaces it atomically) and
the media files (each re-sealed atomically by MediaStore.reseal). Both steps accept data already under the new
key, so a rotation that stopped half way (a power cut) is finished by running it again with the same new key
(`--new-key`); the new key is printed even then, so it is never lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.musts.media import MediaStore, OtherKeys
from bot.safekeeping import crypto
from bot.safekeeping.health import Problem, check_database
from storage.db import rekey


def keygen() -> str:
    """A new key, as DATA_KEY holds it (32 random bytes, URL-safe base64)."""
    return crypto.generate_key()


class CannotRotate(Exception):
    """The database is not fit to be re-keyed (damaged, not a database, under a third key): `problem` says why;
    nothing was changed."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.reason)
        self.problem = problem


@dataclass
class Rotation:
    """What a rotation did. `database`: 'rekeyed', 'encrypted' (it was plaintext), 'already' (it was under the new
    key: a rotation run again) or 'none' (no database yet)."""

    key: str
    database: str = "none"
    media_changed: int = 0
    media_already: int = 0
    media_damaged: list[str] = field(default_factory=list)


def rotate(database_path: str, media_dir: Path, old: bytes | None, new_text: str) -> Rotation:
    """Bring the database and the media from `old` (None: not encrypted) to the key `new_text`. Raises
    CannotRotate (nothing changed), storage.db.InUse (the bot is running; nothing changed),
    bot.musts.media.OtherKeys (media under a third key: found before anything is changed). Interrupted, running it
    again with the same new key finishes it."""
    new = crypto.parse_key(new_text)
    rotation = Rotation(key=new_text)
    # Media under a third key (neither the old nor the new) would stop the rotation half way: find them before
    # the database is touched, so a refusal changes nothing.
    strangers = MediaStore(media_dir, new).under_other_keys(old, new)
    if strangers:
        raise OtherKeys(strangers)
    path = Path(database_path)
    if path.exists() and path.stat().st_size:
        problem = check_database(path, old)
        if problem is None:
            rekey(str(path), old, new)
            rotation.database = "rekeyed" if old is not None else "encrypted"
        elif check_database(path, new) is None:
            rotation.database = "already"
        else:
            raise CannotRotate(problem)
        # The proof that it worked, before a single media file is touched.
        after = check_database(path, new)
        if after is not None:  # pragma: no cover - SQLCipher re-keyed without an error but cannot read it back
            raise CannotRotate(after)
    resealed = MediaStore(media_dir, new).reseal(old, new)
    rotation.media_changed, rotation.media_already = resealed.changed, resealed.already
    rotation.media_damaged = list(resealed.damaged)
    return rotation
