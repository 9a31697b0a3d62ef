#!/usr/bin/env python3
"""Generate examples/site/media/ and the `pages` app's static files.

Two parts:
- what the pages load, designed: the stylesheets, SCSS and scripts written by hand in
  tools/design/ (copied as they are), the drawn images (logo, hero waves, card pictures,
  icons) and Weir, a real web font drawn by tools/fontgen.py;
- around it, a bedrock-shaped tree of a few hundred small files the pages do not load:
  CSS sections whose url() references point at real images and fonts, ES5 scripts,
  valid PNG/JPEG/GIF/SVG images and woff/woff2 files (right magic bytes, random bodies).

Stdlib only, fixed seed: running it twice gives the same bytes, so the committed output
can be checked with `git diff`. To change what the pages look like, edit tools/design/
(or the drawings below) and run this again.

Usage (from anywhere):  python3 examples/site/tools/gen_media.py
"""

import math
import random
import shutil
import struct
import zlib
from pathlib import Path

import fontgen

SITE = Path(__file__).resolve().parent.parent
MEDIA = SITE / "media"
PAGES_STATIC = SITE / "pages" / "static" / "pages"
DESIGN = Path(__file__).resolve().parent / "design"

rng = random.Random(20160524)  # the day bedrock got `gulp media:watch`

# The sections whose stylesheets the pages load: designed in tools/design/, not generated.
PAGE_SECTIONS = {"base", "home", "about", "mission"}
SECTIONS = [
    "base",
    "home",
    "about",
    "firefox",
    "privacy",
    "careers",
    "mission",
    "newsletter",
    "contribute",
    "legal",
]
CSS_TOPICS = ["layout", "type", "buttons", "hero", "cards", "forms", "nav", "footer"]
JS_TOPICS = ["init", "nav", "tabs", "modal", "tracking", "lazy"]
IMG_WORDS = ["hero", "icon", "bg", "thumb", "badge", "promo", "screen", "logo", "photo", "art"]
FONTS = ["zilla-slab", "open-sans", "metropolis", "inter"]
WEIGHTS = ["regular", "bold", "italic"]


# ---------------------------------------------------------------- images


def png(width, height, noisy):
    """A valid 8-bit RGB PNG: a gradient, optionally with noise."""
    r0, g0, b0 = (rng.randrange(256) for _ in range(3))
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type None
        for x in range(width):
            n = rng.randrange(64) if noisy else 0
            row += bytes(
                ((r0 + x * 3 + n) % 256, (g0 + y * 3 + n) % 256, (b0 + x + y) % 256)
            )
        rows.append(bytes(row))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def gif():
    """A valid 1x1 GIF89a with a random two-colour palette and a comment."""
    palette = bytes(rng.randrange(256) for _ in range(6))
    comment = ("sluice example %08x" % rng.getrandbits(32)).encode()
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0)  # global colour table, 2 entries
        + palette
        + b"\x21\xfe"
        + bytes([len(comment)])
        + comment
        + b"\x00"
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
        + b"\x02\x02\x44\x01\x00"  # LZW min code size 2, one block: pixel 0
        + b"\x3b"
    )


# An 8x8 baseline JPEG (quality 50, one flat colour). Each generated JPEG is this
# file with a COM segment of varying text inserted after the JFIF APP0 segment.
JPEG_BASE = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e1211101318281a1816"
    "16183123251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c6567"
    "63ffdb0043011112121815182f1a1a2f63423842636363636363636363636363636363636363636363636363"
    "6363636363636363636363636363636363636363636363636363ffc000110800080008030122000211010311"
    "01ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303"
    "020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f024"
    "33627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a63646566"
    "6768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7"
    "b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffc400"
    "1f0100030101010101010101010000000000000102030405060708090a0bffc400b511000201020404030407"
    "05040400010277000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a"
    "162434e125f11718191a262728292a35363738393a434445464748494a535455565758595a63646566676869"
    "6a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9"
    "bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9faffda000c030100"
    "02110311003f00ad451457987bc7ffd9"
)


