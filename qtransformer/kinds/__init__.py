"""The layer-kind registry: one entry per kind, holding all the flow knows of it.

Costs (``evaluate/costs.py``), pruning (``compress/prune.py``), the HLS plan
(``hls/precision.py``), the hardware clone (``hls/hwmodel.py``), the hls4ml IR and templates
(``hls/ir.py``), the per-layer hls4ml config (``hls/convert.py``) and the estimate
(``hls/estimate.py``) dispatch through it. A layer whose class no kind claims is an error naming
the layer and its class.

Adding a kind: one module defining a :class:`LayerKind` (or :class:`CustomKind` with its C++)
subclass decorated with :func:`register`; see docs/architecture.md.
"""

from __future__ import annotations

from ..errors import QTError
from ..registry import Registry
from .base import (
    FLOAT_BITS,
    IO_PARALLEL,
    IO_STREAM,
    IO_TYPES,
    CustomKind,
    LayerEstimate,
    LayerKind,
    LayerPlan,
    qbits,
)

KINDS: Registry[LayerKind] = Registry("layer kind")
_BY_CLASS: dict[str, LayerKind] = {}


def register(cls: type[LayerKind]) -> type[LayerKind]:
    """Class decorator: add one kind (its name and Keras classes must be new)."""
    kind = cls()
    if not kind.name:
        raise QTError(f"layer kind {cls.__name__} has no name")
    taken = [c for c in kind.keras_classes if c in _BY_CLASS]
    if taken:
        raise QTError(f"layer kind {kind.name!r}: Keras class {taken[0]} already belongs to "
                      f"kind {_BY_CLASS[taken[0]].name!r}")
    KINDS.add(kind.name, kind)
    for c in kind.keras_classes:
        _BY_CLASS[c] = kind
    return cls


def unregister(name: str) -> None:
    """Remove a kind (tests that register a throw-away kind)."""
    kind = KINDS.pop(name)
    for c in kind.keras_classes:
        _BY_CLASS.pop(c, None)


def get_kind(name: str) -> LayerKind:
    """The kind of a plan (``LayerPlan.kind``)."""
    return KINDS.lookup(name)


def kind_of(layer) -> LayerKind:
    """The kind of a Keras layer, by its class; unknown classes are an error."""
    cls = type(layer).__name__
    kind = _BY_CLASS.get(cls)
    if kind is None:
        raise QTError(f"layer {layer.name} ({cls}): no layer kind is registered for class "
                      f"{cls}; add one under qtransformer/kinds/ (docs/architecture.md)")
    return kind


def model_nodes(model, layer) -> list:
    """The calls of ``layer`` inside ``model`` (a layer reused by another model keeps that
    model's calls in its ``_inbound_nodes`` too)."""
    own = getattr(model, "_network_nodes", None)
    nodes = [n for i, n in enumerate(layer._inbound_nodes)
             if own is None or f"{layer.name}_ib-{i}" in own]
    return nodes or list(layer._inbound_nodes[:1])


def inbound_names(model, layer) -> list[str]:
    """Names of the layers feeding ``layer``'s one call in ``model``; a layer called more than
    once (weight sharing) is an error unless its kind plans that as one hardware block."""
    nodes = model_nodes(model, layer)
    if len(nodes) > 1 and not kind_of(layer).shared_calls:
        raise QTError(f"layer {layer.name} ({type(layer).__name__}) is called {len(nodes)} "
                      "times (shared weights); its kind plans one call only")
    if not nodes:
        return []
    inb = nodes[0].inbound_layers
    inb = inb if isinstance(inb, list | tuple) else [inb]
    return [x.name for x in inb]


def prunable(layer) -> bool:
    """Whether TF-MOT prunes ``layer``'s kernels (its kind says so)."""
    kind = _BY_CLASS.get(type(layer).__name__)
    return bool(kind and kind.is_prunable(layer))


def passes_through(plan_kind: str) -> bool:
    """Whether a plan kind has no HLS layer of its own (its output is its input)."""
    return get_kind(plan_kind).pass_through


def in_hls(plan: LayerPlan) -> bool:
    """Whether a plan is an HLS layer: neither on the host nor passed through."""
    return not plan.host and not get_kind(plan.kind).pass_through


def _load_builtin() -> None:
    from . import (  # noqa: F401  (each module registers its kinds)
        activation,
        add,
        attention,
        circulant,
        dense,
        dropout,
        hls4ml_only,
        host,
        layernorm,
        masking,
        ode,
        pooling,
        posembed,
        seqdense,
    )


_load_builtin()

__all__ = ["FLOAT_BITS", "IO_PARALLEL", "IO_STREAM", "IO_TYPES", "KINDS", "CustomKind",
           "LayerEstimate", "LayerKind", "LayerPlan", "get_kind", "in_hls", "inbound_names",
           "kind_of", "model_nodes", "passes_through", "prunable", "qbits", "register",
           "unregister"]
