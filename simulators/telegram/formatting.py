"""Telegram's parse modes: turn marked-up text into plain text and entities, or refuse it.

Telegram parses `Markdown` (legacy), `MarkdownV2` and `HTML` before it checks a message's length,
and refuses text it cannot parse with "Bad Request: can't parse entities: ...". These parsers
follow https://core.telegram.org/bots/api#formatting-options closely enough to refuse what
Telegram refuses in practice (an unescaped `.` in MarkdownV2, a lone `_` in legacy Markdown such
as `vm_101`, an unsupported `<br>` in HTML); they do not aim to reproduce every corner of
Telegram's parser. Offsets in entities count UTF-16 code units, as the Bot API does; offsets in
error messages count UTF-8 bytes, as Telegram's do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import html
import re
from typing import Final

from .wire import BotApiError, JsonObject, bad_request

MARKDOWN: Final = "markdown"
MARKDOWN_V2: Final = "markdownv2"
HTML: Final = "html"

_MARKDOWN_V2_RESERVED: Final = frozenset("_*[]()~`>#+-=|{}.!")
_LEGACY_ESCAPABLE: Final = frozenset("_*`[")
_ENTITY_NAMES: Final = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}
_HTML_TAGS: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_TAG_NAME: Final = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_HTML_ATTRIBUTE: Final = re.compile(
    r"""([a-zA-Z-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?"""
)
_HTML_CHARACTER_REFERENCE: Final = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]+);")
_HTML_NAMED_REFERENCES: Final = frozenset({"lt", "gt", "amp", "quot"})


@dataclass(frozen=True, slots=True)
class ParsedText:
    """Text as Telegram shows it, with the entities its markup made."""

    text: str
    entities: tuple[JsonObject, ...] = ()


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the Bot API's unit for entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def parse(text: str, parse_mode: str | None) -> ParsedText:
    """Parse `text` in `parse_mode` (case-insensitive; None: plain text)."""
    mode = (parse_mode or "").lower()
    if not mode:
        return ParsedText(text)
    if mode == MARKDOWN:
        return _LegacyMarkdownParser(text).parse()
    if mode == MARKDOWN_V2:
        return _MarkdownV2Parser(text).parse()
    if mode == HTML:
        return _HtmlParser(text).parse()
    raise bad_request(f"unsupported parse_mode {parse_mode}")


def _cannot_parse(reason: str) -> BotApiError:
    return bad_request(f"can't parse entities: {reason}")


@dataclass(slots=True)
class _OpenEntity:
    kind: str
    start: int  # UTF-16 offset in the plain text
    byte_offset: int  # where its marker stands in the source, for error messages
    extra: JsonObject = field(default_factory=dict)


class _Builder:
    """Collects plain text and entities while a parser walks the source."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.chunks: list[str] = []
        self.length = 0  # UTF-16 units emitted so far
        self.entities: list[JsonObject] = []

    def emit(self, text: str) -> None:
        self.chunks.append(text)
        self.length += utf16_length(text)

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode())

    def close(self, entity: _OpenEntity) -> None:
        # Telegram drops empty entities; MarkdownV2 even recommends `**` as a separator.
        if self.length > entity.start:
            self.entities.append(
                {
                    "type": entity.kind,
                    "offset": entity.start,
                    "length": self.length - entity.start,
                    **entity.extra,
                }
            )

    def result(self) -> ParsedText:
        ordered = sorted(self.entities, key=_offset)
        return ParsedText("".join(self.chunks), tuple(ordered))


def _offset(entity: JsonObject) -> int:
    offset = entity["offset"]
    return offset if isinstance(offset, int) else 0


class _LegacyMarkdownParser:
    """`Markdown`: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.out = _Builder(source)

    def parse(self) -> ParsedText:
        source, out = self.source, self.out
        index = 0
        while index < len(source):
            char = source[index]
            if char == "\\" and index + 1 < len(source) and source[index + 1] in _LEGACY_ESCAPABLE:
                out.emit(source[index + 1])
                index += 2
            elif char in "*_":
                index = self._span(index, char, "bold" if char == "*" else "italic")
            elif source.startswith("```", index):
                index = self._span(index, "```", "pre")
            elif char == "`":
                index = self._span(index, "`", "code")
            elif char == "[":
                index = self._link(index)
            else:
                out.emit(char)
                index += 1
        return out.result()

    def _unclosed(self, index: int) -> BotApiError:
        return _cannot_parse(
            f"Can't find end of the entity starting at byte offset {self.out.byte_offset(index)}"
        )

    def _span(self, index: int, marker: str, kind: str) -> int:
        end = self.source.find(marker, index + len(marker))
        if end < 0:
            raise self._unclosed(index)
        entity = _OpenEntity(kind, self.out.length, self.out.byte_offset(index))
        self.out.emit(self.source[index + len(marker) : end])
        self.out.close(entity)
        return end + len(marker)

    def _link(self, index: int) -> int:
        close = self.source.find("]", index + 1)
        if close < 0:
            raise self._unclosed(index)
        if not self.source.startswith("(", close + 1):
            # `[text]` without a URL is ordinary text in legacy Markdown.
            self.out.emit(self.source[index : close + 1])
            return close + 1
        url_end = self.source.find(")", close + 2)
        if url_end < 0:
            raise self._unclosed(index)
        entity = _OpenEntity(
            "text_link",
            self.out.length,
            self.out.byte_offset(index),
            {"url": self.source[close + 2 : url_end]},
        )
        self.out.emit(self.source[index + 1 : close])
        self.out.close(entity)
        return url_end + 1


class _MarkdownV2Parser:
    """`MarkdownV2`: nestable entities and mandatory escaping of reserved characters."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.out = _Builder(source)
        self.open: list[_OpenEntity] = []
        self.quote: _OpenEntity | None = None

    def parse(self) -> ParsedText:
        source = self.source
        index = 0
        while index < len(source):
            if index == 0 or source[index - 1] == "\n":
                index = self._line_start(index)
                if index >= len(source):
                    break
            index = self._step(index)
        if self.open:
            innermost = self.open[-1]
            raise _cannot_parse(
                f"Can't find end of {_ENTITY_NAMES[innermost.kind]} entity at byte offset "
                f"{innermost.byte_offset}"
            )
        if self.quote is not None:
            self.out.close(self.quote)
        return self.out.result()

    def _line_start(self, index: int) -> int:
        """Open, continue or end a block quote: a run of lines starting with `>`."""
        if self.source.startswith(">", index):
            if self.quote is None:
                self.quote = _OpenEntity("blockquote", self.out.length, self.out.byte_offset(index))
            return index + 1
        if self.quote is not None:
            self.out.close(self.quote)
            self.quote = None
        return index

    def _step(self, index: int) -> int:
        source, out = self.source, self.out
        char = source[index]
        following = source[index + 1] if index + 1 < len(source) else ""
        if char == "\\":
            if following and 1 <= ord(following) <= 126:
                out.emit(following)
                return index + 2
            out.emit(char)
            return index + 1
        if char == "`":
            return self._code(index)
        if char == "*":
            self._toggle("bold", index)
        elif char == "_" and following == "_":
            self._toggle("underline", index)
            return index + 2
        elif char == "_":
            self._toggle("italic", index)
        elif char == "~":
            self._toggle("strikethrough", index)
        elif char == "|" and following == "|":
            self._toggle("spoiler", index)
            return index + 2
        elif char == "[":
            self.open.append(_OpenEntity("text_link", out.length, out.byte_offset(index)))
        elif char == "!" and following == "[":
            self.open.append(_OpenEntity("custom_emoji", out.length, out.byte_offset(index)))
            return index + 2
        elif char == "]" and self.open and self.open[-1].kind in ("text_link", "custom_emoji"):
            return self._link_target(index)
        elif char in _MARKDOWN_V2_RESERVED:
            raise _cannot_parse(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            out.emit(char)
        return index + 1

    def _toggle(self, kind: str, index: int) -> None:
        for position in range(len(self.open) - 1, -1, -1):
            if self.open[position].kind == kind:
                self.out.close(self.open.pop(position))
                return
        self.open.append(_OpenEntity(kind, self.out.length, self.out.byte_offset(index)))

    def _code(self, index: int) -> int:
        """Inline code or a pre block: only backslash and backtick are special inside."""
        source, out = self.source, self.out
        fence = "```" if source.startswith("```", index) else "`"
        entity = _OpenEntity(
            "pre" if fence == "```" else "code", out.length, out.byte_offset(index)
        )
        position = index + len(fence)
        if fence == "```":
            newline = source.find("\n", position)
            language = source[position:newline] if newline >= 0 else ""
            if language and not any(char.isspace() or char in "`\\" for char in language):
                entity.extra["language"] = language
                position = newline + 1
        while position < len(source):
            if source[position] == "\\" and position + 1 < len(source):
                out.emit(source[position + 1])
                position += 2
            elif source.startswith(fence, position):
                out.close(entity)
                return position + len(fence)
            else:
                out.emit(source[position])
                position += 1
        raise _cannot_parse(
            f"Can't find end of {_ENTITY_NAMES[entity.kind]} entity at byte offset "
            f"{entity.byte_offset}"
        )

    def _link_target(self, index: int) -> int:
        """`](url)` after a link's or custom emoji's text; `)` and backslash are escaped inside."""
        source = self.source
        if not source.startswith("(", index + 1):
            raise _cannot_parse(
                f"Can't find end of a URL at byte offset {self.out.byte_offset(index)}"
            )
        target: list[str] = []
        position = index + 2
        while position < len(source) and source[position] != ")":
            if source[position] == "\\" and position + 1 < len(source):
                position += 1
            target.append(source[position])
            position += 1
        if position >= len(source):
            raise _cannot_parse(
                f"Can't find end of a URL at byte offset {self.out.byte_offset(index + 1)}"
            )
        entity = self.open.pop()
        url = "".join(target)
        if entity.kind == "custom_emoji":
            entity.extra["custom_emoji_id"] = url.rpartition("id=")[2]
        else:
            entity.extra["url"] = url
        self.out.close(entity)
        return position + 1


class _HtmlParser:
    """`HTML`: the tags Telegram supports, properly nested, with character references."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.out = _Builder(source)
        self.open: list[tuple[str, _OpenEntity]] = []

    def parse(self) -> ParsedText:
        source = self.source
        index = 0
        while index < len(source):
            char = source[index]
            if char == "<":
                index = self._tag(index)
            elif char == "&":
                index = self._reference(index)
            else:
                self.out.emit(char)
                index += 1
        if self.open:
            name = self.open[-1][0]
            raise _cannot_parse(f'Can\'t find end tag corresponding to start tag "{name}"')
        return self.out.result()

    def _reference(self, index: int) -> int:
        match = _HTML_CHARACTER_REFERENCE.match(self.source, index)
        if match is None or (
            not match.group(1).startswith("#") and match.group(1) not in _HTML_NAMED_REFERENCES
        ):
            # Telegram leaves an ampersand that starts no supported reference as it is.
            self.out.emit("&")
            return index + 1
        self.out.emit(html.unescape(match.group(0)))
        return match.end()

    def _tag(self, index: int) -> int:
        end = self.source.find(">", index)
        if end < 0:
            raise _cannot_parse(f"Unclosed start tag at byte offset {self.out.byte_offset(index)}")
        body = self.source[index + 1 : end]
        if body.startswith("/"):
            self._end_tag(body[1:].strip().lower(), index)
            return end + 1
        name_match = _HTML_TAG_NAME.match(body)
        name = name_match.group(0).lower() if name_match else body.split(" ", 1)[0]
        kind = _HTML_TAGS.get(name)
        if kind is None or name_match is None:
            raise _cannot_parse(
                f'Unsupported start tag "{name}" at byte offset {self.out.byte_offset(index)}'
            )
        attributes = {
            match.group(1).lower(): match.group(2) or match.group(3) or match.group(4) or ""
            for match in _HTML_ATTRIBUTE.finditer(body, name_match.end())
        }
        entity = _OpenEntity(kind, self.out.length, self.out.byte_offset(index))
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise _cannot_parse(
                'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{self.out.byte_offset(index)}"
            )
        if name == "a":
            entity.extra["url"] = html.unescape(attributes.get("href", ""))
        elif name == "tg-emoji":
            entity.extra["custom_emoji_id"] = attributes.get("emoji-id", "")
        elif name == "blockquote" and "expandable" in attributes:
            entity.kind = "expandable_blockquote"
        elif name == "code" and self.open and self.open[-1][0] == "pre":
            # `<pre><code class="language-x">` is one pre entity with a language, not two.
            language = attributes.get("class", "").removeprefix("language-")
            if language:
                self.open[-1][1].extra["language"] = language
            entity.kind = ""
        self.open.append((name, entity))
        return end + 1

    def _end_tag(self, name: str, index: int) -> None:
        if not self.open:
            raise _cannot_parse(
                f'Unexpected end tag "{name}" at byte offset {self.out.byte_offset(index)}'
            )
        expected, entity = self.open[-1]
        if name != expected:
            raise _cannot_parse(
                f"Unmatched end tag at byte offset {self.out.byte_offset(index)}, "
                f'expected "</{expected}>", found "</{name}>"'
            )
        self.open.pop()
        if entity.kind:
            self.out.close(entity)
