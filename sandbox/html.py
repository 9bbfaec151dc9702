"""Telegram's parse_mode=HTML: turn marked-up text into plain text plus message entities.

This follows the parser in tdlib (td/telegram/MessageEntity.cpp, ``parse_html``), which is what
the Bot API runs, so the same input is accepted or refused, with the same error messages:

* only Telegram's tags are known; anything else, an unclosed or mismatched tag is an error;
* ``&lt; &gt; &amp; &quot;`` and numeric references are decoded, but an ``&`` that does not start
  one of those is kept as a literal character (Telegram does not reject ``AT&T``);
* attribute values may be quoted or bare name tokens; only a few attributes mean something.

Offsets and lengths are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

_TAGS = frozenset({
    "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre",
    "tg-spoiler", "span", "blockquote", "tg-emoji",
})
_SIMPLE_ENTITIES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
}
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# tdlib's is_space: the characters that end a tag name or separate attributes.
_SPACE = frozenset(" \t\r\n\0\v\f")
_USER_LINK = "tg://user?id="


class HtmlParseError(ValueError):
    """The markup is refused; str(error) is Telegram's wording (without the "can't parse" prefix)."""


def parse_html(source: str) -> tuple[str, list[dict]]:
    """Return (plain text, entities) for ``source`` or raise HtmlParseError."""
    return _Parser(source).run()


def _units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


class _Open:
    """A start tag waiting for its end tag."""

    __slots__ = ("argument", "offset", "tag", "text_start")

    def __init__(self, tag: str, argument: str, offset: int, text_start: int):
        self.tag = tag
        self.argument = argument
        self.offset = offset  # UTF-16 offset in the plain text
        self.text_start = text_start  # index into the plain text buffer


