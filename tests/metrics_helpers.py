"""Scraping a gateway's /metrics as Prometheus would, and reading what moved between two scrapes."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from conftest import RunningGateway

Labels = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Scrape:
    """One scrape: every sample by its name and labels, and the metric families with their HELP."""

    samples: dict[tuple[str, Labels], float]
    helps: dict[str, str]

    def total(self, name: str, **labels: str) -> float:
        """The sum of the samples called `name` whose labels include these (0 when there are none)."""
        wanted = set(labels.items())
        return sum(value for (sample, have), value in self.samples.items() if sample == name and wanted <= have)

    def label_values(self, name: str, label: str) -> set[str]:
        return {dict(have)[label] for (sample, have) in self.samples if sample == name and label in dict(have)}

    def all_label_values(self) -> set[str]:
        return {value for (_, have) in self.samples for _, value in have}


def parse(text: str) -> Scrape:
    samples: dict[tuple[str, Labels], float] = {}
    helps: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        helps[family.name] = family.documentation
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return Scrape(samples, helps)


def scrape(gateway: RunningGateway, headers: dict[str, str] | None = None) -> Scrape:
    response = httpx.get(f"{gateway.url}/metrics", headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    """How much the samples called `name` with these labels grew from one scrape to the next."""
    return after.total(name, **labels) - before.total(name, **labels)
