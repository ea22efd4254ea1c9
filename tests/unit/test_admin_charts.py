"""The admin's SVG charts: valid XML, escaped labels, bars proportional to values, gaps for None."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from admin.charts import (
    Bar,
    BarGroup,
    Series,
    bar_chart,
    funnel_chart,
    grouped_bar_chart,
    percent,
    series_chart,
)

NS = {"svg": "http://www.w3.org/2000/svg"}
NASTY = '<script>alert("x")</script> & co\'s'


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def bars_of(root: ET.Element) -> list[ET.Element]:
    return root.findall(".//svg:g[@class='bar']", NS)


def rect_of(group: ET.Element) -> ET.Element:
    rect = group.find("svg:rect", NS)
    assert rect is not None
    return rect


def size(group: ET.Element, attribute: str) -> float:
    return float(rect_of(group).attrib[attribute])


def tip(element: ET.Element) -> str:
    return element.findtext("svg:title", default="", namespaces=NS)


def test_every_chart_is_valid_svg_with_an_accessible_title() -> None:
    charts = [
        bar_chart([Bar("a", 1)], title="Bars"),
        grouped_bar_chart([BarGroup("g", [Bar("s", 1)])], title="Grouped"),
        funnel_chart([Bar("Sent", 10), Bar("Opened", 4)], title="Funnel"),
        series_chart(["d1", "d2"], [Series("s", [1, 2])], title="Lines"),
        series_chart(["d1", "d2"], [Series("s", [1, 2])], title="Columns", kind="columns"),
    ]
    for chart in charts:
        root = parse(chart)
        assert root.attrib["role"] == "img"
        assert root.attrib["aria-label"] == tip(root) != ""


@pytest.mark.parametrize(
    "draw",
    [
        lambda: bar_chart([Bar(NASTY, 3)], title=NASTY),
        lambda: grouped_bar_chart([BarGroup(NASTY, [Bar(NASTY, 1)])], title=NASTY),
        lambda: funnel_chart([Bar(NASTY, 3)], title=NASTY),
        lambda: series_chart([NASTY], [Series(NASTY, [1])], title=NASTY),
    ],
)
def test_labels_and_titles_are_escaped(draw: object) -> None:
    svg = draw()  # type: ignore[operator]
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp; co" in svg
    root = parse(svg)
    assert tip(root) == NASTY  # the parser gets the text back exactly
    assert root.find(".//svg:script", NS) is None


def test_bar_heights_are_proportional_to_the_values() -> None:
    root = parse(bar_chart([Bar("a", 10), Bar("b", 25), Bar("c", 5)], title="t"))
    heights = [size(group, "height") for group in bars_of(root)]
    assert heights[1] / heights[0] == pytest.approx(2.5, rel=0.01)
    assert heights[2] / heights[0] == pytest.approx(0.5, rel=0.01)


def test_negative_bars_hang_below_the_zero_line() -> None:
    root = parse(bar_chart([Bar("gain", 0.5), Bar("loss", -0.25)], title="t", fmt=percent))
    gain, loss = bars_of(root)
    zero = root.find(".//svg:line[@class='zero']", NS)
    assert zero is not None
    zero_y = float(zero.attrib["y1"])
    assert size(gain, "y") + size(gain, "height") == pytest.approx(zero_y, abs=0.02)
    assert size(loss, "y") == pytest.approx(zero_y, abs=0.02)
    assert size(gain, "height") == pytest.approx(2 * size(loss, "height"), rel=0.01)
    assert "-25.0%" in tip(loss)


def test_an_error_bar_spans_the_interval() -> None:
    root = parse(bar_chart([Bar("roi", 0.6, -0.1, 1.3)], title="t"))
    (bar,) = bars_of(root)
    interval = bar.find("svg:path[@class='interval']", NS)
    assert interval is not None
    top_of_bar = size(bar, "y")
    bottom = top_of_bar + size(bar, "height")  # the zero line
    per_unit = size(bar, "height") / 0.6
    ends = [float(n) for n in interval.attrib["d"].split("V")[0].split(" ")[1:]]
    high = float(interval.attrib["d"].split("V")[1].split("M")[0])
    assert ends[0] == pytest.approx(bottom + 0.1 * per_unit, abs=0.05)  # low, below zero
    assert high == pytest.approx(bottom - 1.3 * per_unit, abs=0.05)
    assert "interval -0.10 to 1.30" in tip(bar)


def test_none_values_are_marked_not_available_without_a_bar() -> None:
    root = parse(bar_chart([Bar("known", 2), Bar("unknown", None)], title="t"))
    missing = root.findall(".//svg:g[@class='bar missing']", NS)
    assert [tip(g) for g in missing] == ["unknown: not available"]
    assert missing[0].find("svg:rect", NS) is None
    assert len(bars_of(root)) == 1
    funnel = parse(funnel_chart([Bar("Sent", None)], title="t"))
    assert funnel.findall(".//svg:g[@class='bar missing']", NS)
    nothing = parse(bar_chart([Bar("x", None)], title="empty"))  # no values at all still draws
    assert not bars_of(nothing)


def test_grouped_bars_share_a_scale_and_name_their_group_and_series() -> None:
    groups = [
        BarGroup("A", [Bar("Open rate", 0.4), Bar("Click rate", 0.2, 0.1, 0.3)]),
        BarGroup("B", [Bar("Open rate", 0.1), Bar("Click rate", None)]),
    ]
    root = parse(grouped_bar_chart(groups, title="Rates", fmt=percent))
    bars = {tip(g).split(":")[0]: g for g in bars_of(root)}
    assert set(bars) == {"A, Open rate", "A, Click rate", "B, Open rate"}
    ratio = size(bars["A, Open rate"], "height") / size(bars["B, Open rate"], "height")
    assert ratio == pytest.approx(4, rel=0.01)
    assert len(root.findall(".//svg:path[@class='interval']", NS)) == 1
    legend = root.find(".//svg:g[@class='legend']", NS)
    assert legend is not None
    assert [t.text for t in legend.findall("svg:text", NS)] == ["Open rate", "Click rate"]


def test_funnel_bars_are_proportional_and_show_the_share_of_the_first_step() -> None:
    root = parse(funnel_chart([Bar("Sent", 200), Bar("Opened", 50)], title="t"))
    sent, opened = bars_of(root)
    assert size(sent, "width") / size(opened, "width") == pytest.approx(4, rel=0.01)
    assert tip(opened) == "Opened: 50 (25% of sent)"


def test_lines_break_at_missing_days_and_thin_their_labels() -> None:
    days = [f"d{i}" for i in range(30)]
    values: list[float | None] = [float(i) for i in range(30)]
    values[10] = None
    root = parse(series_chart(days, [Series("Opened", values)], title="Daily"))
    path = root.find(".//svg:path[@class='line']", NS)
    assert path is not None
    assert path.attrib["d"].count("M") == 2  # one gap, two runs
    assert len(root.findall(".//svg:circle", NS)) == 29
    labels = root.findall(".//svg:text[@class='label']", NS)
    assert 1 < len(labels) <= 8


def test_columns_are_proportional_and_skip_missing_values() -> None:
    chart = series_chart(
        ["a", "b", "c"], [Series("Revenue", [100, None, 25])], title="t", kind="columns"
    )
    root = parse(chart)
    first, last = bars_of(root)
    assert size(first, "height") / size(last, "height") == pytest.approx(4, rel=0.01)
