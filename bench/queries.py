"""GraphQL documents the benchmarks send (the tests pin the SQL statement counts of the same text)."""

DASHBOARD_QUERY = """
query Dashboard($first: Int!) {
  bookings(first: $first, sort: START_AT_DESC) {
    totalCount
    edges {
      cursor
      node {
        id status startAt endAt
        price { amount currency }
        customer { id fullName email }
        service { id name durationMinutes }
        resource { id name kind }
        serviceLocation { id name }
        originatingLocation { id name }
        revenueSplit { role sharePercent amount { amount currency } location { name } }
      }
    }
  }
}
"""
