"""Weir: the example site's display font, drawn and packed here with the stdlib only.

A monoline geometric face: every glyph is a few strokes on a 4 x 6 grid (capitals 6 high,
lower case drawn as small capitals 4.5 high), each stroke a rectangle with an octagon at
both ends, so strokes join smoothly; curves are chamfered corners. The outlines overlap
(TrueType fills them with the non-zero rule), so no boolean geometry is needed.

`font()` returns a TrueType font (bytes); `woff()` and `woff2()` wrap it for the web. WOFF
compresses with zlib; WOFF2 needs Brotli, which the stdlib lacks, so its data go in
Brotli's uncompressed meta-blocks (a valid stream, just not a small one) with glyf/loca
untransformed. Same input, same bytes: nothing here depends on the clock or the machine.
"""

import math
import struct
import zlib

UPM = 1000
UNIT = 118  # one grid step
STROKE = 104  # stroke width
SIDE = 70  # side bearing
SMALL = 0.75  # small capitals' height, of the capitals'
ASCENT, DESCENT = 880, 240

# Centre lines of each glyph's strokes, in grid units (x right, y up, baseline 0).
# A one-point stroke is a dot. `width` is the glyph's design width in grid units.
GLYPHS = {
    "A": (4, [[(0, 0), (0, 5), (1, 6), (3, 6), (4, 5), (4, 0)], [(0, 2.6), (4, 2.6)]]),
    "B": (4, [[(0, 0), (0, 6), (3, 6), (4, 5), (4, 4), (3, 3.1), (0, 3.1)],
              [(3, 3.1), (4, 2.1), (4, 1), (3, 0), (0, 0)]]),
    "C": (4, [[(4, 5), (3, 6), (1, 6), (0, 5), (0, 1), (1, 0), (3, 0), (4, 1)]]),
    "D": (4, [[(0, 0), (0, 6), (3, 6), (4, 5), (4, 1), (3, 0), (0, 0)]]),
    "E": (3.6, [[(3.6, 6), (0, 6), (0, 0), (3.6, 0)], [(0, 3.1), (3, 3.1)]]),
    "F": (3.6, [[(3.6, 6), (0, 6), (0, 0)], [(0, 3.1), (3, 3.1)]]),
    "G": (4, [[(4, 5), (3, 6), (1, 6), (0, 5), (0, 1), (1, 0), (3, 0), (4, 1), (4, 2.8), (2.2, 2.8)]]),
    "H": (4, [[(0, 0), (0, 6)], [(4, 0), (4, 6)], [(0, 3.1), (4, 3.1)]]),
    "I": (0, [[(0, 0), (0, 6)]]),
    "J": (3.6, [[(3.6, 6), (3.6, 1), (2.6, 0), (1, 0), (0, 1)]]),
    "K": (4, [[(0, 0), (0, 6)], [(4, 6), (1.1, 3.1), (0, 3.1)], [(1.1, 3.1), (4, 0)]]),
    "L": (3.4, [[(0, 6), (0, 0), (3.4, 0)]]),
    "M": (5, [[(0, 0), (0, 6), (2.5, 2.6), (5, 6), (5, 0)]]),
    "N": (4, [[(0, 0), (0, 6), (4, 0), (4, 6)]]),
    "O": (4, [[(1, 0), (0, 1), (0, 5), (1, 6), (3, 6), (4, 5), (4, 1), (3, 0), (1, 0)]]),
    "P": (4, [[(0, 0), (0, 6), (3, 6), (4, 5), (4, 3.8), (3, 2.8), (0, 2.8)]]),
    "Q": (4, [[(1, 0), (0, 1), (0, 5), (1, 6), (3, 6), (4, 5), (4, 1), (3, 0), (1, 0)],
              [(2.6, 1.4), (4.2, -0.4)]]),
    "R": (4, [[(0, 0), (0, 6), (3, 6), (4, 5), (4, 3.9), (3, 2.9), (0, 2.9)], [(2.2, 2.9), (4, 0)]]),
    "S": (4, [[(4, 5), (3, 6), (1, 6), (0, 5), (0, 4.1), (1, 3.1), (3, 3.1), (4, 2.1), (4, 1),
               (3, 0), (1, 0), (0, 1)]]),
    "T": (4, [[(0, 6), (4, 6)], [(2, 6), (2, 0)]]),
    "U": (4, [[(0, 6), (0, 1), (1, 0), (3, 0), (4, 1), (4, 6)]]),
    "V": (4.4, [[(0, 6), (2.2, 0), (4.4, 6)]]),
    "W": (5.6, [[(0, 6), (1.4, 0), (2.8, 4.2), (4.2, 0), (5.6, 6)]]),
    "X": (4, [[(0, 6), (4, 0)], [(4, 6), (0, 0)]]),
    "Y": (4.4, [[(0, 6), (2.2, 3), (4.4, 6)], [(2.2, 3), (2.2, 0)]]),
    "Z": (4, [[(0, 6), (4, 6), (0, 0), (4, 0)]]),
    "0": (3.8, [[(1, 0), (0, 1), (0, 5), (1, 6), (2.8, 6), (3.8, 5), (3.8, 1), (2.8, 0), (1, 0)]]),
    "1": (1.6, [[(0, 5), (1.2, 6), (1.2, 0)]]),
    "2": (3.8, [[(0, 5), (1, 6), (2.8, 6), (3.8, 5), (3.8, 4), (0, 0), (3.8, 0)]]),
    "3": (3.8, [[(0, 5), (1, 6), (2.8, 6), (3.8, 5), (3.8, 4.1), (2.8, 3.1), (1.4, 3.1)],
                [(2.8, 3.1), (3.8, 2.1), (3.8, 1), (2.8, 0), (1, 0), (0, 1)]]),
    "4": (3.8, [[(2.8, 0), (2.8, 6), (0, 2), (3.8, 2)]]),
    "5": (3.8, [[(3.8, 6), (0, 6), (0, 3.3), (2.8, 3.3), (3.8, 2.3), (3.8, 1), (2.8, 0), (1, 0), (0, 1)]]),
    "6": (3.8, [[(3.6, 5.4), (2.8, 6), (1, 6), (0, 5), (0, 1), (1, 0), (2.8, 0), (3.8, 1), (3.8, 2.3),
                 (2.8, 3.3), (0, 3.3)]]),
    "7": (3.8, [[(0, 6), (3.8, 6), (1.2, 0)]]),
    "8": (3.8, [[(1, 3.1), (0, 4.1), (0, 5), (1, 6), (2.8, 6), (3.8, 5), (3.8, 4.1), (2.8, 3.1), (1, 3.1),
                 (0, 2.1), (0, 1), (1, 0), (2.8, 0), (3.8, 1), (3.8, 2.1), (2.8, 3.1)]]),
    "9": (3.8, [[(0.2, 0.6), (1, 0), (2.8, 0), (3.8, 1), (3.8, 5), (2.8, 6), (1, 6), (0, 5), (0, 3.7),
                 (1, 2.7), (3.8, 2.7)]]),
    ".": (0, [[(0, 0)]]),
    ",": (0.5, [[(0.5, 0), (0, -1)]]),
    ":": (0, [[(0, 0)], [(0, 3.6)]]),
    ";": (0.5, [[(0.5, 0), (0, -1)], [(0.5, 3.6)]]),
    "!": (0, [[(0, 6), (0, 2)], [(0, 0)]]),
    "?": (3.6, [[(0, 5), (1, 6), (2.6, 6), (3.6, 5), (3.6, 4), (1.8, 2.6), (1.8, 2)], [(1.8, 0)]]),
    "'": (0, [[(0, 6), (0, 4.6)]]),
    "\u2019": (0.5, [[(0.5, 6), (0, 4.8)]]),
    "\u2018": (0.5, [[(0, 6), (0.5, 4.8)]]),
    '"': (1.2, [[(0, 6), (0, 4.6)], [(1.2, 6), (1.2, 4.6)]]),
    "\u201c": (1.4, [[(0, 6), (0.5, 4.8)], [(0.9, 6), (1.4, 4.8)]]),
    "\u201d": (1.4, [[(0.5, 6), (0, 4.8)], [(1.4, 6), (0.9, 4.8)]]),
    "-": (2.4, [[(0, 2.8), (2.4, 2.8)]]),
    "\u2013": (4, [[(0, 2.8), (4, 2.8)]]),
    "\u2014": (6, [[(0, 2.8), (6, 2.8)]]),
    "(": (1, [[(1, 7), (0, 6), (0, 0), (1, -1)]]),
    ")": (1, [[(0, 7), (1, 6), (1, 0), (0, -1)]]),
    "/": (3, [[(0, -0.6), (3, 6.6)]]),
    "+": (3.6, [[(0, 2.8), (3.6, 2.8)], [(1.8, 1), (1.8, 4.6)]]),
    "&": (4.2, [[(4.2, 0), (1, 3.8), (1, 5), (1.8, 6), (2.6, 6), (3.4, 5), (3.4, 4.2), (0, 2.2), (0, 1),
                 (1, 0), (2.6, 0), (4, 1.8)]]),
    "\u00b7": (0, [[(0, 2.8)]]),
    "\u2026": (4, [[(0, 0)], [(2, 0)], [(4, 0)]]),
    "\u2192": (5, [[(0, 2.8), (5, 2.8)], [(2.9, 4.9), (5, 2.8), (2.9, 0.7)]]),
    "#": (4.4, [[(1.4, 0), (1.8, 6)], [(2.8, 0), (3.2, 6)], [(0, 2), (4.4, 2)], [(0, 4), (4.4, 4)]]),
    "%": (4.4, [[(0, 0), (4.4, 6)], [(0.5, 5)], [(3.9, 1)]]),
}
SPACE = 2.2  # the space's width, in grid units


