"""Counts what a run asks of DynamoDB, per request and per partition, from botocore's event hooks.

Installed on the default boto3 session before any client exists (the product's clients are
created lazily from it), it sees every request the engine makes in-process and derives:

- requests by operation;
- write units per partition key of the table and of each GSI (1 per item up to 1 KB, 2 for the
  table's item in a transaction; a write of an item that is, or becomes, part of an index also
  writes the index partition(s) involved, at 1 unit even inside a transaction, because an index
  is updated after the commit, not in its two phases: ALL projections, so any change of such an
  item does; a ``ConditionCheck`` is billed 2 units as a write);
- items read per query (``ScannedCount``) and read units per partition (eventually consistent
  reads are half a unit per 4 KB).

Index membership is tracked from the writes themselves (a shadow of each item's ``gsi1pk``,
``gsi2pk`` and ``due_pk``), seeded by :meth:`DynamoMeter.seed_from_scan` for items that existed
before metering started. Sizes are estimated from the request (every item of this engine is well
under 1 KB, so an item write is one unit).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

INDEXES = {"gsi1": "gsi1pk", "gsi2": "gsi2pk", "due": "due_pk"}
_SET = re.compile(r"(#?\w+)\s*=\s*(:\w+)")
_KEY_EQ = re.compile(r"(#?\w+)\s*=\s*(:\w+)")


def partition_class(key: str) -> str:
    """A partition key with its ids blanked: ``T#acme#C#c1#DUE#3`` → ``T#{}#C#{}#DUE#{}``."""
    return "#".join(t if t.isupper() and t.isalpha() else "{}" for t in key.split("#"))


