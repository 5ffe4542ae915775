"""Services and resources, and the sharing of resources between locations."""