class _Parser:
    def __init__(self, source: str):
        self.src = source
        self.pos = 0
        self.out: list[str] = []
        self.utf16 = 0
        self.entities: list[dict] = []
        self.open: list[_Open] = []

    # -- reading helpers ------------------------------------------------------------------------

    def at(self, i: int) -> str:
        """The character at ``i``; "\\0" past the end, as tdlib reads a NUL-terminated string."""
        return self.src[i] if i < len(self.src) else "\0"

    def byte_offset(self, i: int) -> int:
        """Telegram reports positions as UTF-8 byte offsets into the original text."""
        return len(self.src[:i].encode("utf-8"))

    def decode_reference(self, i: int) -> tuple[str, int] | None:
        """Decode the character reference starting at the "&" at ``i``: (character, next index)."""
        end = i + 1
        if self.at(end) == "#":
            end += 1
            hexadecimal = self.at(end) == "x"
            if hexadecimal:
                end += 1
            digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
            start = end
            while self.at(end) in digits:
                end += 1
            number = int(self.src[start:end], 16 if hexadecimal else 10) if end > start else 0
            if number == 0 or number >= 0x10FFFF or end - i >= 10:
                return None
            char = chr(number)
        else:
            start = end
            while self.at(end).isascii() and self.at(end).isalpha():
                end += 1
            char = _NAMED_REFERENCES.get(self.src[start:end])
            if char is None:
                return None
        if self.at(end) == ";":
            end += 1
        return char, end

    # -- the main loop --------------------------------------------------------------------------

    def run(self) -> tuple[str, list[dict]]:
        while self.pos < len(self.src):
            char = self.src[self.pos]
            if char == "&":
                decoded = self.decode_reference(self.pos)
                if decoded is not None:
                    self.emit(decoded[0])
                    self.pos = decoded[1]
                    continue
            if char != "<":
                self.emit(char)
                self.pos += 1
            elif self.at(self.pos + 1) == "/":
                self.end_tag()
            else:
                self.start_tag()
        if self.open:
            raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{self.open[-1].tag}"')
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)  # a language only means something on "pre"
        text = "".join(self.out)
        if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
            raise HtmlParseError("Text contains invalid Unicode characters after decoding HTML entities, "
                                 "check for unmatched surrogate code units")
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return text, self.entities

    def emit(self, char: str) -> None:
        self.out.append(char)
        self.utf16 += _units(char)

    def start_tag(self) -> None:
        begin = self.pos
        i = begin + 1
        while self.at(i) not in _SPACE and self.at(i) != ">":
            i += 1
        if i >= len(self.src):
            raise HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        tag = self.src[begin + 1:i].lower()
        if tag not in _TAGS:
            raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {self.byte_offset(begin)}')

        argument = ""
        while self.at(i) != ">":
            while i < len(self.src) and self.at(i) in _SPACE:
                i += 1
            if self.at(i) == ">":
                break
            name_start = i
            while self.at(i) not in _SPACE and self.at(i) not in "=>":
                i += 1
            name = self.src[name_start:i]
            if not name:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {self.byte_offset(begin)}')
            while i < len(self.src) and self.at(i) in _SPACE:
                i += 1
            if self.at(i) != "=":
                if tag == "blockquote" and name == "expandable":  # the one attribute without a value
                    argument = "expandable"
                    continue
                raise HtmlParseError("Expected equal sign in declaration of an attribute of the tag "
                                     f'"{tag}" at byte offset {self.byte_offset(begin)}')
            i += 1
            while i < len(self.src) and self.at(i) in _SPACE:
                i += 1
            if i >= len(self.src):
                raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {self.byte_offset(begin)}')
            value, i = self.attribute_value(i)
            if i >= len(self.src):
                raise HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            argument = self.tag_argument(tag, name, value, argument)

        if tag == "span" and argument != "tg-spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(begin)}')
        if tag == "tg-emoji" and not argument.isdigit():
            raise HtmlParseError("Invalid custom emoji identifier specified")
        self.open.append(_Open(tag, argument, self.utf16, len(self.out)))
        self.pos = i + 1

    def attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.at(i)
        if quote not in "'\"":
            # A bare name token: letters, digits, periods and hyphens, case-insensitive.
            start = i
            while self.at(i).isascii() and (self.at(i).isalnum() or self.at(i) in ".-"):
                i += 1
            if self.at(i) not in _SPACE and self.at(i) != ">":
                raise HtmlParseError(f"Unexpected end of name token at byte offset {self.byte_offset(start)}")
            return self.src[start:i].lower(), i
        i += 1
        value: list[str] = []
        while i < len(self.src) and self.src[i] != quote:
            if self.src[i] == "&":
                decoded = self.decode_reference(i)
                if decoded is not None:
                    value.append(decoded[0])
                    i = decoded[1]
                    continue
            value.append(self.src[i])
            i += 1
        if i < len(self.src):
            i += 1  # the closing quote
        return "".join(value), i

    @staticmethod
    def tag_argument(tag: str, name: str, value: str, current: str) -> str:
        """Keep the attribute values that mean something; Telegram ignores all others."""
        if tag == "a" and name == "href":
            return value
        if tag == "code" and name == "class" and value.startswith("language-"):
            return value[len("language-"):]
        if tag == "span" and name == "class":
            return value
        if tag == "tg-emoji" and name == "emoji-id":
            return value
        return current

    def end_tag(self) -> None:
        begin = self.pos
        if not self.open:
            raise HtmlParseError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        i = begin + 2
        while self.at(i) not in _SPACE and self.at(i) != ">":
            i += 1
        name = self.src[begin + 2:i].lower()
        while i < len(self.src) and self.at(i) in _SPACE:
            i += 1
        if self.at(i) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        opened = self.open[-1]
        if name and name != opened.tag:
            raise HtmlParseError(f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                                 f'expected "</{opened.tag}>", found "</{name}>"')
        self.open.pop()
        if self.utf16 > opened.offset:  # empty elements produce no entity
            self.close_entity(opened)
        self.pos = i + 1

    def close_entity(self, opened: _Open) -> None:
        span = {"offset": opened.offset, "length": self.utf16 - opened.offset}
        tag, argument = opened.tag, opened.argument
        if tag in _SIMPLE_ENTITIES:
            self.entities.append({"type": _SIMPLE_ENTITIES[tag], **span})
        elif tag == "span":
            self.entities.append({"type": "spoiler", **span})
        elif tag == "blockquote":
            kind = "expandable_blockquote" if argument == "expandable" else "blockquote"
            self.entities.append({"type": kind, **span})
        elif tag == "tg-emoji":
            self.entities.append({"type": "custom_emoji", **span, "custom_emoji_id": argument})
        elif tag == "a":
            self.close_link(opened, span)
        elif tag in ("pre", "code"):
            self.close_code(tag, argument, span)

    def close_link(self, opened: _Open, span: dict) -> None:
        url = opened.argument or "".join(self.out[opened.text_start:])
        if url.startswith(_USER_LINK) and url[len(_USER_LINK):].isdigit():
            user = {"id": int(url[len(_USER_LINK):]), "is_bot": False, "first_name": ""}
            self.entities.append({"type": "text_mention", **span, "user": user})
        elif url and not any(c in _SPACE for c in url):
            # Telegram drops links it cannot use instead of failing; it adds a missing scheme.
            if "://" not in url and not url.startswith(("tg:", "mailto:")):
                url = "http://" + url
            self.entities.append({"type": "text_link", **span, "url": url})

    def close_code(self, tag: str, argument: str, span: dict) -> None:
        # <pre><code class="language-x">...</code></pre> is one "pre" entity with a language.
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and last["offset"] == span["offset"] and last["length"] == span["length"]
        if tag == "pre" and same_span and last["type"] == "code" and last.get("language"):
            last["type"] = "pre"
        elif tag == "code" and same_span and last["type"] == "pre" and argument:
            last["language"] = argument
        elif tag == "pre":
            self.entities.append({"type": "pre", **span})
        else:
            entity = {"type": "code", **span}
            if argument:
                entity["language"] = argument  # kept only until a surrounding <pre> claims it
            self.entities.append(entity)