@dataclass
class Meter:
    """Totals since the last :meth:`DynamoMeter.reset`."""

    requests: Counter[str] = field(default_factory=Counter)
    write_units: Counter[tuple[str, str]] = field(default_factory=Counter)  # (index|"table", pk) → WCU
    read_units: Counter[tuple[str, str]] = field(default_factory=Counter)
    items_read: int = 0  # items a query or get evaluated (ScannedCount), whatever it returned
    # requests by operation and the item class they address ("GetItem T#{}#LEAD#{} ATTEMPT")
    targets: Counter[str] = field(default_factory=Counter)

    def total_requests(self) -> int:
        """Requests of every operation."""
        return sum(self.requests.values())

    def hottest(self, units: Counter[tuple[str, str]]) -> tuple[tuple[str, str], float]:
        """The partition with the most units, and its units."""
        if not units:
            return ("table", "-"), 0.0
        key, value = units.most_common(1)[0]
        return key, float(value)

    def by_class(self, units: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
        """Units per (index, partition class)."""
        out: Counter[tuple[str, str]] = Counter()
        for (index, pk), value in units.items():
            out[(index, partition_class(pk))] += value
        return out


class DynamoMeter:
    """Install with :meth:`install` (before the first client is created), read :attr:`meter`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.meter = Meter()
        self._shadow: dict[tuple[str, str], dict[str, str]] = {}  # (pk, sk) → index pk values
        self._pending: dict[int, tuple[str, dict[str, Any]]] = {}

    # --- wiring ---------------------------------------------------------------------------------
    def install(self, events: Any = None) -> DynamoMeter:
        """Register on ``events`` (default: the default boto3 session's, shared by later clients)."""
        if events is None:
            import boto3

            if boto3.DEFAULT_SESSION is None:
                boto3.setup_default_session()
            assert boto3.DEFAULT_SESSION is not None
            events = boto3.DEFAULT_SESSION.events
        events.register("provide-client-params.dynamodb.*", self._before)
        events.register("after-call.dynamodb.*", self._after)
        return self

    def reset(self) -> Meter:
        """Start a new measurement; returns the previous one."""
        with self._lock:
            previous, self.meter = self.meter, Meter()
        return previous

    def seed_from_scan(self, items: Iterable[dict[str, Any]]) -> None:
        """Index membership of items written before metering started (raw DynamoDB JSON items)."""
        with self._lock:
            for item in items:
                self._shadow[(item["pk"]["S"], item["sk"]["S"])] = _index_keys(item)

    # --- hooks ----------------------------------------------------------------------------------
    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        operation = model.name
        with self._lock:
            self.meter.requests[operation] += 1
            self.meter.targets[f"{operation} {_target(params)}"] += 1
            if operation == "TransactWriteItems":
                for entry in params.get("TransactItems", []):
                    ((kind, body),) = entry.items()
                    self._write(kind, body, 2, index_units=1)
            elif operation == "BatchWriteItem":
                for requests in params.get("RequestItems", {}).values():
                    for request in requests:
                        if "PutRequest" in request:
                            self._write("Put", request["PutRequest"], 1)
                        else:
                            self._write("Delete", request["DeleteRequest"], 1)
            elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
                self._write(operation.removesuffix("Item"), params, 1)
            elif operation == "GetItem":
                units = 1.0 if params.get("ConsistentRead") else 0.5
                self.meter.read_units[("table", params["Key"]["pk"]["S"])] += units
                self.meter.items_read += 1
            elif operation == "BatchGetItem":
                for request in params.get("RequestItems", {}).values():
                    units = 1.0 if request.get("ConsistentRead") else 0.5
                    for key in request.get("Keys", []):
                        self.meter.read_units[("table", key["pk"]["S"])] += units
                        self.meter.items_read += 1
            elif operation == "TransactGetItems":
                for entry in params.get("TransactItems", []):
                    self.meter.read_units[("table", entry["Get"]["Key"]["pk"]["S"])] += 2
                    self.meter.items_read += 1
            elif operation in ("Query", "Scan"):
                context["meter_query"] = (params.get("IndexName", "table"), _query_partition(params), params)

    def _after(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        query = context.get("meter_query")
        if query is None or not isinstance(parsed, dict):
            return
        index, partition, params = query
        scanned = int(parsed.get("ScannedCount", parsed.get("Count", 0)) or 0)
        size = len(json.dumps(parsed.get("Items", []))) if scanned else 0
        units = max(1, math.ceil(size / 4096)) * (1.0 if params.get("ConsistentRead") else 0.5)
        with self._lock:
            self.meter.items_read += scanned
            self.meter.read_units[(index, partition)] += units

    def _write(self, kind: str, body: dict[str, Any], units: int, index_units: int | None = None) -> None:
        """``units`` for the table's item; ``index_units`` (default the same) for each index entry
        the write changes. A transaction's 2× (prepare and commit) is the table's alone: real
        DynamoDB charges an index entry what the same write outside a transaction costs
        (measured by the DynamoDB emulator dynoxide against AWS, nubo-db/dynoxide#188)."""
        index_units = units if index_units is None else index_units
        key = body.get("Key") or {"pk": body["Item"]["pk"], "sk": body["Item"]["sk"]}
        ident = (key["pk"]["S"], key["sk"]["S"])
        self.meter.write_units[("table", ident[0])] += units
        if kind == "ConditionCheck":
            return
        before = self._shadow.get(ident, {})
        if kind == "Put":
            after = _index_keys(body["Item"])
        elif kind == "Delete":
            after = {}
        else:
            after = _updated_index_keys(before, body)
        for index, attribute in INDEXES.items():
            old, new = before.get(attribute), after.get(attribute)
            if old and new and old != new:
                self.meter.write_units[(index, old)] += index_units  # delete from the old partition
                self.meter.write_units[(index, new)] += index_units
            elif old or new:
                self.meter.write_units[(index, new or old or "")] += index_units
        if after:
            self._shadow[ident] = after
        else:
            self._shadow.pop(ident, None)


def _index_keys(item: dict[str, Any]) -> dict[str, str]:
    return {a: item[a]["S"] for a in INDEXES.values() if a in item and "S" in item[a]}


def _updated_index_keys(before: dict[str, str], params: dict[str, Any]) -> dict[str, str]:
    """Index keys after an UpdateItem / transactional Update (SET and REMOVE clauses only)."""
    after = dict(before)
    expression = params.get("UpdateExpression", "")
    names = params.get("ExpressionAttributeNames", {})
    values = params.get("ExpressionAttributeValues", {})
    clauses = re.split(r"\b(SET|REMOVE|ADD|DELETE)\b", expression)
    for verb, body in zip(clauses[1::2], clauses[2::2], strict=False):
        if verb == "SET":
            for name, value in _SET.findall(body):
                attribute = names.get(name, name)
                if attribute in INDEXES.values() and "S" in values.get(value, {}):
                    after[attribute] = values[value]["S"]
        elif verb == "REMOVE":
            for name in (n.strip() for n in body.split(",")):
                after.pop(names.get(name, name), None)
    return after


def _target(params: dict[str, Any]) -> str:
    """The item class a single-item request addresses, a query's index and partition class, or a
    transaction's items (``Update T#{}#LEAD#{} LEAD + ConditionCheck ...``)."""
    if "TransactItems" in params:
        parts = []
        for entry in params["TransactItems"]:
            ((kind, body),) = entry.items()
            key = body.get("Key") or {"pk": body["Item"]["pk"], "sk": body["Item"]["sk"]}
            parts.append(f"{kind} {_target({'Key': key})}")
        return _collapsed(parts)
    if (
        "RequestItems" in params
        and params["RequestItems"]
        and all(isinstance(table, dict) for table in params["RequestItems"].values())
    ):
        keys = [key for table in params["RequestItems"].values() for key in table.get("Keys", [])]
        return "Get " + _collapsed([_target({"Key": key}) for key in keys])
    key = params.get("Key") or params.get("Item")
    if isinstance(key, dict) and "pk" in key:
        sk = str(key.get("sk", {}).get("S", ""))
        return f"{partition_class(key['pk']['S'])} {partition_class(sk.split('#')[0])}"
    if "KeyConditionExpression" in params:
        return f"{params.get('IndexName', 'table')} {partition_class(_query_partition(params))}"
    return ""


def _collapsed(parts: list[str]) -> str:
    """``a + b + a + b`` as ``2×a + 2×b`` (a batched claim names each item class once)."""
    counts = Counter(parts)
    return " + ".join(part if n == 1 else f"{n}×{part}" for part, n in counts.items())


def _query_partition(params: dict[str, Any]) -> str:
    names = params.get("ExpressionAttributeNames", {})
    values = params.get("ExpressionAttributeValues", {})
    for name, value in _KEY_EQ.findall(params.get("KeyConditionExpression", "")):
        attribute = names.get(name, name)
        if attribute in ("pk", *INDEXES.values()):
            return str(values.get(value, {}).get("S", "?"))
    return "scan"
