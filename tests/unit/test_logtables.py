"""Faust's box tables are folded to one line each, keeping every row."""

from __future__ import annotations

import logging

from mode.utils.logging import ExtensionFormatter

from pipelines.logtables import OneLineTables, one_line

ASSIGNED = """Setting newly assigned partitions
+Topic Partition Set---------------------------+------------+
| topic                                        | partitions |
+----------------------------------------------+------------+
| p-earshot-pipelines-spike-ticks              | {0-3}      |
| p-mentions.raw.v1                            | {0-3}      |
+----------------------------------------------+------------+ for group p-earshot-pipelines"""

HIGHWATER = """[^---Recovery]: Highwater for active changelog partitions:
+Highwater - Active------------------------------+-----------+-----------+
| topic                                          | partition | highwater |
+------------------------------------------------+-----------+-----------+
| p-earshot-pipelines-dedupe-sightings-changelog | 0         | -1        |
| 〃                                             | 1         | 41        |
+------------------------------------------------+-----------+-----------+"""


def test_an_assignment_table_is_one_line_with_every_row_and_the_text_after_it() -> None:
    line = one_line(ASSIGNED)
    assert "\n" not in line
    assert line == (
        "Setting newly assigned partitions [Topic Partition Set (topic | partitions): "
        "p-earshot-pipelines-spike-ticks | {0-3}; p-mentions.raw.v1 | {0-3}] "
        "for group p-earshot-pipelines"
    )


def test_a_title_holding_a_dash_and_ditto_rows_are_kept() -> None:
    line = one_line(HIGHWATER)
    assert line.startswith(
        "[^---Recovery]: Highwater for active changelog partitions: [Highwater - Active"
    )
    assert "p-earshot-pipelines-dedupe-sightings-changelog | 0 | -1; 〃 | 1 | 41]" in line


def test_the_filter_rewrites_only_records_with_a_table() -> None:
    tables = OneLineTables()
    record = logging.LogRecord("faust.worker", logging.INFO, __file__, 1, "%s", (ASSIGNED,), None)
    assert tables.filter(record)
    assert record.getMessage() == one_line(ASSIGNED)
    # Faust's worker formats through mode's formatter, which wraps non-tuple args.
    assert ExtensionFormatter(fmt="%(message)s").format(record) == one_line(ASSIGNED)
    plain = logging.LogRecord("faust", logging.INFO, __file__, 1, "ready in %ds", (3,), None)
    assert tables.filter(plain) and plain.getMessage() == "ready in 3s"