# ---------------------------------------------------------------- outlines


def octagon(cx, cy, r):
    """An octagon around (cx, cy) whose flat sides are r from the centre."""
    R = r / math.cos(math.pi / 8)
    return [
        (cx + R * math.cos(math.pi / 8 + i * math.pi / 4), cy + R * math.sin(math.pi / 8 + i * math.pi / 4))
        for i in range(8)
    ]


def segment(p, q, r):
    (x0, y0), (x1, y1) = p, q
    length = math.hypot(x1 - x0, y1 - y0)
    nx, ny = -(y1 - y0) / length * r, (x1 - x0) / length * r
    return [(x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)]


def clockwise(contour):
    """TrueType fills clockwise contours (y up); every contour here goes that way."""
    area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(contour, contour[1:] + contour[:1]))
    return contour if area < 0 else contour[::-1]


def outline(strokes, scale_y):
    """The contours of a glyph's strokes, in font units, before side bearings."""
    r = STROKE / 2
    contours = []
    for stroke in strokes:
        points = [(x * UNIT + r, y * UNIT * scale_y) for x, y in stroke]
        for p, q in zip(points, points[1:]):
            if p != q:
                contours.append(segment(p, q, r))
        seen = []
        for p in points:
            if p not in seen:
                seen.append(p)
                contours.append(octagon(p[0], p[1], r))
    return [[(round(x), round(y)) for x, y in clockwise(c)] for c in contours]