def jpeg():
    text = " ".join(rng.choice(IMG_WORDS) for _ in range(rng.randrange(4, 200))).encode()
    com = b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text
    app0_end = 2 + 2 + 16  # SOI, then APP0 marker and its 16-byte segment
    return JPEG_BASE[:app0_end] + com + JPEG_BASE[app0_end:]


def svg():
    w, h = rng.choice([(16, 16), (24, 24), (32, 32), (120, 40)])
    shapes = []
    for _ in range(rng.randrange(1, 6)):
        color = "#%06x" % rng.getrandbits(24)
        if rng.random() < 0.5:
            shapes.append(
                f'  <circle cx="{rng.randrange(w)}" cy="{rng.randrange(h)}" '
                f'r="{rng.randrange(2, 10)}" fill="{color}"/>'
            )
        else:
            shapes.append(
                f'  <rect x="{rng.randrange(w)}" y="{rng.randrange(h)}" width="{rng.randrange(2, w)}" '
                f'height="{rng.randrange(2, h)}" fill="{color}"/>'
            )
    body = "\n".join(shapes)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}">\n{body}\n</svg>\n'
    ).encode()


def font(magic, size):
    return magic + bytes(rng.getrandbits(8) for _ in range(size - len(magic)))


# ---------------------------------------------------------------- drawings


def encode_png(width, height, pixels, channels):
    """A PNG of 8-bit RGB (3) or RGBA (4) `pixels` (rows of tuples), rows filtered with Sub."""
    raw = bytearray()
    for row in pixels:
        line = bytes(v for px in row for v in px)
        raw.append(1)  # filter type Sub: gradients compress far better
        raw.extend(
            (line[i] - (line[i - channels] if i >= channels else 0)) % 256 for i in range(len(line))
        )

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    colour = 6 if channels == 4 else 2
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + chunk(b"IEND", b"")
    )


def rgb(hex_colour, alpha=1.0):
    value = int(hex_colour.lstrip("#"), 16)
    return ((value >> 16) / 255, (value >> 8 & 255) / 255, (value & 255) / 255, alpha)


def rounded_rect(x0, y0, x1, y1, r):
    def inside(x, y):
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        cx = min(max(x, x0 + r), x1 - r)
        cy = min(max(y, y0 + r), y1 - r)
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r

    return (x0, y0, x1, y1, inside)


def circle(cx, cy, r):
    return (cx - r, cy - r, cx + r, cy + r, lambda x, y: (x - cx) ** 2 + (y - cy) ** 2 <= r * r)


def gradient(c0, c1, width, height, angle=35):
    """A linear gradient from c0 to c1 across the picture, at `angle` degrees."""
    dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    span = abs(width * dx) + abs(height * dy)

    def colour(x, y):
        t = min(max((x * dx + y * dy) / span, 0.0), 1.0)
        return tuple(a + (b - a) * t for a, b in zip(c0, c1))

    return colour


def draw(width, height, background, shapes, samples=2, channels=3):
    """Rasterises `shapes` ((bbox, inside, colour) over `background`), anti-aliased with
    samples x samples points per pixel."""
    offsets = [((i + 0.5) / samples, (j + 0.5) / samples) for i in range(samples) for j in range(samples)]
    rows = []
    for py in range(height):
        row = []
        for px in range(width):
            acc = [0.0, 0.0, 0.0, 0.0]
            for ox, oy in offsets:
                x, y = px + ox, py + oy
                r, g, b, a = background(x, y)
                for (x0, y0, x1, y1, inside), (sr, sg, sb, sa) in shapes:
                    if x0 <= x <= x1 and y0 <= y <= y1 and inside(x, y):
                        r, g, b = r + (sr - r) * sa, g + (sg - g) * sa, b + (sb - b) * sa
                        a = sa + a * (1 - sa)
                acc[0] += r * a
                acc[1] += g * a
                acc[2] += b * a
                acc[3] += a
            n = len(offsets)
            alpha = acc[3] / n
            if alpha > 0:
                colour = [round(255 * min(1.0, acc[i] / acc[3])) for i in range(3)]
            else:
                colour = [0, 0, 0]
            if channels == 4:
                colour.append(round(255 * alpha))
            row.append(tuple(colour))
        rows.append(row)
    return encode_png(width, height, rows, channels)


