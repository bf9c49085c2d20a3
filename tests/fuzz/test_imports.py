"""Fuzzing what Kanyan imports: the catalog TOML (the file checked at every start, then synced
into the archive) and the admin's catalog form; the dishonesty list as CSV (staff page and API)
and as JSON (API). Each either goes in or is refused with a message naming the fault; nothing
else may happen, and the server's log stays clean.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.cases.catalog import SHIPPED, Catalog, load_file
from server.errors import ConfigError, KanyanError
from server.staff.api_keys import ApiKeys
from tests.fuzz.messages import any_json, any_text
from tests.fuzz.support import LiveServer, examples
from tests.support.staff import StaffBrowser, make_account

SHIPPED_TEXT = SHIPPED.read_text(encoding="utf-8")
SHIPPED_DATA = tomllib.loads(SHIPPED_TEXT)
HEADERS = ["id_no", "name", "reason", "listed_on", "证件号码", "名称", "失信事由", "列入日期"]


# -- values that get past the first checks ------------------------------------------------------


def resident_id(body: str) -> str:
    """An 18-character resident ID number with its check character (GB 11643)."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


ids = st.one_of(
    st.builds(
        lambda area, day, seq: resident_id(f"{area}{day:%Y%m%d}{seq:03d}"),
        st.sampled_from(["450221", "110101", "440305"]),
        st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
        st.integers(0, 999),
    ),
    st.sampled_from(["91450221MA5KDEM012", "91450221MA5KDEM013", ""]),
    any_text().map(lambda t: t[:40]),
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if not isinstance(value, float) or value == value else "nan"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value), ensure_ascii=False)


def toml_document(data: dict[str, Any]) -> str:
    """A TOML text of `data` (items as [[item]] with inline tables)."""
    lines = []
    for key, value in data.items():
        if key == "item" and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            for item in value:
                lines.append("[[item]]")
                lines += [
                    f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}"
                    for k, v in item.items()
                ]
        else:
            lines.insert(0, f"{json.dumps(key, ensure_ascii=False)} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


toml_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    any_text().filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)),
)
toml_values = st.recursive(
    toml_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def mutated_catalog(draw: st.DrawFn) -> dict[str, Any]:
    """The shipped catalog with a few fields replaced, removed or added."""
    data = json.loads(json.dumps(SHIPPED_DATA))
    items = data["item"]
    for _ in range(draw(st.integers(1, 4))):
        item = items[draw(st.integers(0, len(items) - 1))]
        target = item
        if draw(st.booleans()) and isinstance(item.get("shooting"), dict):
            target = item["shooting"]
        key = draw(st.sampled_from([*sorted(target), "extra"]))
        how = draw(st.sampled_from(["replace", "remove", "duplicate_code"]))
        if how == "remove":
            target.pop(key, None)
        elif how == "duplicate_code":
            item["code"] = SHIPPED_DATA["item"][0]["code"]
        else:
            target[key] = draw(toml_values)
    return data


@st.composite
def catalog_texts(draw: st.DrawFn) -> str:
    how = draw(st.sampled_from(["mutated", "lines", "text"]))
    if how == "mutated":
        return toml_document(draw(mutated_catalog()))
    if how == "lines":
        lines = SHIPPED_TEXT.splitlines()
        start = draw(st.integers(0, len(lines) - 1))
        cut = lines[:start] + lines[start + draw(st.integers(0, 5)) :]
        return "\n".join(cut) + draw(st.sampled_from(["", "\n[[item]]\n", "\ncode = 1\n", "\x00"]))
    return draw(any_text())


valid_ids = ids.filter(lambda value: len(value) == 18)
names = st.text(min_size=1, max_size=60).filter(lambda t: t.strip() != "")


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    well_formed = draw(st.booleans())
    if well_formed:  # the right columns, hostile cells: most of these go in
        chinese = draw(st.booleans())
        header = ["证件号码", "名称", "失信事由", "列入日期"] if chinese else HEADERS[:4]
        header = draw(st.permutations(header))
        cells = {
            header[0]: valid_ids,
            header[1]: names,
            header[2]: any_text().map(lambda t: t[:400]),
            header[3]: any_text().map(lambda t: t[:30]),
        }
        by_title = {"证件号码": valid_ids, "id_no": valid_ids, "名称": names, "name": names}
        rows = draw(
            st.lists(
                st.tuples(*[by_title.get(title, cells[title]) for title in header]).map(list),
                min_size=1,
                max_size=6,
            )
        )
    else:
        header = draw(
            st.lists(st.one_of(st.sampled_from(HEADERS), any_text()), min_size=0, max_size=5)
        )
        rows = draw(
            st.lists(
                st.lists(st.one_of(ids, any_text().map(lambda t: t[:120])), max_size=5),
                max_size=8,
            )
        )
    quote = well_formed or draw(st.booleans())

    def cell(text: str) -> str:
        return '"' + text.replace('"', '""') + '"' if quote else text

    text = "\n".join(",".join(cell(c) for c in row) for row in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "raw"]))
    if encoding == "raw" and not well_formed:
        return draw(st.binary(max_size=300))
    return text.encode("utf-8" if encoding == "raw" else encoding, errors="replace")


