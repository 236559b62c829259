"""A transformer in Python: serves every VirtualService with a label and an
annotation added. The label's key and value come from the binding's settings
({"label": "team", "value": "mesh"}).

componentize-py generates the `wit_world` package from the WIT: the exported
interface is the `Transformer` class below, variants are dataclasses
(`Event_Added(resource)`), and raising `Err(message)` returns a WIT error.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host
from wit_world.imports.types import (
    Description,
    Event_Added,
    Event_Deleted,
    Event_FullSync,
    Event_Updated,
    Removed,
)

INPUT = "k8s/networking.istio.io/v1alpha3/virtualservices"
OUTPUT = "istio/networking/v1alpha3/virtualservices"

# The label added when the settings name none.
DEFAULT_LABEL = "galleon.io/transformed"
DEFAULT_VALUE = "true"


def set_pair(pairs, key, value):
    """Sets `key` to `value` in a list of pairs, replacing an existing entry."""
    return [(k, v) for k, v in pairs if k != key] + [(key, value)]


def string_setting(settings, field, fallback):
    """A setting that must be a non-empty string, or `fallback` when absent."""
    given = settings.get(field, fallback)
    if not isinstance(given, str) or given == "":
        raise Err(f"settings.{field} must be a non-empty string, got {json.dumps(given)}")
    return given


# The settings, kept at module level: componentize-py may make a new
# `Transformer` object for each call.
configured = {"label": DEFAULT_LABEL, "value": DEFAULT_VALUE}


class Transformer(exports.Transformer):
    def describe(self):
        return Description(
            inputs=[INPUT],
            outputs=[OUTPUT],
            summary="adds a label and an annotation to every VirtualService",
        )

    def configure(self, settings, mesh):
        parsed = json.loads(settings)
        configured["label"] = string_setting(parsed, "label", DEFAULT_LABEL)
        configured["value"] = string_setting(parsed, "value", DEFAULT_VALUE)
        host.log(host.Level.DEBUG, f"labelling with {configured['label']}={configured['value']}")

    def handle(self, event):
        if isinstance(event, (Event_Added, Event_Updated)):
            resource = event.value
            resource.collection = OUTPUT
            resource.labels = set_pair(resource.labels, configured["label"], configured["value"])
            resource.annotations = set_pair(
                resource.annotations, "galleon.io/transformed-by", "add-label"
            )
            return [Event_Updated(resource)]
        if isinstance(event, Event_Deleted):
            return [Event_Deleted(Removed(collection=OUTPUT, name=event.value.name))]
        if isinstance(event, Event_FullSync):
            return [Event_FullSync(OUTPUT)]
        return [event]