def logo(size):
    """sluice's mark: a sluice gate (two posts, a raised gate) over water, on a rounded square."""
    s = size / 64
    clear = lambda x, y: (0.0, 0.0, 0.0, 0.0)  # noqa: E731
    shade = gradient(rgb("#0060df"), rgb("#20123a"), size, size, 60)
    white = rgb("#ffffff")

    def wave(offset, thickness):
        def inside(x, y):
            centre = (44 + offset + 2.6 * math.sin((x / s) / 5.2)) * s
            return abs(y - centre) <= thickness * s / 2

        return (10 * s, 30 * s, 54 * s, 60 * s, inside)

    square = rounded_rect(0, 0, size, size, 14 * s)[4]

    def background(x, y):
        return shade(x, y) if square(x, y) else clear(x, y)

    shapes = [
        (rounded_rect(14 * s, 12 * s, 20 * s, 50 * s, 2 * s), white),
        (rounded_rect(44 * s, 12 * s, 50 * s, 50 * s, 2 * s), white),
        (rounded_rect(20 * s, 18 * s, 44 * s, 30 * s, 2 * s), rgb("#ffd567")),
        (wave(0, 4.5), rgb("#00b3f4")),
        (wave(8, 4.5), rgb("#ffffff", 0.85)),
    ]
    return draw(size, size, background, shapes, samples=4, channels=4)


def badge(size):
    """A green circle with a white check: the pages app's badge."""
    s = size / 36
    clear = lambda x, y: (0.0, 0.0, 0.0, 0.0)  # noqa: E731

    def stroke(ax, ay, bx, by, w):
        ax, ay, bx, by, w = ax * s, ay * s, bx * s, by * s, w * s

        def inside(x, y):
            vx, vy = bx - ax, by - ay
            t = max(0.0, min(1.0, ((x - ax) * vx + (y - ay) * vy) / (vx * vx + vy * vy)))
            return (x - ax - t * vx) ** 2 + (y - ay - t * vy) ** 2 <= (w / 2) ** 2

        return (min(ax, bx) - w, min(ay, by) - w, max(ax, bx) + w, max(ay, by) + w, inside)

    white = rgb("#ffffff")
    shapes = [
        (circle(18 * s, 18 * s, 17 * s), rgb("#12bc00")),
        (stroke(10, 19, 15.5, 24.5, 4), white),
        (stroke(15.5, 24.5, 26, 12.5, 4), white),
    ]
    return draw(size, size, clear, shapes, samples=4, channels=4)


def feature_picture(kind):
    """The home page's card pictures: a gradient and a few shapes that say what the card is."""
    w, h = 360, 200
    white = lambda a: rgb("#ffffff", a)  # noqa: E731
    if kind == "sync":
        background = gradient(rgb("#00b3f4"), rgb("#0060df"), w, h)
        shapes = []
        for i in range(4):
            for j in range(3):
                x, y = 40 + i * 30, 46 + j * 38
                shapes.append((rounded_rect(x, y, x + 22, y + 28, 4), white(0.9 - i * 0.18)))
        shapes.append((rounded_rect(212, 52, 320, 148, 10), white(0.95)))
        shapes.append((rounded_rect(212, 40, 262, 60, 6), white(0.95)))
        for j in range(3):
            shapes.append((rounded_rect(230, 76 + j * 22, 302, 86 + j * 22, 5), rgb("#0060df", 0.35)))
    elif kind == "dev":
        background = gradient(rgb("#7542e5"), rgb("#ff4f5e"), w, h)
        shapes = [
            (rounded_rect(50, 30, 310, 172, 10), white(0.96)),
            (rounded_rect(50, 30, 310, 54, 10), rgb("#20123a", 0.12)),
            (circle(66, 42, 5), rgb("#ff4f5e")),
            (circle(82, 42, 5), rgb("#ffd567")),
            (circle(98, 42, 5), rgb("#12bc00")),
            (rounded_rect(72, 72, 220, 86, 7), rgb("#20123a", 0.8)),
            (rounded_rect(72, 98, 288, 106, 4), rgb("#20123a", 0.2)),
            (rounded_rect(72, 116, 260, 124, 4), rgb("#20123a", 0.2)),
            (rounded_rect(72, 138, 150, 156, 9), rgb("#ff4f5e", 0.9)),
        ]
    else:
        background = gradient(rgb("#20123a"), rgb("#0060df"), w, h)
        shapes = []
        for i, (width, colour) in enumerate(
            [(220, "#ffffff"), (170, "#ffd567"), (120, "#00b3f4"), (70, "#ff4f5e")]
        ):
            y = 44 + i * 30
            shapes.append((rounded_rect(70, y, 70 + width, y + 20, 10), rgb(colour, 0.92)))
        shapes.append((circle(290, 150, 22), white(0.2)))
        shapes.append((circle(290, 150, 12), white(0.9)))
    return draw(w, h, background, shapes)


