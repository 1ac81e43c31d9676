"""Just enough PDF reading to check what a WeasyPrint PDF says (no pypdf or pdftotext here).

WeasyPrint writes text as glyph ids (`[<0039>17<004c>] TJ`) with a ToUnicode CMap per font.
`pdf_text` inflates every stream, collects the CMaps and decodes the shown strings with them;
`pdf_bytes_everywhere` is the raw file plus every inflated stream, for metadata and anything
else written as plain bytes.
"""

import re
import zlib

STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.S)
HEX_PAIR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")
HEX_RANGE = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")
SHOWN = re.compile(rb"\[(.*?)\]\s*TJ|<([0-9a-fA-F]+)>\s*Tj", re.S)
GLYPHS = re.compile(rb"<([0-9a-fA-F]+)>")


def _streams(pdf: bytes) -> list[bytes]:
    out = []
    for match in STREAM.finditer(pdf):
        try:
            out.append(zlib.decompress(match.group(1)))
        except zlib.error:
            out.append(match.group(1))
    return out


def _unicode(hex_value: bytes) -> str:
    return bytes.fromhex(hex_value.decode()).decode("utf-16-be", errors="replace")


def pdf_bytes_everywhere(pdf: bytes) -> bytes:
    return b"\n".join([pdf, *_streams(pdf)])


def pdf_text(pdf: bytes) -> str:
    streams = _streams(pdf)
    glyphs: dict[int, str] = {}
    for stream in streams:
        for block in BFCHAR.findall(stream):
            for src, dst in HEX_PAIR.findall(block):
                glyphs[int(src, 16)] = _unicode(dst)
        for block in BFRANGE.findall(stream):
            for low, high, dst in HEX_RANGE.findall(block):
                start = int(dst, 16)
                for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                    glyphs[code] = chr(start + offset)
    words = []
    for stream in streams:
        for array, single in SHOWN.findall(stream):
            codes = GLYPHS.findall(array) if array else [single]
            text = ""
            for code in codes:
                for i in range(0, len(code), 4):
                    text += glyphs.get(int(code[i : i + 4], 16), "")
            words.append(text)
    return " ".join(words)
