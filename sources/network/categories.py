"""The network's category vocabulary, and each location's own category names mapped into it.

Locations name their services' categories in their own words ("Coupe", "Haircuts"); pooled
availability and `createBooking(category:)` search in the network's words ("hair"). The vocabulary
comes from the settings (`network_categories`); the mapping from the settings
(`category_mappings`, per location id) and then from the network file's `[[locations]]` entries
(`categories = { "Coupe" = "hair" }`), a file entry winning for the names it maps.

A location's category is the network category it is mapped to; one that is itself a network
category means that; anything else is unmapped and found by no category search (it is never
merged with a network category by a guess): `Service.networkCategory` reads back null for it.
With no vocabulary configured every location's own names are the network's (the mapping still
applies), as before categories were aligned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CATEGORY_MAX_LENGTH = 100  # services.category
VOCABULARY_MAX = 500


class UnknownCategory(ValueError):
    """A mapping names a network category the vocabulary does not have."""


@dataclass(frozen=True)
class CategoryMap:
    vocabulary: frozenset[str] = frozenset()
    # location id -> that location's category name -> the network category it means
    mappings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def build(cls, vocabulary: Iterable[str], *layers: Mapping[str, Mapping[str, str]]) -> CategoryMap:
        """The vocabulary and the mappings, later layers winning name by name; UnknownCategory names the first
        mapping to a word outside a (non-empty) vocabulary."""
        words = frozenset(vocabulary)
        merged: dict[str, dict[str, str]] = {}
        for layer in layers:
            for location_id, names in layer.items():
                merged.setdefault(location_id, {}).update(names)
        if words:
            for location_id, names in merged.items():
                for own, network in names.items():
                    if network not in words:
                        raise UnknownCategory(
                            f'location "{location_id}": categories: "{own}" maps to "{network}", '
                            "which is not a network category"
                        )
        return cls(words, merged)

    def knows(self, category: str) -> bool:
        """A category a search may name: any word without a vocabulary, else one of its words."""
        return not self.vocabulary or category in self.vocabulary

    def network_category(self, location_id: str, category: str) -> str | None:
        """What a location's own category means in the network; None: unmapped."""
        mapped = self.mappings.get(location_id, {}).get(category)
        if mapped is not None:
            return mapped
        return category if self.knows(category) else None

    def own_names(self, category: str) -> dict[str, list[str]]:
        """Per location with a mapping: its own names that mean the network `category`."""
        found: dict[str, list[str]] = {}
        for location_id, names in self.mappings.items():
            own = sorted(name for name, network in names.items() if network == category)
            if own:
                found[location_id] = own
        return found

    def taken_elsewhere(self, category: str) -> list[str]:
        """Locations whose own category spelled like the network's `category` is mapped to another one."""
        return sorted(
            location_id
            for location_id, names in self.mappings.items()
            if category in names and names[category] != category
        )
