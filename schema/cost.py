"""What a GraphQL operation will cost, estimated from its document before anything runs.

Every field costs 1. A paged field (one with `first`/`last` arguments) multiplies what its page holds by the
page size: the lists directly under a connection (`edges`, `nodes`) count once per item of the page, and a
paged field that is itself a list counts its selection once per item. The page size comes from `first` or
`last` (the larger, when both are given), literal or from the request's variables, else the argument's own
default, else the default page size; it is capped at the largest page the gateway serves. A list without
paging arguments (a booking's revenue split, a location's services) counts its selection `unpaged_list_size`
times, except Federation's `_entities`, which answers one item per representation asked (at most the largest
page). Fragments and inline fragments count where they are spread. Introspection fields (`__typename`,
`__schema`, `__type`) cost 1 and their selections nothing: what they read is the schema, held in memory.

The estimate is an upper bound of the work, not a prediction of the rows: a page of 500 asked where only 3
exist costs 500. It is cheap to compute (each fragment is costed once per page size it is spread under).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
)
from graphql.type.definition import GraphQLArgument, GraphQLNamedType

PAGE_ARGUMENTS = ("first", "last")
# Arguments whose list the answer follows item by item: a router's `_entities` call asks for hundreds at once.
ITEM_ARGUMENTS = frozenset({"representations"})
# Lists without paging arguments hold a handful of items in this schema (a booking's split between two
# locations, a customer's identities at the network's locations, a location's services): ten is generous.
UNPAGED_LIST_SIZE = 10


@dataclass(frozen=True, slots=True)
class CostModel:
    default_page_size: int
    max_page_size: int
    unpaged_list_size: int = UNPAGED_LIST_SIZE


@dataclass(frozen=True, slots=True)
class _Field:
    """What the estimate needs of a field's return type."""

    is_list: bool
    named: GraphQLNamedType


def _unwrap(type_: GraphQLOutputType) -> _Field:
    is_list = False
    current: Any = type_
    while isinstance(current, GraphQLNonNull | GraphQLList):
        is_list = is_list or isinstance(current, GraphQLList)
        current = current.of_type
    return _Field(is_list=is_list, named=current)


def _int_or_none(value: object) -> int | None:
    """A variable's value as GraphQL's Int takes it: an integral float (500.0) is 500; a bool is no Int."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


@dataclass
class _Estimate:
    schema: GraphQLSchema
    model: CostModel
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    variable_defaults: Mapping[str, ValueNode]
    # (fragment name, page size under which it is spread) -> its cost; also guards against fragment cycles.
    _fragment_costs: dict[tuple[str, int | None], int] = field(default_factory=dict)

    def _value(self, node: ValueNode) -> int | None:
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, VariableNode):
            name = node.name.value
            if name in self.variables:
                return _int_or_none(self.variables[name])
            default = self.variable_defaults.get(name)
            return self._value(default) if default is not None else None
        return None  # null, or a value of the wrong type that execution refuses anyway

    def page_size(self, node: FieldNode, arguments: Mapping[str, GraphQLArgument]) -> int | None:
        """The page a paged field asks for, within bounds; None for a field that is not paged."""
        if not any(name in arguments for name in PAGE_ARGUMENTS):
            return None
        given: dict[str, int | None] = {name: None for name in PAGE_ARGUMENTS if name in arguments}
        for argument in node.arguments or ():
            if argument.name.value in given:
                given[argument.name.value] = self._value(argument.value)
        for name, value in given.items():
            if value is None:
                given[name] = _int_or_none(arguments[name].default_value)
        sizes = [value for value in given.values() if value is not None]
        size = max(sizes) if sizes else self.model.default_page_size
        return max(0, min(size, self.model.max_page_size))

    def items_asked(self, node: FieldNode) -> int | None:
        """How many items a list field answers by its item argument (None without one), within bounds."""
        for argument in node.arguments or ():
            if argument.name.value not in ITEM_ARGUMENTS:
                continue
            value: Any = argument.value
            if isinstance(value, VariableNode):
                value = self.variables.get(value.name.value)
            elif isinstance(value, ListValueNode):
                value = value.values
            if isinstance(value, list | tuple):
                return min(len(value), self.model.max_page_size)
        return None

    def selection(self, parent: GraphQLNamedType, selection_set: SelectionSetNode | None, page: int | None) -> int:
        """The cost of a selection on `parent`; `page` is the page size when `parent` is a connection."""
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition is not None else parent
                total += self.selection(target or parent, selection.selection_set, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, page)
        return total

    def fragment(self, name: str, page: int | None) -> int:
        key = (name, page)
        if key in self._fragment_costs:
            return self._fragment_costs[key]
        definition = self.fragments.get(name)
        if definition is None:
            return 0
        self._fragment_costs[key] = 0  # a cycle (refused by validation anyway) adds nothing
        target = self.schema.get_type(definition.type_condition.name.value)
        cost = self.selection(target, definition.selection_set, page) if target is not None else 0
        self._fragment_costs[key] = cost
        return cost

    def field(self, parent: GraphQLNamedType, node: FieldNode, page: int | None) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 1
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) or name not in parent.fields:
            return 1  # not a field of the type: validation refuses the document
        definition = parent.fields[name]
        returns = _unwrap(definition.type)
        size = self.page_size(node, definition.args)
        if returns.is_list:
            # A paged list counts its own page, `_entities` its representations, a list under a connection the
            # connection's page; any other list a few.
            asked = self.items_asked(node) if size is None else None
            times = next((n for n in (size, asked, page) if n is not None), self.model.unpaged_list_size)
            return 1 + times * self.selection(returns.named, node.selection_set, None)
        # A connection: its lists (edges, nodes) hold the page; its other fields (totalCount, pageInfo) are one.
        return 1 + self.selection(returns.named, node.selection_set, size)


def _operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    return next((node for node in operations if node.name is not None and node.name.value == operation_name), None)


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    model: CostModel,
    *,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """The estimated cost of the operation the request runs; 0 when it names none (execution refuses it)."""
    operation = _operation(document, operation_name)
    if operation is None:
        return 0
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    if root is None:
        return 0
    estimate = _Estimate(
        schema=schema,
        model=model,
        fragments={node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)},
        variables=variables or {},
        variable_defaults={
            definition.variable.name.value: definition.default_value
            for definition in operation.variable_definitions or ()
            if definition.default_value is not None
        },
    )
    return estimate.selection(root, operation.selection_set, None)
