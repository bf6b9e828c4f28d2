"""Checklist enforcer: a checklist (from config) names the facts an answer needs; given what is known,
it says whether the list is complete or which items are missing. A model that calls it before
answering learns to ask targeted clarifying questions (the ``<clarify>`` behaviour) instead of
guessing — e.g. VAT treatment is undecidable until B2B/B2C and place of supply are known.

Checklists live in ``conf/tools/default.yaml`` under ``checklists:``::

    vat:
      description: VAT treatment of a cross-border sale
      items:
        - {id: parties_identified, question: Who are the seller and the buyer?}

An item counts as known when ``known`` has its id with a value that is not null, empty or false.
"""

from __future__ import annotations

from typing import Any, Mapping

from svend.tools.registry import Tool, ToolError, params


def _normalise(checklists: Mapping[str, Any]) -> dict[str, dict]:
    out = {}
    for name, spec in checklists.items():
        items = list(spec.get("items", []))
        ids = [item["id"] for item in items]
        if not items or len(set(ids)) != len(ids):
            raise ValueError(f"checklist {name!r} needs items with unique ids")
        out[name] = {"description": spec.get("description", name), "items": items}
    return out


def check(checklists: dict[str, dict], checklist: str, known: Mapping[str, Any]) -> dict:
    spec = checklists[checklist]
    ids = [item["id"] for item in spec["items"]]
    unknown = sorted(set(known) - set(ids))
    if unknown:
        raise ToolError("unknown_item", f"{checklist} has no item {', '.join(unknown)}; its items are {', '.join(ids)}")
    missing = [{"id": item["id"], "question": item["question"]} for item in spec["items"]
               if known.get(item["id"]) in (None, "", False, [], {})]
    return {"checklist": checklist, "complete": not missing, "missing": missing,
            "done": [i for i in ids if i not in {m["id"] for m in missing}]}


def tools(checklists: Mapping[str, Any] | None = None) -> list[Tool]:
    lists = _normalise(checklists or {})
    if not lists:
        return []
    item_ids = sorted({item["id"] for spec in lists.values() for item in spec["items"]})
    described = "; ".join(f"{name}: {spec['description']}" for name, spec in lists.items())
    return [Tool(
        "checklist_check",
        f"Check which required facts are still missing before answering ({described}).",
        params({"checklist": {"enum": sorted(lists)},
                "known": {"type": "object", "maxProperties": 50, "propertyNames": {"enum": item_ids},
                          "description": "facts established so far, by item id",
                          "additionalProperties": {"type": ["string", "boolean", "number", "null"], "maxLength": 2000}}}),
        lambda checklist, known: check(lists, checklist, known),
        family="checklist", isolated=False)]