HERO_WAVES = """<svg xmlns="http://www.w3.org/2000/svg" width="1440" height="320" viewBox="0 0 1440 320">
  <path fill="#00b3f4" fill-opacity=".22" d="M0 150c160-40 320 40 480 20s300-90 480-60 320 80 480 40v170H0z"/>
  <path fill="#ffd567" fill-opacity=".16" d="M0 210c200-50 380 30 560 10s340-70 520-30 240 50 360 20v110H0z"/>
  <path fill="#ffffff" fill-opacity=".14" d="M0 240c180 30 360-40 560-20s380 60 560 30 220-40 320-30v100H0z"/>
  <path fill="#ffffff" d="M0 282c240-30 480 26 720 10s480-40 720-6v34H0z"/>
</svg>
"""

ABOUT_LINES = """<svg xmlns="http://www.w3.org/2000/svg" width="600" height="400" viewBox="0 0 600 400">
  <g fill="none" stroke="#ffffff" stroke-opacity=".14" stroke-width="2">
    <circle cx="520" cy="200" r="60"/>
    <circle cx="520" cy="200" r="120"/>
    <circle cx="520" cy="200" r="180"/>
    <circle cx="520" cy="200" r="240"/>
    <circle cx="520" cy="200" r="300"/>
  </g>
  <circle cx="520" cy="200" r="28" fill="#ffd567" fill-opacity=".8"/>
</svg>
"""

CHECK = """<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">
  <circle cx="12" cy="12" r="12" fill="#ffd567"/>
  <path d="M6.5 12.5l3.5 3.5 7.5-8" fill="none" stroke="#20123a" stroke-width="2.6" stroke-linecap="round" stroke-linejoin="round"/>
</svg>
"""

QUOTE = """<svg xmlns="http://www.w3.org/2000/svg" width="72" height="72" viewBox="0 0 72 72">
  <path fill="#ff4f5e" d="M8 44c0-16 8-28 22-34l3 6c-8 4-12 10-12 17 6 0 11 5 11 11s-5 11-12 11S8 50 8 44zm32 0c0-16 8-28 22-34l3 6c-8 4-12 10-12 17 6 0 11 5 11 11s-5 11-12 11-12-5-12-11z"/>
</svg>
"""

RULE = """<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="4" viewBox="0 0 1200 4" preserveAspectRatio="none">
  <linearGradient id="band" x1="0" x2="1" y1="0" y2="0">
    <stop offset="0" stop-color="#0060df"/>
    <stop offset=".5" stop-color="#ff4f5e"/>
    <stop offset="1" stop-color="#ffd567"/>
  </linearGradient>
  <rect width="1200" height="4" fill="url(#band)"/>
</svg>
"""


# ---------------------------------------------------------------- text files


