"""The sandbox's file storage: uploads and user media, addressable by file_id and by file_path."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass

# Where Telegram puts each kind of file under /file/bot<token>/, and a default extension.
_FOLDERS = {
    "photo": ("photos", "jpg"), "voice": ("voice", "oga"), "video": ("videos", "mp4"),
    "video_note": ("video_notes", "mp4"), "audio": ("music", "mp3"), "animation": ("animations", "mp4"),
    "document": ("documents", "bin"), "sticker": ("stickers", "webp"),
}
_DEFAULT_MIME = {
    "voice": "audio/ogg", "video": "video/mp4", "audio": "audio/mpeg", "animation": "video/mp4",
}
_KEEPS_EXTENSION = frozenset({"document", "audio", "video", "animation"})
# Telegram's type names, used in its "can't use file of type X as Y" refusal.
_TYPE_NAMES = {
    "photo": "Photo", "voice": "Voice", "video": "Video", "video_note": "VideoNote", "audio": "Audio",
    "animation": "Animation", "document": "Document", "sticker": "Sticker",
}
# Two sizes per photo, as Telegram always offers a thumbnail next to the full picture; a bot that
# takes photo[0] instead of photo[-1] gets the small one, as it would in production.
_PHOTO_SIZES = ((320, 240), (1280, 960))


def type_name(kind: str) -> str:
    return _TYPE_NAMES[kind]


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:  # calls are logged and compared; keep the bytes out of sight
        return f"Upload({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"


@dataclass
class StoredFile:
    kind: str
    data: bytes
    file_path: str
    media: dict | list  # the Bot API object(s) describing the file, reused when it is resent


class FileStore:
    def __init__(self) -> None:
        self._numbers = itertools.count(1)
        self._by_id: dict[str, tuple[StoredFile, str]] = {}  # file_id -> (file, file_unique_id)
        self._by_path: dict[str, StoredFile] = {}

    def add(self, kind: str, data: bytes, *, file_name: str | None = None, mime_type: str | None = None,
            **attributes) -> dict | list:
        """Store new content and return its media object (a PhotoSize list for photos).

        ``attributes`` are the kind's descriptive fields (duration, width, performer, ...);
        sensible defaults fill in whatever Telegram would always report.
        """
        number = next(self._numbers)
        folder, extension = _FOLDERS[kind]
        # Telegram re-encodes photos, voice notes and stickers; other files keep their extension.
        named = file_name.rsplit(".", 1)[-1] if file_name and "." in file_name else ""
        if kind in _KEEPS_EXTENSION and named.isalnum() and len(named) <= 5:
            extension = named.lower()
        stored = StoredFile(kind, data, f"{folder}/file_{number}.{extension}", media={})
        if kind == "photo":
            stored.media = [
                {**self._register(stored, f"{kind}{number}s{size}"), "width": w, "height": h,
                 "file_size": len(data)}
                for size, (w, h) in enumerate(_PHOTO_SIZES)
            ]
        else:
            media = {**self._register(stored, f"{kind}{number}"), "file_size": len(data)}
            media.update(_defaults(kind))
            if file_name and kind in ("document", "audio", "animation", "video"):
                media["file_name"] = file_name
            mime = mime_type or _DEFAULT_MIME.get(kind)
            if mime and kind not in ("sticker", "video_note"):
                media["mime_type"] = mime
            media.update({k: v for k, v in attributes.items() if v is not None})
            stored.media = media
        self._by_path[stored.file_path] = stored
        return copy.deepcopy(stored.media)

    def get(self, file_id: str) -> StoredFile | None:
        entry = self._by_id.get(file_id)
        return entry[0] if entry else None

    def media(self, file_id: str) -> dict | list:
        """A fresh copy of the media object for an existing file, for sending it again."""
        return copy.deepcopy(self._by_id[file_id][0].media)

    def info(self, file_id: str) -> dict | None:
        """The File object getFile returns, or None for an unknown file_id."""
        entry = self._by_id.get(file_id)
        if entry is None:
            return None
        stored, unique_id = entry
        return {"file_id": file_id, "file_unique_id": unique_id, "file_size": len(stored.data),
                "file_path": stored.file_path}

    def read(self, file_path: str) -> bytes | None:
        stored = self._by_path.get(file_path)
        return stored.data if stored else None

    def _register(self, stored: StoredFile, label: str) -> dict:
        # Readable ids make failing tests easier to follow; bots must treat them as opaque anyway.
        file_id, unique_id = f"SBX-{label}", f"U{label}"
        self._by_id[file_id] = (stored, unique_id)
        return {"file_id": file_id, "file_unique_id": unique_id}


def _defaults(kind: str) -> dict:
    """The fields Telegram always fills in for a kind (the ones PTB requires)."""
    return {
        "voice": {"duration": 3},
        "video": {"width": 1280, "height": 720, "duration": 5},
        "video_note": {"length": 240, "duration": 5},
        "audio": {"duration": 30},
        "animation": {"width": 480, "height": 270, "duration": 2},
        "sticker": {"type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False,
                    "emoji": "👍"},
    }.get(kind, {})
