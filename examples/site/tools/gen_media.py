#!/usr/bin/env python3
"""Generate examples/site/media/ and the `pages` app's static files.

A bedrock-shaped tree of a few hundred small files: CSS sections whose url()
references point at real images and fonts, SCSS with an @import of a partial,
ES5 scripts, valid PNG/JPEG/GIF/SVG images and woff/woff2 fonts (right magic
bytes, random bodies). Stdlib only, fixed seed: running it twice gives the
same bytes, so the committed output can be checked with `git diff`.

Usage (from anywhere):  python3 examples/site/tools/gen_media.py
"""

import random
import shutil
import struct
import zlib
from pathlib import Path

SITE = Path(__file__).resolve().parent.parent
MEDIA = SITE / "media"
PAGES_STATIC = SITE / "pages" / "static" / "pages"

rng = random.Random(20160524)  # the day bedrock got `gulp media:watch`

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
    write(MEDIA / "img" / "logo.png", png(32, 32, False))
    write(MEDIA / "img" / "favicon.ico.png", png(16, 16, False))

    # Fonts: right names and magic bytes, random bodies.
    for family in FONTS:
        for weight in WEIGHTS:
            write(MEDIA / "fonts" / f"{family}-{weight}.woff2", font(b"wOF2", rng.randrange(800, 6000)))
            write(MEDIA / "fonts" / f"{family}-{weight}.woff", font(b"wOFF", rng.randrange(1000, 8000)))

    # CSS: a fonts file with @font-face, then several files per section.
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
    write(MEDIA / "css" / "base" / "fonts.css", "/* generated by tools/gen_media.py */\n\n" + "\n".join(faces))
    for section in SECTIONS:
        for topic in rng.sample(CSS_TOPICS, rng.randrange(3, 6)):
            write(MEDIA / "css" / section / f"{topic}.css", css_rules(section, topic, images[section]))
    # Edge cases the url() rewriters must leave alone.
    write(
        MEDIA / "css" / "base" / "zz-edge-cases.css",
        "/* References that are not rewritten: data:, fragments, absolute URLs. */\n"
        ".edge-data { background: url(data:image/gif;base64,R0lGODlhAQABAAAAACw=); }\n"
        ".edge-frag { filter: url(#blur); }\n"
        ".edge-abs { background: url(https://www.mozilla.org/media/img/favicon.ico); }\n"
        ".edge-proto { background: url(//example.com/x.png); }\n"
        '.edge-icon { background: url("../../img/icons/icon-00.svg#fill"); }\n',
    )

    # SCSS: a partial with variables and an entry point that imports it.
    write(
        MEDIA / "css" / "sass" / "_vars.scss",
        "// generated by tools/gen_media.py\n"
        "$brand: #0060df;\n"
        "$ink: #20123a;\n"
        "$gap: 16px;\n"
        "$logo: '../../img/logo.png';\n",
    )
    write(
        MEDIA / "css" / "sass" / "site.scss",
        "// generated by tools/gen_media.py\n"
        "@import 'vars';\n\n"
        ".site-header {\n"
        "  color: $ink;\n"
        "  padding: $gap ($gap * 2);\n"
        "  background: url($logo) no-repeat;\n\n"
        "  a {\n"
        "    color: $brand;\n"
        "    &:hover { color: darken($brand, 10%); }\n"
        "  }\n"
        "}\n",
    )
    write(
        MEDIA / "css" / "sass" / "_mixins.scss",
        "// generated by tools/gen_media.py (not imported yet)\n"
        "@mixin card { border-radius: 4px; box-shadow: 0 1px 2px rgba(0, 0, 0, .2); }\n",
    )

    # JS: libraries plus a few files per section.
    for path, name in LIBS.items():
        write(MEDIA / path, lib(name))
    for section in SECTIONS:
        for topic in rng.sample(JS_TOPICS, rng.randrange(2, 5)):
            write(MEDIA / "js" / section / f"{topic}.js", js_module(section, topic))

    # Files collectstatic and sluice must ignore.
    write(MEDIA / "css" / "base" / "layout.css~", "/* editor backup: ignored */\n")
    write(MEDIA / "js" / ".eslintrc.json", '{"root": true}\n')

    # The `pages` app's own static folder.
    write(
        PAGES_STATIC / "css" / "pages.css",
        "/* pages app */\n.pages-badge { background: url(../img/badge.png) no-repeat; }\n",
    )
    write(PAGES_STATIC / "img" / "badge.png", png(12, 12, False))
    write(PAGES_STATIC / "js" / "pages.js", js_module("pages", "init"))

    files = [p for root in (MEDIA, PAGES_STATIC) for p in root.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    print(f"wrote {len(files)} files, {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
