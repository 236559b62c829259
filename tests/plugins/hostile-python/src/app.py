"""Misbehaves on purpose: see ../galleon-plugin.yaml."""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports.types import (
    Description,
    Event_Added,
    Event_Deleted,
    Event_Updated,
    Removed,
)

INPUT = "k8s/networking.istio.io/v1alpha3/virtualservices"
OUTPUT = "istio/networking/v1alpha3/virtualservices"

configured = {"mode": ""}


def misbehave():
    if configured["mode"] == "loop":
        while True:
            pass
    if configured["mode"] == "memory":
        hoard = []
        while True:
            hoard.append(bytearray(1 << 20))
    raise Err(f"unknown mode {configured['mode']}")


class Transformer(exports.Transformer):
    def describe(self):
        return Description(inputs=[INPUT], outputs=[OUTPUT], summary="misbehaves on purpose")

    def configure(self, settings, mesh):
        configured["mode"] = json.loads(settings).get("mode", "")

    def handle(self, event):
        if isinstance(event, (Event_Added, Event_Updated)):
            if event.value.name.endswith("trigger"):
                misbehave()
            event.value.collection = OUTPUT
            return [Event_Updated(event.value)]
        if isinstance(event, Event_Deleted):
            return [Event_Deleted(Removed(collection=OUTPUT, name=event.value.name))]
        return []
