"""The curve chart: points placed by their x value, gaps for None, labelled marks, escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from admin.charts import LEFT, RIGHT, WIDTH, Mark, Series, curve_chart

SVG = "{http://www.w3.org/2000/svg}"
NASTY = '<script>alert("x")</script> & co\'s'


def circles(root: ET.Element) -> list[tuple[float, float, str]]:
    return [
        (float(c.attrib["cx"]), float(c.attrib["cy"]), c.findtext(f"{SVG}title") or "")
        for c in root.iter(f"{SVG}circle")
    ]


def test_points_sit_at_their_x_value_from_the_axis_to_the_right_edge() -> None:
    root = ET.fromstring(
        curve_chart([0.0, 0.25, 1.0], [Series("Model", [0, 5, 10])], title="Curve")
    )
    assert root.attrib["aria-label"] == root.findtext(f"{SVG}title") == "Curve"
    xs = [x for x, _, _ in circles(root)]
    assert xs[0] == LEFT and xs[2] == WIDTH - RIGHT
    assert xs[1] == pytest.approx(LEFT + 0.25 * (WIDTH - RIGHT - LEFT), abs=0.01)
    ys = [y for _, y, _ in circles(root)]
    assert ys[0] > ys[1] > ys[2]  # higher values are drawn higher up
    assert ys[0] - ys[1] == pytest.approx(ys[1] - ys[2], abs=0.02)
    assert [t for _, _, t in circles(root)] == [
        "0.0%, Model: 0",
        "25.0%, Model: 5",
        "100.0%, Model: 10",
    ]


def test_a_missing_value_leaves_a_gap_and_each_series_its_own_line() -> None:
    chart = curve_chart(
        [0.0, 0.5, 1.0],
        [Series("A", [1, None, 3]), Series("B", [2, 2, 2])],
        title="Gaps",
        x_fmt=lambda share: f"{share:.0%}",
    )
    root = ET.fromstring(chart)
    assert len(circles(root)) == 5
    series = [g for g in root.iter(f"{SVG}g") if g.get("class") == "series"]
    assert [g.findtext(f"{SVG}title") for g in series] == ["A", "B"]
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "label"]
    assert labels == ["0%", "20%", "40%", "60%", "80%", "100%"]


def test_marks_are_dashed_lines_at_their_x_with_escaped_labels() -> None:
    chart = curve_chart([0.0, 1.0], [Series(NASTY, [0, 1])], title=NASTY, marks=[Mark(0.5, NASTY)])
    assert "<script>" not in chart
    root = ET.fromstring(chart)
    (mark,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == "mark"]
    assert mark.findtext(f"{SVG}title") == NASTY
    line = mark.find(f"{SVG}line")
    assert line is not None and line.attrib["stroke-dasharray"]
    assert float(line.attrib["x1"]) == pytest.approx((LEFT + WIDTH - RIGHT) / 2, abs=0.01)


def test_series_must_have_one_value_per_x() -> None:
    with pytest.raises(ValueError):
        curve_chart([0.0, 1.0], [Series("short", [1])], title="Mismatch")