def css_rules(section, topic, images):
    """A CSS file with url() references in every style Django and pipeline see."""
    lines = [f"/* {section}/{topic}.css — generated by tools/gen_media.py */", ""]
    for i in range(rng.randrange(4, 10)):
        sel = f".{section}-{topic}-{i}"
        lines.append(f"{sel} {{")
        lines.append(f"  margin: {rng.randrange(0, 40)}px {rng.randrange(0, 40)}px;")
        lines.append(f"  color: #{rng.getrandbits(24):06x};")
        if images and rng.random() < 0.6:
            img = rng.choice(images)
            style = rng.randrange(4)
            if style == 0:
                lines.append(f'  background-image: url("../../img/{img}");')
            elif style == 1:
                lines.append(f"  background-image: url('../../img/{img}');")
            elif style == 2:
                lines.append(f"  background: url(../../img/{img}) no-repeat 0 0;")
            else:
                lines.append(f'  background-image: url("../../img/{img}?v=2");')
        lines.append("}")
        lines.append("")
    return "\n".join(lines)


def js_module(section, topic):
    name = f"{section.capitalize()}{topic.capitalize()}"
    body = [
        f"/* {section}/{topic}.js — generated by tools/gen_media.py */",
        "(function (window, document) {",
        "    'use strict';",
        "",
        "    var Mozilla = window.Mozilla || {};",
        f"    var {name} = {{}};",
        "",
    ]
    for i in range(rng.randrange(2, 6)):
        body += [
            f"    {name}.step{i} = function (el) {{",
            f"        var count = {rng.randrange(100)};",
            "        if (!el) {",
            "            return count;",
            "        }",
            f"        el.setAttribute('data-{section}-{topic}', count + {i});",
            "        return count;",
            "    };",
            "",
        ]
    body += [
        f"    Mozilla.{name} = {name};",
        "    window.Mozilla = Mozilla;",
        "})(window, document);",
        "",
    ]
    return "\n".join(body)


LIBS = {
    "js/libs/mozilla-client.js": "Mozilla.Client",
    "js/libs/mozilla-utils.js": "Mozilla.Utils",
    "js/libs/mozilla-cookie.js": "Mozilla.Cookies",
    "js/libs/mozilla-pager.js": "Mozilla.Pager",
    "js/libs/site.js": "site",
}


def lib(name):
    return (
        f"/* {name}: a tiny stand-in for a vendored library */\n"
        "if (typeof window.Mozilla === 'undefined') {\n"
        "    window.Mozilla = {};\n"
        "}\n"
        f"window.{name} = window.{name} || {{\n"
        f"    version: '{rng.randrange(1, 4)}.{rng.randrange(10)}.{rng.randrange(10)}',\n"
        "    ready: function (fn) {\n"
        "        if (document.readyState !== 'loading') {\n"
        "            fn();\n"
        "        } else {\n"
        "            document.addEventListener('DOMContentLoaded', fn);\n"
        "        }\n"
        "    }\n"
        "};\n"
    )


# ---------------------------------------------------------------- the tree


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)


