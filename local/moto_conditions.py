"""Condition expressions parsed once per (expression, names) instead of on every use.

moto parses a ``ConditionExpression`` (and a ``FilterExpression``) wherever it meets one: a
transaction's condition twice (the request handler checks the names it uses, then the backend
evaluates it), an UpdateItem's twice. Lexing and parsing are most of that work and depend on
the expression and its attribute names only; the values come in at the very end, where moto
turns the parsed tree into the objects it evaluates.

:func:`cached_conditions` keeps moto's parsed tree per (expression, names), with a marker where
each value goes, and builds the evaluated objects from it with moto's own code and this
request's values. An expression that moto refuses is parsed by moto on every use (so it fails
as before); a request that lacks one of its values fails at the same lookup as in moto's parse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_CACHE_LIMIT = 4096  # distinct (expression, names) kept; the product sends a few dozen


class _Slot:
    """Where a value goes in a cached tree (moto's tree holds the value itself)."""


_SLOT = _Slot()


class _AnyValue(dict[str, Any]):
    """Expression attribute values that have every name: the parse does not depend on them."""

    def __getitem__(self, name: str) -> Any:
        return _SLOT


@contextmanager
def cached_conditions() -> Iterator[None]:
    """Within the block, moto parses each condition expression once per set of names."""
    from moto.dynamodb.comparisons import AttributeValue, ConditionExpressionParser

    original_parse = ConditionExpressionParser.parse
    original_operand = ConditionExpressionParser._make_operand
    value_kind = ConditionExpressionParser.Kind.EXPRESSION_ATTRIBUTE_VALUE
    trees: dict[tuple[str, tuple[tuple[str, Any], ...]], tuple[Any, list[str], list[str]] | None] = {}

    class _Capture(ConditionExpressionParser):
        """moto's parse up to the tree it would turn into objects."""

        def _make_op_condition(self, node: Any) -> Any:
            self.tree = node  # parse() calls this once, with the whole tree

    def _tree(expression: str, names: dict[str, str]) -> tuple[Any, list[str], list[str]] | None:
        capture = _Capture(expression, names, _AnyValue())
        try:
            capture.parse()
        except Exception:  # refused: moto's own parse raises it again, on every use
            return None
        return capture.tree, capture.expr_attr_names_found, capture.expr_attr_values_found

    def parse(self: Any) -> Any:
        names = self.expression_attribute_names
        if not self.condition_expression or type(self) is not ConditionExpressionParser:
            return original_parse(self)
        try:
            key = (self.condition_expression, tuple(sorted((names or {}).items())))
            entry = trees.get(key, _SLOT)
        except TypeError:  # names that are not strings: moto's answer
            return original_parse(self)
        if entry is _SLOT:
            if len(trees) >= _CACHE_LIMIT:
                trees.clear()
            entry = trees[key] = _tree(self.condition_expression, dict(names or {}))
        if entry is None:
            return original_parse(self)
        tree, names_found, values_found = entry
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return self._make_op_condition(tree)

    def _make_operand(self: Any, node: Any) -> Any:
        if node.kind == value_kind and node.value is _SLOT:
            # A missing value fails here as in moto's parse: the same lookup, the same KeyError
            # (or TypeError without any values), and the syntax was already found sound.
            return AttributeValue(self.expression_attribute_values[node.text])
        return original_operand(self, node)

    ConditionExpressionParser.parse = parse  # type: ignore[method-assign]
    ConditionExpressionParser._make_operand = _make_operand  # type: ignore[method-assign]
    try:
        yield
    finally:
        ConditionExpressionParser.parse = original_parse  # type: ignore[method-assign]
        ConditionExpressionParser._make_operand = original_operand  # type: ignore[method-assign]
