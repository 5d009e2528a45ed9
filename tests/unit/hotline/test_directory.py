"""hotline.directory: the CSV import's checks (every wrong line named), office hours, and
the in-memory book the voice menu reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hotline.directory import (
    DEPARTMENT,
    STAFF,
    DirectoryBook,
    DirectoryError,
    DirectoryItem,
    in_hours,
    parse_hours,
    read_csv,
)

GOOD = """类型,名称,所属部门,职务,号码,按键,办公时间
部门,立案庭,,,8201,1,08:30-12:00;14:30-17:30
人员,张法官,民一庭,法官,13900000000,,
department,执行局,,,8301,2,
"""


def test_a_good_file_reads_every_line() -> None:
    filing, judge, enforcement = read_csv("\ufeff" + GOOD)  # Excel's BOM is fine
    assert (filing.kind, filing.name, filing.department, filing.menu_key) == (
        DEPARTMENT, "立案庭", "立案庭", "1")
    assert (judge.kind, judge.title, judge.outside, judge.label) == (
        STAFF, "法官", True, "民一庭 张法官（法官）")
    assert enforcement.kind == DEPARTMENT and not enforcement.outside


def test_english_header_in_any_order() -> None:
    [item] = read_csv("number,name,kind\n8202,诉讼服务中心,部门\n")
    assert (item.name, item.number, item.menu_key) == ("诉讼服务中心", "8202", "")


def test_every_wrong_line_is_named_and_nothing_is_read() -> None:
    text = GOOD + "\n".join([
        "部门,信访室,,,12,3,",                 # line 5: number too short
        "人员,李书记员,,书记员,8401,,",         # line 6: staff without a department
        "部门,研究室,,,8501,9,25:00-26:00",     # line 7: key 9 is the extension key; hours
        "经理,王某,民二庭,,8601,,",              # line 8: no such kind
        "部门,立案庭,,,8209,1,",                 # line 9: the same department again, key 1
    ]) + "\n"
    with pytest.raises(DirectoryError) as refused:
        read_csv(text)
    errors = refused.value.errors
    assert set(errors) == {"第5行", "第6行", "第7行", "第8行", "第9行"}
    assert "号码" in errors["第5行"] and "“12”" in errors["第5行"]
    assert "所属部门" in errors["第6行"]
    assert "按键" in errors["第7行"] and "办公时间" in errors["第7行"]
    assert "类型" in errors["第8行"]
    assert "第2行" in errors["第9行"]


def test_header_missing_a_column() -> None:
    with pytest.raises(DirectoryError, match="表头缺少列：号码"):
        read_csv("类型,名称\n部门,立案庭\n")


def test_office_hours() -> None:
    assert parse_hours("") == []
    assert parse_hours("08:30-12:00，14:30-17:30") is not None
    assert parse_hours("12:00-08:30") is None and parse_hours("上午") is None
    at_9 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
    at_13 = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert in_hours("08:30-12:00;14:30-17:30", at_9, "Asia/Shanghai")
    assert not in_hours("08:30-12:00;14:30-17:30", at_13, "Asia/Shanghai")
    assert in_hours("", at_13, "Asia/Shanghai")  # the hotline's own hours decide


def test_book_by_key_and_extension() -> None:
    book = DirectoryBook()
    book.load([DirectoryItem(DEPARTMENT, "立案庭", "8201", "立案庭", menu_key="1", id=1),
               DirectoryItem(STAFF, "张法官", "13900000000", "民一庭", id=2),
               DirectoryItem(STAFF, "李书记员", "8402", "民一庭", id=3)])
    assert book.by_key["1"].name == "立案庭" and list(book.by_key) == ["1"]
    assert set(book.by_extension) == {"8201", "8402"}  # an outside number is no extension
    assert book.by_id[2].name == "张法官"