# ---------------------------------------------------------------- tables


def glyph_data(contours):
    """A simple glyph: all points on the curve, deltas as short as they can be."""
    if not contours:
        return b"", (0, 0, 0, 0)
    xs = [x for c in contours for x, _ in c]
    ys = [y for c in contours for _, y in c]
    bbox = (min(xs), min(ys), max(xs), max(ys))
    ends, total = [], 0
    for c in contours:
        total += len(c)
        ends.append(total - 1)
    flags, xdata, ydata = bytearray(), bytearray(), bytearray()
    px = py = 0
    for i, (x, y) in enumerate(p for c in contours for p in c):
        flag = 0x01 | (0x40 if i == 0 else 0)  # on the curve; contours overlap
        for delta, data, short, same in ((x - px, xdata, 0x02, 0x10), (y - py, ydata, 0x04, 0x20)):
            if delta == 0:
                flag |= same
            elif -255 <= delta <= 255:
                flag |= short | (same if delta > 0 else 0)
                data.append(abs(delta))
            else:
                data.extend(struct.pack(">h", delta))
        flags.append(flag)
        px, py = x, y
    head = struct.pack(">h4h", len(contours), *bbox)
    body = head + struct.pack(f">{len(ends)}H", *ends) + struct.pack(">H", 0) + flags + xdata + ydata
    return body + b"\0" * (-len(body) % 4), bbox


def checksum(data):
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


def cmap_table(codes):
    """Format 4, one segment per code point (plus the final 0xFFFF segment)."""
    segments = sorted(codes.items()) + [(0xFFFF, 0)]
    n = len(segments)
    search = 2 ** int(math.log2(n))
    ends = [c for c, _ in segments]
    deltas = [(g - c) % 65536 if c != 0xFFFF else 1 for c, g in segments]
    sub = struct.pack(">7H", 4, 0, 0, n * 2, search * 2, int(math.log2(search)), (n - search) * 2)
    sub += struct.pack(f">{n}H", *ends) + b"\0\0" + struct.pack(f">{n}H", *ends)
    sub += struct.pack(f">{n}H", *deltas) + struct.pack(f">{n}H", *([0] * n))
    sub = sub[:2] + struct.pack(">H", len(sub)) + sub[4:]
    return struct.pack(">HHHHI", 0, 1, 3, 1, 12) + sub


