"""Every source type by its ``type`` name, and building a configured source from its options.

To add a sender: write ``bridge/sources/<name>.py`` with a :class:`SourceType` subclass and
import it here (see "How to add a sender" in ``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.sources.base import SourceType
from bridge.sources.calendly import CalendlySource
from bridge.sources.form import FormSource
from bridge.sources.formspree import FormspreeSource
from bridge.sources.hmac_generic import HmacSource
from bridge.sources.ivvy import IvvySource
from bridge.sources.jotform import JotformSource
from bridge.sources.standard_webhooks import StandardWebhooksSource
from bridge.sources.tally import TallySource
from bridge.sources.typeform import TypeformSource
from bridge.sources.webflow import WebflowSource

SOURCE_TYPES: dict[str, type[SourceType]] = {
    cls.type_name: cls
    for cls in (
        FormSource,
        TypeformSource,
        TallySource,
        JotformSource,
        WebflowSource,
        CalendlySource,
        FormspreeSource,
        StandardWebhooksSource,
        HmacSource,
        IvvySource,
    )
}


def build_source(name: str, options: Mapping[str, Any]) -> SourceType:
    """The source type named by ``options['type']``, configured with the (validated) options."""
    return SOURCE_TYPES[options["type"]](name, options)
