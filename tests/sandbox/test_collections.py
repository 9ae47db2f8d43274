"""Paging and filters over account.getUserList, against a seed loaded through /_sandbox/seed."""

from __future__ import annotations

import pytest

USERS = [
    {"id": 1, "firstName": "Alice", "middleName": None, "lastName": "Smith",
     "email": "alice@north.example", "currentStatus": 1, "groupId": 1,
     "lastLoginDate": "2024-01-01 10:00:00 UTC"},
    {"id": 2, "firstName": "bob", "middleName": "", "lastName": "Jones",
     "email": "BOB@north.example", "currentStatus": 1, "groupId": 2,
     "lastLoginDate": "2024-02-01 10:00:00"},
    {"id": 3, "firstName": "Carol", "middleName": "Ann", "lastName": "Smithers",
     "email": "carol@south.example", "currentStatus": 2, "groupId": 10, "lastLoginDate": None},
    {"id": 4, "firstName": "Dave", "middleName": None, "lastName": "Brown",
     "email": "dave@south.example", "currentStatus": 1, "groupId": 3,
     "lastLoginDate": "2024-03-01 10:00:00 UTC"},
    {"id": 5, "firstName": "Eve", "middleName": None, "lastName": "Smith",
     "email": "eve@east.example", "currentStatus": 2, "groupId": 20, "lastLoginDate": None},
    {"id": 6, "firstName": "Frank", "middleName": "J", "lastName": "Stone",
     "email": "frank@east.example", "currentStatus": 1, "groupId": 2,
     "lastLoginDate": "2023-12-31 23:59:59 UTC"},
    {"id": 7, "firstName": "Grace", "middleName": None, "lastName": "Hopper",
     "email": "grace@west.example", "currentStatus": 1, "groupId": 1,
     "lastLoginDate": "2024-01-01 10:00:00"},
]  # fmt: skip


@pytest.fixture
def users_api(api, inspector):
    answer = inspector.post("seed", {"users": USERS})
    assert answer.status_code == 200
    assert answer.json()["counts"]["users"] == 7
    return api


def ids(answer: dict) -> list[int]:
    return [record["id"] for record in answer["results"]]


@pytest.mark.parametrize(
    ("paging", "expected_ids", "meta"),
    [
        ({"perPage": 3}, [1, 2, 3], (7, 0, 3, 3)),
        ({"perPage": 3, "start": 3}, [4, 5, 6], (7, 3, 3, 3)),
        ({"perPage": 3, "start": 6}, [7], (7, 6, 3, 1)),
        ({"perPage": 3, "start": 10}, [], (7, 10, 3, 0)),
        ({"perPage": "2", "start": "1"}, [2, 3], (7, 1, 2, 2)),
        ({}, [1, 2, 3, 4, 5, 6, 7], (7, 0, 20, 7)),
    ],
)
def test_paging(users_api, paging: dict, expected_ids: list[int], meta: tuple) -> None:
    answer = users_api.ok("account", "getUserList", paging)
    assert ids(answer) == expected_ids
    got = answer["meta"]
    assert (got["totalResults"], got["start"], got["perPage"], got["count"]) == meta


def test_per_page_is_capped_at_100(api, inspector) -> None:
    many = [{"id": n, "firstName": f"U{n}", "email": f"u{n}@x.example"} for n in range(1, 106)]
    assert inspector.post("seed", {"users": many}).status_code == 200
    answer = api.ok("account", "getUserList", {"perPage": 500})
    assert answer["meta"] == {"totalResults": 105, "start": 0, "perPage": 100, "count": 100}
    assert ids(api.ok("account", "getUserList", {"perPage": 100, "start": 100})) == list(
        range(101, 106)
    )


@pytest.mark.parametrize(
    "paging",
    [{"perPage": 0}, {"perPage": -1}, {"perPage": "x"}, {"perPage": 1.5}, {"start": -1},
     {"start": "first"}, {"perPage": True}],
)  # fmt: skip
def test_bad_paging_is_23016(users_api, paging: dict) -> None:
    assert users_api.error("account", "getUserList", paging) == (400, 23016)


@pytest.mark.parametrize(
    ("filter", "expected_ids"),
    [
        ({"lastName": "smith"}, [1, 5]),
        ({"email": "bob@NORTH.example"}, [2]),
        ({"groupId": 2}, [2, 6]),
        ({"groupId": "2"}, [2, 6]),
        ({"id": "4"}, [4]),
        ({"lastName__CONTAINS": "MIT"}, [1, 3, 5]),
        ({"lastName__NOTCONTAINS": "smith"}, [2, 4, 6, 7]),
        ({"email__BEGINS": "CAROL"}, [3]),
        ({"email__ENDS": "@EAST.example"}, [5, 6]),
        ({"groupId__LESSTHAN": 2}, [1, 2, 6, 7]),
        ({"groupId__GREATERTHAN": 10}, [3, 5]),
        ({"groupId__GREATERTHAN": "10"}, [3, 5]),
        ({"lastLoginDate__GREATERTHAN": "2024-01-01 10:00:00"}, [1, 2, 4, 7]),
        ({"lastLoginDate__LESSTHAN": "2024-01-01 10:00:00 UTC"}, [1, 6, 7]),
        ({"currentStatus__NOT": 1}, [3, 5]),
        ({"middleName__EMPTY": True}, [1, 2, 4, 5, 7]),
        ({"middleName__EMPTY": False}, [3, 6]),
        ({"middleName": "__ISNULL__"}, [1, 4, 5, 7]),
        ({"lastLoginDate": "__ISNULL__"}, [3, 5]),
        ({"lastLoginDate__NOT": "__ISNULL__"}, [1, 2, 4, 6, 7]),
        ({"lastName": "Smith", "currentStatus": 1}, [1]),
        ({"lastLoginDate": "2024-01-01 10:00:00"}, [1, 7]),
        ({"nickname": "x"}, []),
        ({"fromModifiedDate": "2000-01-01 00:00:00"}, []),
    ],
)
def test_filters(users_api, filter: dict, expected_ids: list[int]) -> None:
    answer = users_api.ok("account", "getUserList", {"filter": filter})
    assert ids(answer) == expected_ids
    assert answer["meta"]["totalResults"] == len(expected_ids)


def test_filter_then_page(users_api) -> None:
    answer = users_api.ok(
        "account", "getUserList", {"filter": {"currentStatus": 1}, "perPage": 2, "start": 2}
    )
    assert ids(answer) == [4, 6]
    assert answer["meta"]["totalResults"] == 5


@pytest.mark.parametrize("bad", [{"lastName__LIKE": "x"}, "lastName=Smith", [1]])
def test_malformed_filters_are_23016(users_api, bad) -> None:
    assert users_api.error("account", "getUserList", {"filter": bad}) == (400, 23016)


def test_modified_date_filters_on_contacts(api) -> None:
    api.ok(
        "contact",
        "addOrUpdateContact",
        {"firstName": "New", "lastName": "Person", "email": "new@example.com"},
    )
    answer = api.ok("contact", "getContactList", {"filter": {"fromModifiedDate": "2025-01-01"}})
    assert [c["email"] for c in answer["results"]] == ["new@example.com"]
    old = api.ok("contact", "getContactList", {"filter": {"toModifiedDate": "2024-12-31"}})
    assert [c["id"] for c in old["results"]] == [1]
