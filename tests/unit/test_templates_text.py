"""HTML to text: links, blocks, lists, dropped elements, entities and whitespace."""

from __future__ import annotations

import pytest

from templates import html_to_text


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Hello</p><p>World</p>", "Hello\n\nWorld\n"),
        ("<p>one<br>two<br/>three</p>", "one\ntwo\nthree\n"),
        ("<h1>Title</h1>Body", "Title\n\nBody\n"),
        ("<ul><li>One</li><li>Two</li></ul>", "- One\n- Two\n"),
        ('<a href="https://x.example/a">Shop now</a>', "Shop now (https://x.example/a)\n"),
        ('<a href="https://x.example/?a=1&amp;b=2">go</a>', "go (https://x.example/?a=1&b=2)\n"),
        ('<a href="https://x.example/">https://x.example/</a>', "https://x.example/\n"),
        ('<a href="mailto:help@x.example">help@x.example</a>', "help@x.example\n"),
        ('<a href="mailto:help@x.example">Write to us</a>', "Write to us (help@x.example)\n"),
        ('<a href="#top">Back to top</a>', "Back to top\n"),
        ('<a href="tel:+15550100">Call</a>', "Call\n"),
        ('<a href="https://x.example/"><img src="a.png" alt=""></a>', ""),
        (
            '<a href="https://x.example/"><img src="a.png" alt="Shop"></a>',
            "Shop (https://x.example/)\n",
        ),
        ("<style>p { color: red }</style><script>alert(1)</script><p>Hi</p>", "Hi\n"),
        ("<head><title>Subject</title></head><body>Hi</body>", "Hi\n"),
        ("<!-- hidden --><p>Hi</p><!--[if mso]>Outlook<![endif]-->", "Hi\n"),
        ("<p>Tom &amp; Jerry &lt;3 &euro;5&nbsp;off</p>", "Tom & Jerry <3 €5\xa0off\n"),
        ("<p>  lots   of\n\n   space </p>", "lots of space\n"),
        ("<table><tr><td>A</td><td>B</td></tr><tr><td>C</td></tr></table>", "A B\nC\n"),
        (
            "<P>Shout</P><BR><A HREF='https://x.example/'>Up</A>",
            "Shout\n\nUp (https://x.example/)\n",
        ),
        ("<div><div><p>deep</p></div></div>\n\n\n<p>next</p>", "deep\n\nnext\n"),
        ("", ""),
    ],
)
def test_html_becomes_readable_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


def test_escaped_markup_in_content_stays_text() -> None:
    assert (
        html_to_text("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>")
        == "<script>alert(1)</script>\n"
    )


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("a<br><br>b", "a\n\nb\n"),
        ("<div>a</div><div>b</div>", "a\nb\n"),
        ("<p>a<br></p><p>b</p>", "a\n\nb\n"),
    ],
)
def test_breaks_and_blocks_make_lines_and_paragraphs(html: str, expected: str) -> None:
    assert html_to_text(html) == expected