entries = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"id_no": st.one_of(valid_ids, ids), "name": st.one_of(names, any_text())},
            optional={"reason": any_json(), "listed_on": any_json(), "extra": any_json()},
        ),
        any_json(),
    ),
    max_size=6,
)


# -- the server ----------------------------------------------------------------------------------


class Staff:
    def __init__(self, live: LiveServer, admin: StaffBrowser, key: str) -> None:
        self.live = live
        self.admin = admin
        self.key = key

    async def api(self, path: str, **kwargs: Any) -> int:
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                self.live.base_url + path, ssl=False, headers=headers, **kwargs
            ) as response,
        ):
            await response.read()
            return response.status


@pytest.fixture(scope="module")
def staff(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staff]:
    with LiveServer(tmp_path_factory.mktemp("fuzz-imports")) as live:
        assert live.server is not None
        server = live.server

        async def login() -> tuple[StaffBrowser, str]:
            await make_account(server.archive, "admin1", "admin")
            tab = StaffBrowser(server.base_url)
            await tab.login("admin1")
            _, key = await ApiKeys(server.archive).create("fuzz-platform", actor="test")
            return tab, key

        admin, key = live.run(login())
        yield Staff(live, admin, key)
        live.run(admin.close())
        live.log.assert_clean()


def test_catalog_files(staff: Staff, tmp_path: Path):
    live = staff.live
    assert live.server is not None
    catalog = Catalog(live.server.archive)
    accepted = []

    @given(text=catalog_texts())
    @settings(max_examples=examples(120))
    def fuzz(text: str) -> None:
        path = tmp_path / "catalog.toml"
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        try:
            items = load_file(path)
        except ConfigError as exc:
            assert exc.message  # refused, naming the fault
            return
        before = len(live.log.records)
        try:
            live.run(catalog.sync_file(items, "fuzz"))
            accepted.append(text)
        except KanyanError:
            pass
        assert len(live.log.records) == before, live.log.problems()[before:][:3]

    fuzz()
    live.log.assert_clean()
    assert accepted, "no catalog got through: the fuzzer never reached the archive"


def test_catalog_form(staff: Staff):
    live = staff.live
    fields = ["code", "name", "checklist", "min_duration_s", "min_width", "min_height", "must_show"]
    form = st.fixed_dictionaries(
        {
            "is_new": st.sampled_from(["1", "0", ""]),
            "code": st.one_of(st.sampled_from(["FOOD-OPERATION", "FUZZ-1", "X"]), any_text()),
        },
        optional={name: any_text() for name in [*fields[1:], "note", "video_allowed"]},
    )

    @given(posted=form)
    @settings(max_examples=examples(60))
    def fuzz(posted: dict[str, str]) -> None:
        before = len(live.log.records)
        data = {
            k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            for k, v in posted.items()
        }
        response = live.run(staff.admin.post("/catalog", data))
        assert response.status < 500, response.text[:300]
        assert len(live.log.records) == before, live.log.problems()[before:][:3]

    fuzz()
    live.log.assert_clean()


def test_dishonesty_csv_on_the_staff_page_and_the_api(staff: Staff):
    live = staff.live
    statuses: list[int] = []

    @given(raw=csv_bytes(), replace=st.booleans(), by_api=st.booleans())
    @settings(max_examples=examples(100))
    def fuzz(raw: bytes, replace: bool, by_api: bool) -> None:
        before = len(live.log.records)
        if by_api:
            mode = "replace" if replace else "merge"
            status = live.run(
                staff.api(
                    f"/api/v1/dishonesty?mode={mode}",
                    data=raw,
                    headers={"Content-Type": "text/csv"},
                )
            )
            assert status in (200, 400), status
            statuses.append(status)
        else:
            form = aiohttp.FormData()
            form.add_field("file", raw, filename="名单.csv", content_type="text/csv")
            form.add_field("mode", "replace" if replace else "merge")
            form.add_field("csrf", staff.admin.csrf)
            response = live.run(staff.admin.post("/dishonesty/import", form, csrf=False))
            assert response.status in (200, 400), response.text[:300]
            statuses.append(response.status)
        assert len(live.log.records) == before, live.log.problems()[before:][:3]

    fuzz()
    live.log.assert_clean()
    assert 200 in statuses and 400 in statuses, "the fuzzer never got a list in (or refused)"


def test_dishonesty_json_on_the_api(staff: Staff):
    live = staff.live
    body = st.one_of(
        st.fixed_dictionaries(
            {"entries": entries},
            optional={"mode": st.one_of(st.sampled_from(["merge", "replace"]), any_json())},
        ),
        any_json(),
    )

    statuses: list[int] = []

    @given(data=body)
    @settings(max_examples=examples(100))
    def fuzz(data: Any) -> None:
        before = len(live.log.records)
        raw = json.dumps(data).encode()
        status = live.run(
            staff.api("/api/v1/dishonesty", data=raw, headers={"Content-Type": "application/json"})
        )
        assert status in (200, 400), status
        statuses.append(status)
        assert len(live.log.records) == before, live.log.problems()[before:][:3]

    fuzz()
    live.log.assert_clean()
    assert 200 in statuses and 400 in statuses, "the fuzzer never got a list in (or refused)"
