"""SVG bar charts: well-formed, accessible, escaped, proportional, and CSP-safe."""

import xml.etree.ElementTree as ET

import pytest

from reporting.reports.charts import Series, horizontal_bar_chart, nice_ticks, vertical_bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - our own output, in a test


def bars(root: ET.Element) -> list[ET.Element]:
    return [rect for rect in root.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (0, [0, 1]),
        (3, [0, 1, 2, 3]),
        (9, [0, 2, 4, 6, 8, 10]),
        (12, [0, 5, 10, 15]),
        (100, [0, 20, 40, 60, 80, 100]),
        (1234, [0, 500, 1000, 1500]),
    ],
)
def test_ticks_are_round_whole_numbers_that_cover_the_highest_bar(maximum, ticks):
    assert nice_ticks(maximum) == ticks


def test_a_chart_is_an_image_with_a_title_and_a_description_screen_readers_announce():
    root = parse(
        vertical_bar_chart(
            chart_id="per-month",
            title="Cases per month",
            categories=["Jan", "Feb", "Mar"],
            series=[Series("Cases", [4, 0, 7])],
        )
    )

    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "per-month-title per-month-desc"
    assert root.find(f"{SVG}title").text == "Cases per month"
    assert root.find(f"{SVG}desc").text == "Jan 4, Feb 0, Mar 7."
    axis_labels = [t.text for t in root.iter(f"{SVG}text")]
    assert {"Jan", "Feb", "Mar", "0", "2", "4", "6", "8"} <= set(axis_labels)


def test_bar_heights_are_proportional_and_each_bar_says_its_value_on_hover():
    root = parse(
        vertical_bar_chart(
            chart_id="c",
            title="t",
            categories=["A", "B"],
            series=[Series("Cases", [5, 10])],
        )
    )

    first, second = bars(root)
    assert float(second.get("height")) == pytest.approx(2 * float(first.get("height")), rel=0.01)
    assert first.find(f"{SVG}title").text == "A: 5"


def test_series_are_stacked_with_a_legend():
    root = parse(
        vertical_bar_chart(
            chart_id="c",
            title="Attendance",
            categories=["Mar 4"],
            category_titles=["2026-03-04 Neuro conference"],
            series=[Series("Attendings", [6]), Series("Trainees", [2])],
        )
    )

    attendings, trainees = bars(root)
    assert float(attendings.get("y")) == pytest.approx(
        float(trainees.get("y")) + float(trainees.get("height")), abs=0.2
    )
    assert trainees.find(f"{SVG}title").text == "2026-03-04 Neuro conference: 2 trainees"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Attendings" in texts and "Trainees" in texts
    assert "8" in texts  # the stack's total above the bar


def test_text_from_people_is_escaped_and_nothing_uses_inline_style_or_script():
    markup = str(
        horizontal_bar_chart(
            chart_id="x",
            title='Reasons <script>alert("t")</script>',
            bars=[("<img src=x onerror=alert(1)>", 3), ("Great catch", 1)],
        )
    )

    assert "<script" not in markup and "<img" not in markup
    assert "&lt;img src=x onerror=alert(1)&gt;" in markup
    assert "style=" not in markup and "onclick" not in markup
    parse(markup)  # still well-formed XML


def test_an_empty_chart_says_there_is_no_data():
    root = parse(vertical_bar_chart(chart_id="e", title="Nothing", categories=[], series=[]))

    assert "No data for this period." in [t.text for t in root.iter(f"{SVG}text")]


def test_many_bars_get_slanted_labels_and_a_summary_instead_of_every_value():
    categories = [f"Day {i}" for i in range(60)]
    root = parse(
        vertical_bar_chart(
            chart_id="m",
            title="Many",
            categories=categories,
            series=[Series("n", list(range(60)))],
        )
    )

    assert any("rotate(-45" in (t.get("transform") or "") for t in root.iter(f"{SVG}text"))
    assert root.find(f"{SVG}desc").text.startswith("60 bars from Day 0 to Day 59")


def test_a_long_legend_wraps_onto_a_second_row_inside_the_chart():
    names = ["Neuroradiology", "Body imaging", "Musculoskeletal", "Pediatric radiology"] * 2
    root = parse(
        vertical_bar_chart(
            chart_id="l",
            title="Sections",
            categories=["A"],
            series=[Series(name, [1]) for name in names],
            width=600,
        )
    )

    legend = [t for t in root.iter(f"{SVG}text") if t.text in names]
    assert len({t.get("y") for t in legend}) >= 2
    assert all(float(t.get("x")) < 600 for t in legend)
