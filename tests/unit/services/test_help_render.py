"""The help center's renderer: hostile Markdown comes out harmless, pages are whole without JavaScript, the search
ranks what a visitor types, and the publisher's paths."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.automation_settings import HelpCenterSettings
from switchboard.services import help_publish, help_render
from switchboard.services.help_images import sniff

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg onload=alert(1)>",
    "<iframe src=https://evil.example></iframe>",
    "<object data=https://evil.example/x.swf></object>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<a href="#" onclick="alert(1)">x</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<form action=https://evil.example><input name=password></form>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '[x](https://example.com "title" onmouseover=alert(1))',
    "<base href=https://evil.example/>",
    "<meta http-equiv=refresh content='0;url=https://evil.example'>",
    "```html\n<script>alert(1)</script>\n```",
    "<<script>script>alert(1)<</script>/script>",
]


def dangerous(html: str) -> list[str]:
    """What would run or load as code in the browser: a script, an event handler, a javascript: or non-image data:
    URL in an attribute, a frame, an object, a style, a form, a base or a meta refresh."""
    found = []
    if re.search(r"<\s*(script|iframe|object|embed|style|form|base|meta|svg|math|link)\b", html, re.I):
        found.append("tag")
    tags = re.findall(r"<[a-zA-Z][^>]*>", html)  # real tags (text shows "<" as &lt;)
    if any(re.search(r"\son[a-z]+\s*=", tag, re.I) for tag in tags):
        found.append("handler")
    for value in re.findall(r'(?:href|src)="([^"]*)"', html):
        lowered = "".join(value.split()).lower()
        if lowered.startswith(("javascript:", "vbscript:")) or (lowered.startswith("data:")
                                                                 and not lowered.startswith("data:image/png")):
            found.append(f"url {value}")
    if any(re.search(r"\sstyle\s*=", tag, re.I) for tag in tags):
        found.append("style attribute")
    return found


@pytest.mark.parametrize("markdown", HOSTILE)
def test_hostile_markdown_renders_harmless(markdown):
    html = help_render.render_markdown(markdown)
    assert not dangerous(html), (markdown, html)


def test_raw_html_is_shown_as_text_and_safe_things_stay():
    assert help_render.render_markdown("<b>x</b>") == "<p>&lt;b&gt;x&lt;/b&gt;</p>\n"
    html = help_render.render_markdown("# Title\n\n**bold** [link](https://example.com) ![pic](https://example.com/a.png)"
                                       "\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~ `code`")
    assert "<strong>bold</strong>" in html and 'href="https://example.com"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert '<img src="https://example.com/a.png" alt="pic">' in html and "<table>" in html and "<s>gone</s>" in html
    raster = help_render.render_markdown("![p](data:image/png;base64,iVBORw0KGgo=)")
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in raster


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/=\"' :()[]!#*&;\nabcsriptjvonerlgxdtm")), max_size=80))
def test_no_markdown_makes_a_script_or_a_handler(markdown):
    assert not dangerous(help_render.render_markdown(markdown))


def site(**look) -> help_render.Site:
    return help_render.Site(base_url="https://help.example/help", api_url="https://api.example",
                            look=HelpCenterSettings(**look), locales=("en", "fr"))


def article(**fields) -> help_render.Article:
    base = {"id": "a_" + "0" * 28, "title": "Refunds & returns", "body": "Refunds take **five** days.",
            "category": "Billing", "locale": "en", "slug": "refunds"}
    return help_render.Article(**(base | fields))


def test_an_article_page_is_whole_without_javascript_and_described_for_search_engines():
    page = help_render.article_page(site(name="Acme <Help>"), article())
    assert "<title>Refunds &amp; returns · Acme &lt;Help&gt;</title>" in page
    assert '<meta name="description" content="Refunds take five days.">' in page
    assert '<link rel="canonical" href="https://help.example/help/en/refunds">' in page
    assert '<form class="feedback" method="post" action="https://api.example/help/feedback">' in page
    assert page.count("<script") == 1 and 'src="https://help.example/help/assets/help.js"' in page
    assert "style=" not in page and "<style" not in page  # the CSP allows no inline style
    assert help_render.article_page(site(), article(), preview=True).count("<script") == 0


def test_the_theme_and_a_hostile_title_are_escaped():
    css = help_render.theme_css(HelpCenterSettings(color="#aa0000"))
    assert "--accent:#aa0000" in css
    page = help_render.article_page(site(), article(title='"><script>alert(1)</script>'))
    assert "<script>alert" not in page


def test_the_search_ranks_titles_takes_prefixes_and_needs_every_word():
    entries = [{"id": "1", "title": "Refunds and returns",
                "terms": help_render.terms("Refunds and returns", "money back card")},
               {"id": "2", "title": "Shipping times", "terms": help_render.terms("Shipping times", "refunds are quick")},
               {"id": "3", "title": "Café opening hours", "terms": []}]
    assert [e["id"] for e in help_render.search(entries, "refund")] == ["1", "2"]
    assert [e["id"] for e in help_render.search(entries, "refunds card")] == ["1"]
    assert [e["id"] for e in help_render.search(entries, "cafe")] == ["3"]  # accents folded
    assert help_render.search(entries, "bitcoin") == []
    assert help_render.normalize_query("  Where IS my Café?? ") == "where is my cafe"
    assert len(help_render.normalize_query("word " * 100)) <= 100


def test_slugs_and_image_paths():
    assert help_render.slugify("Héllo, World! 2") == "hello-world-2"
    assert help_render.slugify("!!!") == "article"
    good = "/help/images/a_0123456789abcdef0123456789ab/im_0123456789abcdef0123456789ab.png"
    assert help_render.image_paths(f"![a]({good}) ![b](/help/images/../x.png)") == [good]


def test_images_are_sniffed():
    assert sniff(b"\x89PNG\r\n\x1a\n....") == "image/png" and sniff(b"GIF89a") == "image/gif"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp" and sniff(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff(b"<svg onload=alert(1)>") is None and sniff(b"<html>") is None


def test_the_publisher_invalidates_viewer_paths():
    assert help_publish.paths(["help/en/index.html", "help/en/refunds"]) == ["/help/en/", "/help/en/index.html",
                                                                             "/help/en/refunds"]
