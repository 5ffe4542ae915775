"""The one table of platforms whose webhooks the gateway takes: a new platform is one module and one line here."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from shims.platforms.booksy import BOOKSY
from shims.platforms.event import Platform
from shims.platforms.mindbody import MINDBODY
from shims.platforms.phorest import PHOREST
from shims.platforms.vagaro import VAGARO

PLATFORMS: Mapping[str, Platform] = MappingProxyType({p.name: p for p in (VAGARO, MINDBODY, PHOREST, BOOKSY)})