def name_table(names):
    records, strings = b"", b""
    for name_id, text in sorted(names.items()):
        data = text.encode("utf-16-be")
        records += struct.pack(">6H", 3, 1, 0x409, name_id, len(data), len(strings))
        strings += data
    return struct.pack(">3H", 0, len(names), 6 + 12 * len(names)) + records + strings


def font():
    """The TrueType font, as bytes."""
    order = [".notdef", " "] + sorted(GLYPHS) + [c.lower() for c in sorted(GLYPHS) if c.isalpha()]
    glyf, loca, hmtx = b"", [], []
    codes, max_points, max_contours = {}, 0, 0
    xmin = ymin = 10**6
    xmax = ymax = -(10**6)
    for gid, name in enumerate(order):
        if name == ".notdef":
            outer = [(0, 0), (0, 700), (500, 700), (500, 0)]
            inner = [(60, 60), (440, 60), (440, 640), (60, 640)]
            contours, width = [clockwise(outer), inner], 500
            width += 2 * SIDE
            contours = [[(x + SIDE, y) for x, y in c] for c in contours]
        elif name == " ":
            contours, width = [], round(SPACE * UNIT)
        else:
            upper = name.upper()
            grid_width, strokes = GLYPHS[upper]
            small = name != upper
            scale_x = 0.9 if small else 1
            strokes = [[(x * scale_x, y) for x, y in s] for s in strokes]
            contours = outline(strokes, SMALL if small else 1)
            contours = [[(x + SIDE, y) for x, y in c] for c in contours]
            width = round(grid_width * scale_x * UNIT) + STROKE + 2 * SIDE
        if name != ".notdef":
            codes[ord(name)] = gid
        data, bbox = glyph_data(contours)
        loca.append(len(glyf))
        glyf += data
        hmtx.append((width, bbox[0]))
        if contours:
            xmin, ymin = min(xmin, bbox[0]), min(ymin, bbox[1])
            xmax, ymax = max(xmax, bbox[2]), max(ymax, bbox[3])
            max_points = max(max_points, sum(len(c) for c in contours))
            max_contours = max(max_contours, len(contours))
    loca.append(len(glyf))
    n = len(order)
    cap = round(6 * UNIT)
    x_height = round(6 * UNIT * SMALL)

    tables = {
        b"cmap": cmap_table(codes),
        b"glyf": glyf,
        b"loca": struct.pack(f">{n + 1}I", *loca),
        b"hmtx": b"".join(struct.pack(">Hh", w, lsb) for w, lsb in hmtx),
        b"hhea": struct.pack(
            ">I3hH3h3h4hhH", 0x00010000, ASCENT, -DESCENT, 0, max(w for w, _ in hmtx),
            min(l for _, l in hmtx), 0, xmax, 1, 0, 0, 0, 0, 0, 0, 0, n,
        ),
        b"maxp": struct.pack(">IH13H", 0x00010000, n, max_points, max_contours, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0),
        b"OS/2": struct.pack(
            ">HhHHH10hh10s4I4sHHHhhhHHII2hHHH",
            4, 560, 700, 5, 0,  # version, avg width, weight (bold), width, fsType installable
            650, 700, 0, 140, 650, 700, 0, 480, 50, 300,  # sub/superscript sizes and offsets
            0,  # family class
            bytes([2, 11, 7, 3, 3, 0, 0, 0, 0, 0]),  # panose: sans, bold
            1 | 1 << 31, 1 << 5, 0, 0,  # Unicode ranges: Basic Latin, punctuation, arrows
            b"SLCE",
            0x0020 | 0x0080,  # bold, use typographic metrics
            32, 0x2192, ASCENT, -DESCENT, 0, ASCENT, DESCENT,
            1, 0,  # code pages: Latin 1
            x_height, cap, 0, 32, 2,
        ),
        b"post": struct.pack(">IIhhIIIII", 0x00030000, 0, -120, 60, 0, 0, 0, 0, 0),
        b"name": name_table({
            0: "Generated by sluice's example site (tools/fontgen.py); public domain.",
            1: "Weir",
            2: "Bold",
            3: "Weir Bold 1.000",
            4: "Weir Bold",
            5: "Version 1.000",
            6: "Weir-Bold",
        }),
        b"head": struct.pack(
            ">IIIIHHqq4hHHhhh", 0x00010000, 0x00010000, 0, 0x5F0F3CF5, 0x000B, UPM,
            0, 0,  # created, modified: none, for the same bytes on every run
            xmin, ymin, xmax, ymax, 1, 8, 2, 1, 0,  # bold; long loca offsets
        ),
    }
    tags = sorted(tables)
    count = len(tags)
    search = 2 ** int(math.log2(count))
    out = struct.pack(">IHHHH", 0x00010000, count, search * 16, int(math.log2(search)), count * 16 - search * 16)
    offset = 12 + 16 * count
    body = b""
    for tag in tags:
        data = tables[tag]
        out += struct.pack(">4sIII", tag, checksum(data), offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    sfnt = bytearray(out + body)
    head_at = offset + sum(len(tables[t]) + (-len(tables[t]) % 4) for t in tags[: tags.index(b"head")])
    struct.pack_into(">I", sfnt, head_at + 8, (0xB1B0AFBA - checksum(bytes(sfnt))) & 0xFFFFFFFF)
    return bytes(sfnt)


def tables_of(sfnt):
    count = struct.unpack(">H", sfnt[4:6])[0]
    tables = []
    for i in range(count):
        tag, check, offset, length = struct.unpack(">4sIII", sfnt[12 + 16 * i : 28 + 16 * i])
        tables.append((tag, check, sfnt[offset : offset + length]))
    return tables


def woff(sfnt):
    """WOFF 1.0: each table zlib-compressed when that makes it smaller."""
    tables = tables_of(sfnt)
    directory, body = b"", b""
    offset = 44 + 20 * len(tables)
    for tag, check, data in tables:
        packed = zlib.compress(data, 9)
        if len(packed) >= len(data):
            packed = data
        directory += struct.pack(">4sIIII", tag, offset + len(body), len(packed), len(data), check)
        body += packed + b"\0" * (-len(packed) % 4)
    total = 12 + 16 * len(tables) + sum(len(d) + (-len(d) % 4) for _, _, d in tables)
    head = struct.pack(
        ">4sIIHHIHHIIIII", b"wOFF", 0x00010000, 44 + len(directory) + len(body), len(tables), 0,
        total, 1, 0, 0, 0, 0, 0, 0,
    )
    return head + directory + body


def brotli_stored(data):
    """A Brotli stream (RFC 7932) of uncompressed meta-blocks: valid, not compressed."""
    bits = []

    def put(value, n):
        bits.extend((value >> i) & 1 for i in range(n))

    put(0, 1)  # WBITS = 16
    for start in range(0, len(data), 65536):
        chunk = data[start : start + 65536]
        nibbles = 4 if len(chunk) - 1 < 1 << 16 else 5
        put(0, 1)  # ISLAST = 0
        put(nibbles - 4, 2)  # MNIBBLES
        put(len(chunk) - 1, nibbles * 4)
        put(1, 1)  # ISUNCOMPRESSED
        bits.extend([0] * (-len(bits) % 8))
        bits.extend((b >> i) & 1 for b in chunk for i in range(8))
    put(1, 1)  # ISLAST
    put(1, 1)  # ISLASTEMPTY
    bits.extend([0] * (-len(bits) % 8))
    return bytes(sum(bits[i + j] << j for j in range(8)) for i in range(0, len(bits), 8))


WOFF2_TAGS = [
    b"cmap", b"head", b"hhea", b"hmtx", b"maxp", b"name", b"OS/2", b"post", b"cvt ", b"fpgm", b"glyf",
    b"loca", b"prep",
]


def base128(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def woff2(sfnt):
    """WOFF 2.0 with glyf and loca untransformed (transform version 3), others as they are."""
    # loca right after glyf, as WOFF2 wants.
    tables = tables_of(sfnt)
    loca = next(t for t in tables if t[0] == b"loca")
    tables = [t for t in tables if t[0] != b"loca"]
    tables.insert([t[0] for t in tables].index(b"glyf") + 1, loca)
    directory, stream = b"", b""
    for tag, _, data in tables:
        version = 3 if tag in (b"glyf", b"loca") else 0
        directory += bytes([WOFF2_TAGS.index(tag) | (version << 6)]) + base128(len(data))
        stream += data
    packed = brotli_stored(stream)
    total = 12 + 16 * len(tables) + sum(len(d) + (-len(d) % 4) for _, _, d in tables)
    length = 48 + len(directory) + len(packed)
    length += -length % 4
    head = struct.pack(
        ">4sIIHHIIHHIIIII", b"wOF2", 0x00010000, length, len(tables), 0, total, len(packed),
        1, 0, 0, 0, 0, 0, 0,
    )
    out = head + directory + packed
    return out + b"\0" * (length - len(out))
