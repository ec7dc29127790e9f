"""The one export helper: a name that a spreadsheet would run as a formula comes out of every CSV
export as text (project names come from Neon, and anyone in the organization can set them),
while numbers stay numbers and the JSON export keeps each value exactly."""

import csv
import io
import json

import pytest
from django.urls import reverse

from audit.services import Actor, audited
from fleet.models import InventoryProject
from neonadmin.exports import csv_response, inert, json_response

HOSTILE_NAMES = ['=HYPERLINK("http://x","open")', "+cmd", "-1+1", "@SUM(1)"]


def downloaded(response) -> str:
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"].startswith("attachment;")
    return b"".join(response.streaming_content).decode()


def csv_records(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(downloaded(response))))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_that_starts_like_a_formula_gets_a_leading_quote(start):
    assert inert(f"{start}SUM(A1)") == f"'{start}SUM(A1)"


@pytest.mark.parametrize("text", ["", "shop", "a=b", "1-2", "'=quoted", " =spaced", "10.0.0.0/8"])
def test_other_text_is_left_as_it_is(text):
    assert inert(text) == text


@pytest.mark.parametrize("value", [-1, 0, 300, -0.25, 1.5, True, None])
def test_numbers_and_empty_values_are_not_text_and_stay_as_they_are(value):
    assert inert(value) is value


def test_a_csv_download_escapes_every_cell_and_keeps_numbers():
    response = csv_response("x.csv", ("name", "seconds", "note"), [("=1+1", -1, None)])

    assert downloaded(response) == "name,seconds,note\r\n'=1+1,-1,\r\n"
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'


def test_a_json_download_is_one_array_of_the_records_as_they_are():
    response = json_response("x.json", iter([{"name": "=1+1", "n": -1}, {"name": "b", "n": None}]))

    assert json.loads(downloaded(response)) == [{"name": "=1+1", "n": -1}, {"name": "b", "n": None}]
    assert json.loads(downloaded(json_response("x.json", iter([])))) == []
    assert response["Content-Type"] == "application/json"


def test_a_download_is_read_as_it_is_sent_not_before():
    read = []

    def rows():
        for n in range(3):
            read.append(n)
            yield (n,)

    chunks = iter(csv_response("x.csv", ("n",), rows()).streaming_content)
    assert next(chunks) == b"n\r\n" and read == []
    assert next(chunks) == b"0\r\n" and read == [0]


@pytest.mark.django_db
def test_the_fleet_exports_hostile_names_inert_in_csv_and_exact_in_json(viewer_client):
    for n, name in enumerate(HOSTILE_NAMES):
        InventoryProject.objects.create(
            project_id=f"hostile-{n}", name=name, region_id="aws-us-east-2", pg_version=17,
            suspend_timeout_seconds=-1,  # "never suspend": a number, not a formula
        )  # fmt: skip

    rows = csv_records(viewer_client.get(reverse("fleet:export-csv")))
    records = json.loads(downloaded(viewer_client.get(reverse("fleet:export-json"))))

    assert sorted(r["name"] for r in rows) == sorted(f"'{name}" for name in HOSTILE_NAMES)
    assert {r["suspend_timeout_seconds"] for r in rows} == {"-1"}
    assert sorted(r["name"] for r in records) == sorted(HOSTILE_NAMES)
    assert {r["suspend_timeout_seconds"] for r in records} == {-1}


@pytest.mark.django_db
def test_the_audit_log_exports_hostile_names_inert(viewer_client):
    for n, name in enumerate(HOSTILE_NAMES):
        with audited(
            actor=Actor(username="ada@example.test"), action="project.update",
            project_id=f"hostile-{n}", project_name=name,
        ):  # fmt: skip
            pass

    rows = csv_records(viewer_client.get(reverse("audit:export")))

    assert sorted(r["project_name"] for r in rows) == sorted(f"'{name}" for name in HOSTILE_NAMES)
    assert {r["project_id"] for r in rows} == {f"hostile-{n}" for n in range(len(HOSTILE_NAMES))}