def main():
    for root in (MEDIA, PAGES_STATIC):
        if root.exists():
            shutil.rmtree(root)

    # Images, per section; remember the names for url() references.
    images = {}
    for section in SECTIONS:
        names = []
        for i in range(rng.randrange(10, 18)):
            word = rng.choice(IMG_WORDS)
            kind = rng.choices(["png", "jpg", "svg", "gif"], weights=[50, 25, 18, 7])[0]
            name = f"{section}/{word}-{i}.{kind}"
            if kind == "png":
                data = png(rng.randrange(4, 48), rng.randrange(4, 48), rng.random() < 0.4)
            elif kind == "jpg":
                data = jpeg()
            elif kind == "gif":
                data = gif()
            else:
                data = svg()
            write(MEDIA / "img" / name, data)
            names.append(name)
        images[section] = names
    for i in range(40):
        write(MEDIA / "img" / "icons" / f"icon-{i:02}.svg", svg())

    # The drawn images the pages show.
    write(MEDIA / "img" / "logo.png", logo(64))
    write(MEDIA / "img" / "favicon.ico.png", logo(32))
    write(MEDIA / "img" / "base" / "rule.svg", RULE)
    write(MEDIA / "img" / "home" / "hero-waves.svg", HERO_WAVES)
    for kind in ("sync", "dev", "build"):
        write(MEDIA / "img" / "home" / f"feature-{kind}.png", feature_picture(kind))
    write(MEDIA / "img" / "icons" / "check.svg", CHECK)
    write(MEDIA / "img" / "about" / "lines.svg", ABOUT_LINES)
    write(MEDIA / "img" / "mission" / "quote.svg", QUOTE)

    # Fonts: Weir, real; the others right names and magic bytes, random bodies.
    weir = fontgen.font()
    write(MEDIA / "fonts" / "weir-bold.woff2", fontgen.woff2(weir))
    write(MEDIA / "fonts" / "weir-bold.woff", fontgen.woff(weir))
    for family in FONTS:
        for weight in WEIGHTS:
            write(MEDIA / "fonts" / f"{family}-{weight}.woff2", font(b"wOF2", rng.randrange(800, 6000)))
            write(MEDIA / "fonts" / f"{family}-{weight}.woff", font(b"wOFF", rng.randrange(1000, 8000)))

    # CSS: the pages' own from tools/design/ (copied below); for the other sections, a fonts
    # file with @font-face, then several files per section.
    faces = []
    for family in FONTS:
        for weight in WEIGHTS:
            bold = "bold" if weight == "bold" else "normal"
            style = "italic" if weight == "italic" else "normal"
            faces.append(
                "@font-face {\n"
                f"  font-family: '{family}';\n"
                f"  src: url('../../fonts/{family}-{weight}.woff2') format('woff2'),\n"
                f"       url(../../fonts/{family}-{weight}.woff) format('woff');\n"
                f"  font-weight: {bold};\n"
                f"  font-style: {style};\n"
                "}\n"
            )
    write(MEDIA / "css" / "firefox" / "fonts.css", "/* generated by tools/gen_media.py */\n\n" + "\n".join(faces))
    for section in SECTIONS:
        if section in PAGE_SECTIONS:
            continue
        for topic in rng.sample(CSS_TOPICS, rng.randrange(3, 6)):
            write(MEDIA / "css" / section / f"{topic}.css", css_rules(section, topic, images[section]))
    # Edge cases the url() rewriters must leave alone (in the common bundle: none of these
    # classes is on a page, so the browser fetches none of them).
    write(
        MEDIA / "css" / "base" / "zz-edge-cases.css",
        "/* References that are not rewritten: data:, fragments, absolute URLs. */\n"
        ".edge-data { background: url(data:image/gif;base64,R0lGODlhAQABAAAAACw=); }\n"
        ".edge-frag { filter: url(#blur); }\n"
        ".edge-abs { background: url(https://www.mozilla.org/media/img/favicon.ico); }\n"
        ".edge-proto { background: url(//example.com/x.png); }\n"
        '.edge-icon { background: url("../../img/icons/icon-00.svg#fill"); }\n',
    )

    # JS: libraries plus a few files per section (the pages' own scripts come from
    # tools/design/ and replace these where the names meet).
    for path, name in LIBS.items():
        write(MEDIA / path, lib(name))
    for section in SECTIONS:
        for topic in rng.sample(JS_TOPICS, rng.randrange(2, 5)):
            write(MEDIA / "js" / section / f"{topic}.js", js_module(section, topic))

    # Files collectstatic and sluice must ignore.
    write(MEDIA / "css" / "base" / "layout.css~", "/* editor backup: ignored */\n")
    write(MEDIA / "js" / ".eslintrc.json", '{"root": true}\n')

    # The `pages` app's own static folder.
    write(PAGES_STATIC / "img" / "badge.png", badge(36))
    write(PAGES_STATIC / "js" / "pages.js", js_module("pages", "init"))

    # What the pages load, written by hand.
    for path in sorted(DESIGN.rglob("*")):
        if path.is_file():
            write(SITE / path.relative_to(DESIGN), path.read_bytes())

    files = [p for root in (MEDIA, PAGES_STATIC) for p in root.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    print(f"wrote {len(files)} files, {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
