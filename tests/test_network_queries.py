"""Locations, customers, resources, services, inventory, health and node lookup, end to end."""

from __future__ import annotations

import httpx

from conftest import RunningGateway

LOCATIONS = """
{
  locations {
    totalCount
    nodes {
      id name kind status town timezone currency geo { latitude longitude }
      services { id name price { amount currency } location { id } }
      resources { id kind location { id } }
      stock { quantity reserved available reorderPoint isLow }
      lowStock: stock(lowStockOnly: true) { isLow item { sku } }
      counts { bookings customers services resources }
    }
  }
}
"""

CUSTOMER_SEARCH = """
query($search: String!) {
  customers(first: 50, filter: {search: $search}) {
    totalCount
    nodes {
      id fullName email phone loyaltyPoints
      identities { localId loyaltyPoints location { id } }
      bookings(first: 100) { totalCount nodes { serviceLocation { id } } }
    }
  }
}
"""

SHARED_RESOURCES = """
{
  resources(first: 100, filter: {sharedOnly: true}) {
    totalCount
    nodes { id name kind isShared location { id } sharedWith { location { id } rules { weekdays maxHoursPerWeek } } }
  }
}
"""

LOW_STOCK = """
{
  inventory(first: 100, filter: {lowStockOnly: true}) {
    totalCount
    nodes { sku totalAvailable levels(lowStockOnly: true) { available reorderPoint isLow location { id } } }
  }
}
"""

HEALTH = """
{
  networkHealth {
    onlineCount queueDepth pendingConflicts
    locations { status lastHeartbeatAt queueDepth pendingConflicts location { id } }
  }
}
"""

NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


def test_locations_carry_their_services_resources_stock_and_counts(gateway: RunningGateway) -> None:
    data = gateway.graphql(LOCATIONS)["data"]["locations"]
    assert data["totalCount"] >= 3
    assert len({location["town"] for location in data["nodes"]}) >= 3
    assert len({location["timezone"] for location in data["nodes"]}) >= 2
    for location in data["nodes"]:
        assert all(service["location"]["id"] == location["id"] for service in location["services"])
        assert all(resource["location"]["id"] == location["id"] for resource in location["resources"])
        assert location["counts"]["resources"] == len(location["resources"])
        assert location["counts"]["services"] == len(location["services"])
        for level in location["stock"]:
            assert level["available"] == level["quantity"] - level["reserved"]
            assert level["isLow"] == (level["available"] <= level["reorderPoint"])
        assert all(level["isLow"] for level in location["lowStock"])
    assert sum(location["counts"]["bookings"] for location in data["nodes"]) >= 5000


def test_a_customer_search_matches_name_email_and_phone(gateway: RunningGateway) -> None:
    someone = gateway.graphql("{ customers(first: 1) { nodes { id lastName email phone } } }")
    person = someone["data"]["customers"]["nodes"][0]
    for term in (person["lastName"].upper(), person["email"].split("@")[0], person["phone"][-7:]):
        found = gateway.graphql(CUSTOMER_SEARCH, {"search": term})["data"]["customers"]["nodes"]
        assert person["id"] in {customer["id"] for customer in found}, term


def test_customers_known_at_several_locations_pool_points_and_history(gateway: RunningGateway) -> None:
    everyone = gateway.graphql(CUSTOMER_SEARCH, {"search": "@"})["data"]["customers"]["nodes"]
    travellers = [c for c in everyone if len(c["identities"]) > 1]
    assert travellers
    for customer in travellers:
        local_ids = [identity["localId"] for identity in customer["identities"]]
        assert len(set(local_ids)) == len(local_ids)
        assert customer["loyaltyPoints"] == sum(identity["loyaltyPoints"] for identity in customer["identities"])
        history = customer["bookings"]
        assert history["totalCount"] == len(history["nodes"])
    assert any(len({b["serviceLocation"]["id"] for b in c["bookings"]["nodes"]}) > 1 for c in travellers), (
        "some customer has history at more than one location"
    )


def test_shared_resources_name_the_borrowing_locations_and_rules(gateway: RunningGateway) -> None:
    data = gateway.graphql(SHARED_RESOURCES)["data"]["resources"]
    assert data["totalCount"] > 0
    for resource in data["nodes"]:
        assert resource["isShared"] and resource["sharedWith"]
        borrowers = {share["location"]["id"] for share in resource["sharedWith"]}
        assert resource["location"]["id"] not in borrowers
    everything = gateway.graphql("{ resources(first: 1) { totalCount } }")["data"]["resources"]["totalCount"]
    assert 40 <= everything <= 70 and data["totalCount"] < everything


def test_low_stock_lists_only_items_under_their_reorder_point(gateway: RunningGateway) -> None:
    data = gateway.graphql(LOW_STOCK)["data"]["inventory"]
    assert data["totalCount"] >= 5
    for item in data["nodes"]:
        assert item["levels"]
        assert all(level["available"] <= level["reorderPoint"] for level in item["levels"])


def test_network_health_reports_every_location(gateway: RunningGateway) -> None:
    health = gateway.graphql(HEALTH)["data"]["networkHealth"]
    locations = gateway.graphql("{ locations { totalCount } }")["data"]["locations"]["totalCount"]
    assert len(health["locations"]) == locations
    assert health["queueDepth"] == sum(entry["queueDepth"] for entry in health["locations"])
    assert health["onlineCount"] == sum(entry["status"] == "ONLINE" for entry in health["locations"])


def test_nodes_fetches_each_type_by_global_id_in_order(gateway: RunningGateway) -> None:
    booking = gateway.graphql(
        "{ bookings(first: 1) { nodes { id customer { id } service { id } resource { id } serviceLocation { id } } } }"
    )
    row = booking["data"]["bookings"]["nodes"][0]
    ids = [row["id"], row["customer"]["id"], row["service"]["id"], row["resource"]["id"], row["serviceLocation"]["id"]]
    body = gateway.graphql(NODES, {"ids": [*ids, "Customer:nobody"]})
    found = body["data"]["nodes"]
    assert [node["id"] for node in found[:-1]] == ids
    assert [node["__typename"] for node in found[:-1]] == ["Booking", "Customer", "Service", "Resource", "Location"]
    assert found[-1] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["NOT_FOUND"]


def test_the_health_endpoint_answers_when_the_cache_is_reachable(gateway: RunningGateway) -> None:
    response = httpx.get(f"{gateway.url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
