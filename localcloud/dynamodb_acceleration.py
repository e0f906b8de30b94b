"""DynamoDB at the cost of the answer: moto's Query and TransactWriteItems without walking or copying whole tables.

moto 5.2.5 keeps a table's items in a dict of dicts (hash key, then range key). Its Query sorts every
item of the table on each call and walks the partition from its start up to ExclusiveStartKey, and
its TransactWriteItems deep-copies every table it touches so that it can roll back. Both grow with
the table, not with the answer.

`accelerate_backend` turns a moto backend into `IndexedDynamoDBBackend` and its tables, as they are
used, into `IndexedTable`. An indexed table keeps, for itself and for each secondary index, a sorted
list of sort keys per partition (the order moto's own Query sorts in), updated on every write that
moto makes through `put_item`, `delete_item` and `update_item`. A Query then bisects to where the
answer starts (ExclusiveStartKey, the sort key condition) and reads only the items moto's loop
would look at: what it returns, plus one. A transaction journals the old values of the items it
touches and puts those back on rollback.

Each answer is moto's own: the loop, the Limit and size rules, ScannedCount, LastEvaluatedKey,
projections and filters are moto's code or a line-for-line copy of it. Where a request or an item
is outside what the sorted lists describe (multi-attribute keys, legacy QueryFilter conditions, a
key attribute stored with another type than its definition, a malformed ExclusiveStartKey, a table
with a stream), the call goes to moto unchanged. tests/localcloud/test_dynamodb_acceleration.py
compares the two on random sequences of writes, transactions, queries and scans.

This relies on moto's internals, so it is written against one moto version: `check_moto_version`
refuses any other at startup.
"""

from __future__ import annotations

import bisect
import copy
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.metadata import version
from typing import Any, cast, override

from moto.core.serialize import SERVICE_SPECIFIC_SERIALIZERS, JSONSerializer
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    ResourceNotFoundException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, GlobalSecondaryIndex, Table

# The version whose DynamoDB models (moto/dynamodb/models/table.py and __init__.py) this module
# mirrors; requirements-dev.txt pins it.
SUPPORTED_MOTO_VERSION = "5.2.5"
# Key attributes can only be strings, numbers or binary.
_KEY_TYPES = frozenset({"S", "N", "B"})
ItemKey = tuple[DynamoType, DynamoType | None]
SortKey = tuple[Any, ...]
PartitionKey = tuple[str, Any]


class UnsupportedMotoVersionError(Exception):
    """The installed moto is not the version the DynamoDB acceleration mirrors."""


def check_moto_version() -> None:
    """Refuse to run over a moto whose internals this module was not written against."""
    installed = version("moto")
    if installed != SUPPORTED_MOTO_VERSION:
        raise UnsupportedMotoVersionError(
            f"localcloud's DynamoDB layer is written against moto {SUPPORTED_MOTO_VERSION} and moto {installed} is "
            f"installed; install the pinned version with `pip install -r requirements-dev.txt`"
        )


def accelerate_backends() -> None:
    """Make every DynamoDB backend that moto has created so far an indexed one, and its answers quick to write."""
    # moto's own extension point for a service's serializer; the same for every request.
    SERVICE_SPECIFIC_SERIALIZERS.setdefault("dynamodb", {})["json"] = DynamoDBSerializer
    # moto creates a backend per account and region on its first request; the one that request
    # creates is accelerated from the next request on (its tables are indexed when first used).
    for _account, _region, backend in list(dynamodb_backends.iter_backends()):
        if isinstance(backend, DynamoDBBackend):
            accelerate_backend(backend)


def accelerate_backend(backend: DynamoDBBackend) -> None:
    """Turn one moto DynamoDB backend into an `IndexedDynamoDBBackend`; its data stays as it is."""
    # moto builds its backends itself, lazily, and `reset()` keeps their class: changing the class
    # of the instance is the one way to extend them that survives both.
    if type(backend) is DynamoDBBackend:
        backend.__class__ = IndexedDynamoDBBackend


class DynamoDBSerializer(JSONSerializer):
    """moto's JSON serializer, reading each AttributeValue's members straight from its dict.

    moto writes every answer by walking the botocore model and, for each member of each
    AttributeValue (ten of them per attribute of each item), asking its attribute picker for a
    handful of aliases of the member's name. An AttributeValue from moto's DynamoDB is a dict keyed
    by the members' own names, so this looks them up there and serializes them as moto does.
    """

    def _serialize_type_structure(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if shape.name != "AttributeValue" or not isinstance(value, dict):
            super()._serialize_type_structure(serialized, value, shape, key)
            return
        # The rest is moto's ResponseSerializer._serialize_type_structure with the picker's lookup
        # replaced by the dict's.
        wrapper: Any = self.MAP_TYPE() if key else serialized
        for member_key, member_shape in shape.members.items():
            member_shape.parent = shape
            member_value = value.get(member_key)
            if member_value is not None:
                self._serialize(wrapper, member_value, member_shape, member_key)
        if key:
            self._default_serialize(serialized, wrapper, shape, key)


class _Top:
    """Greater than any value: `(a, b, TOP)` sorts after every key that starts with `(a, b)`."""

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True


_TOP = _Top()


@dataclass
class _Layout:
    """The order of one Query target (the table, or one index) as moto sorts it, and its partitions."""

    index_name: str | None
    hash_attr: str
    # moto's order: the attributes its `_generate_attr_to_sort_by` lists, the hash key first.
    sort_attrs: list[str]
    # The attribute a sort key condition compares, when the target has a sort key.
    range_attr: str | None
    # Attributes an item needs to be in the target (an index is sparse).
    required_attrs: list[str]
    declared_types: dict[str, str]
    is_global: bool
    partitions: dict[PartitionKey, _Partition] = field(default_factory=dict)
    # Members whose key attributes moto could not order like the others: while there is one, moto answers.
    irregular: set[ItemKey] = field(default_factory=set)


@dataclass
class _Partition:
    keys: list[SortKey] = field(default_factory=list)
    items: dict[SortKey, ItemKey] = field(default_factory=dict)


@dataclass(frozen=True)
class _Placement:
    layout: str | None
    partition: PartitionKey
    sort_key: SortKey


class IndexedTable(Table):
    """A moto table with sorted partitions for itself and its indexes, so that a Query reads only its answer."""

    _layouts: dict[str | None, _Layout]
    _signature: object
    _placements: dict[ItemKey, list[_Placement]]
    # The largest size an item of this table has had: an upper bound for moto's 1 MB page rule.
    _largest_item_size: int

    @classmethod
    def adopt(cls, table: Table) -> IndexedTable:
        """Index a moto table in place (one pass over its items)."""
        table.__class__ = cls
        indexed = cast(IndexedTable, table)
        indexed._signature = None
        indexed._largest_item_size = 0
        indexed._ensure_layouts()
        return indexed

    def put_item(self, *args: Any, **kwargs: Any) -> Item:
        item: Item = super().put_item(*args, **kwargs)
        self.reindex(item.hash_key, item.range_key)
        return item

    def delete_item(self, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
        item: Item | None = super().delete_item(hash_key, range_key)
        self.reindex(hash_key, range_key)
        return item

    def stored_item(self, key: ItemKey) -> Item | None:
        """The item stored under a key, read without creating moto's empty partitions."""
        hash_key, range_key = key
        stored = self.items.get(hash_key)
        if stored is None or range_key is None:
            return stored if isinstance(stored, Item) else None
        found = stored.get(range_key)
        return found if isinstance(found, Item) else None

    def restore_item(self, key: ItemKey, item: Item | None) -> None:
        """Put an item (or its absence) back under its key, as it was before a cancelled transaction."""
        hash_key, range_key = key
        if range_key is None:
            if item is None:
                self.items.pop(hash_key, None)
            else:
                # moto keeps the item itself where a table with a range key keeps a dict.
                self.items[hash_key] = item  # type: ignore[assignment]
        elif item is None:
            partition = self.items.get(hash_key)
            if partition is not None:
                partition.pop(range_key, None)
        else:
            self.items[hash_key][range_key] = item
        self.reindex(hash_key, range_key)

    def reindex(self, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        """Bring the sorted partitions up to date with the item now stored under this key."""
        if self._ensure_layouts():
            return
        key = (hash_key, range_key)
        for placement in self._placements.pop(key, []):
            self._unplace(key, placement)
        for layout in self._layouts.values():
            layout.irregular.discard(key)
        item = self.stored_item(key)
        if item is not None:
            self._place(key, item)

    @override
    def query(
        self,
        hash_key: DynamoType | None,
        range_comparison: str | None,
        range_objs: list[DynamoType],
        limit: int,
        exclusive_start_key: dict[str, Any],
        scan_index_forward: bool,
        projection_expressions: list[list[str]] | None,
        index_name: str | None = None,
        consistent_read: bool = False,
        filter_expression: Any = None,
        hash_key_conditions: list[tuple[str, DynamoType]] | None = None,
        range_key_conditions: list[tuple[str, str, list[DynamoType]]] | None = None,
        **filter_kwargs: Any,
    ) -> tuple[list[Item], int, dict[str, Any] | None]:
        self._ensure_layouts()
        layout = self._layouts.get(index_name)
        request = _QueryRequest(
            hash_key,
            hash_key_conditions or [],
            range_key_conditions or [],
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            consistent_read,
        )
        plan = None if layout is None or filter_kwargs else _plan_query(layout, request, self._largest_item_size)
        if plan is None:
            return super().query(
                hash_key,
                range_comparison,
                range_objs,
                limit,
                exclusive_start_key,
                scan_index_forward,
                projection_expressions,
                index_name,
                consistent_read,
                filter_expression,
                hash_key_conditions=hash_key_conditions,
                range_key_conditions=range_key_conditions,
                **filter_kwargs,
            )
        results, scanned_count, last_evaluated_key = self._walk(plan, request, index_name)
        # From here on, moto's Query line for line.
        results = copy.deepcopy(results)
        if index_name:
            index = self.get_index(index_name)
            results = [index.project(r) for r in results]
        if filter_expression is not None:
            results = [item for item in results if filter_expression.expr(item)]
        if projection_expressions:
            results = [r.project(projection_expressions) for r in results]
        return results, scanned_count, last_evaluated_key

    def _walk(
        self, plan: _QueryPlan, request: _QueryRequest, index_name: str | None
    ) -> tuple[list[Item], int, dict[str, Any] | None]:
        # moto's loop over the sorted candidates, given only those it can reach: the run of items
        # that match the sort key condition, then the items after it while one of them could still
        # end the page (moto sets LastEvaluatedKey on the first candidate past the limit or the size).
        results: list[Item] = []
        result_size = 0
        scanned_count = 0
        last_evaluated_key = None
        for item in plan.candidates(self):
            reached_length_limit = len(results) == request.limit
            reached_size_limit = (result_size + item.size()) > RESULT_SIZE_LIMIT
            if reached_length_limit or reached_size_limit:
                last_evaluated_key = self._get_last_evaluated_key(results[-1], index_name)
                break
            if request.range_comparison is None or item.attrs[plan.range_attr].compare(
                request.range_comparison, request.range_objs
            ):
                results.append(item)
                result_size += item.size()
                scanned_count += 1
                continue
            # The walk starts at the near end of the run of matches: this item is past its far end,
            # and no later item matches. Only the size rule could still end the page on one of them.
            if result_size + self._largest_item_size <= RESULT_SIZE_LIMIT:
                break
        return results, scanned_count, last_evaluated_key

    def _ensure_layouts(self) -> bool:
        """Rebuild the sorted partitions when the table's indexes changed; whether it rebuilt."""
        signature = _signature(self)
        if signature == self._signature:
            return False
        self._signature = signature
        self._layouts = _layouts_of(self)
        self._placements = {}
        for partition in self.items.values():
            for item in partition.values() if isinstance(partition, dict) else [partition]:
                self._place((item.hash_key, item.range_key), item)
        return True

    def _place(self, key: ItemKey, item: Item) -> None:
        self._largest_item_size = max(self._largest_item_size, item.size())
        placements = []
        for layout in self._layouts.values():
            attrs = item.attrs
            if any(attr not in attrs for attr in layout.required_attrs):
                continue
            if not all(_regular(attrs[attr], layout.declared_types[attr]) for attr in layout.sort_attrs[1:]):
                layout.irregular.add(key)
                continue
            hash_value = attrs[layout.hash_attr]
            if hash_value.type not in _KEY_TYPES:
                layout.irregular.add(key)
                continue
            placement = _Placement(
                layout.index_name,
                (hash_value.type, hash_value.cast_value),
                tuple(attrs[attr].cast_value for attr in layout.sort_attrs),
            )
            partition = layout.partitions.setdefault(placement.partition, _Partition())
            if placement.sort_key in partition.items:
                # Two items with one sort key can only come from a key stored with a type that
                # compares equal across types; moto would order them by its own rules.
                layout.irregular.add(key)
                continue
            bisect.insort(partition.keys, placement.sort_key)
            partition.items[placement.sort_key] = key
            placements.append(placement)
        if placements:
            self._placements[key] = placements

    def _unplace(self, key: ItemKey, placement: _Placement) -> None:
        layout = self._layouts[placement.layout]
        partition = layout.partitions[placement.partition]
        position = bisect.bisect_left(partition.keys, placement.sort_key)
        del partition.keys[position]
        del partition.items[placement.sort_key]
        if not partition.keys:
            del layout.partitions[placement.partition]


@dataclass(frozen=True)
class _QueryRequest:
    """The arguments of moto's Table.query that decide which items its loop walks."""

    hash_key: DynamoType | None
    hash_key_conditions: list[tuple[str, DynamoType]]
    range_key_conditions: list[tuple[str, str, list[DynamoType]]]
    range_comparison: str | None
    range_objs: list[DynamoType]
    limit: int | None
    exclusive_start_key: object
    scan_index_forward: bool
    consistent_read: bool


@dataclass(frozen=True)
class _QueryPlan:
    partition: _Partition
    # Positions in the partition's sorted keys, in the order moto walks them, from the near end of
    # the run of items that match the sort key condition (or from ExclusiveStartKey, if later).
    positions: range
    range_attr: str

    def candidates(self, table: IndexedTable) -> Iterator[Item]:
        for position in self.positions:
            item = table.stored_item(self.partition.items[self.partition.keys[position]])
            if item is not None:
                yield item


def _plan_query(layout: _Layout, request: _QueryRequest, largest_item_size: int) -> _QueryPlan | None:
    """Where moto's walk over the target's sorted candidates starts and ends; None when moto must answer."""
    hash_value = _queried_hash(layout, request, largest_item_size)
    if hash_value is None:
        return None
    partition = layout.partitions.get((hash_value.type, hash_value.cast_value), _Partition())
    keys = partition.keys
    low, high = 0, len(keys)
    if request.range_comparison is not None:
        bounds = _run_bounds(layout, hash_value.cast_value, request.range_comparison, request.range_objs, keys)
        if bounds is None:
            return None
        low, high = bounds
    start_key = None
    if request.exclusive_start_key is not None:
        start_key = _start_key(layout, request.exclusive_start_key)
        if start_key is None:
            return None
    # moto skips the items that come before or at ExclusiveStartKey in the direction of the walk.
    range_attr = layout.range_attr or layout.hash_attr
    if request.scan_index_forward:
        first = low if start_key is None else max(low, bisect.bisect_right(keys, start_key))
        return _QueryPlan(partition, range(first, len(keys)), range_attr)
    last = high - 1 if start_key is None else min(high, bisect.bisect_left(keys, start_key)) - 1
    return _QueryPlan(partition, range(last, -1, -1), range_attr)


def _queried_hash(layout: _Layout, request: _QueryRequest, largest_item_size: int) -> DynamoType | None:
    """The partition a Query reads, when moto would answer it with a plain walk of that partition."""
    if layout.irregular or (request.limit is not None and request.limit < 1):
        return None
    if largest_item_size > RESULT_SIZE_LIMIT or (request.consistent_read and layout.is_global):
        return None
    conditions = request.range_key_conditions
    if len(conditions) > 1 or (request.range_comparison is not None) != bool(conditions):
        return None
    if conditions and conditions[0][0] != layout.range_attr:
        return None
    if layout.index_name is None:
        # moto matches a table's partition on `hash_key` alone.
        value = request.hash_key
    elif len(request.hash_key_conditions) == 1 and request.hash_key_conditions[0][0] == layout.hash_attr:
        value = request.hash_key_conditions[0][1]
    else:
        return None
    return value if value is not None and value.type in _KEY_TYPES else None


# moto's two spellings of each sort key operator, and what each allows.
_OPERATORS = {
    "=": "EQ",
    "EQ": "EQ",
    "<": "LT",
    "LT": "LT",
    "<=": "LE",
    "LE": "LE",
    ">": "GT",
    "GT": "GT",
    ">=": "GE",
    "GE": "GE",
    "BETWEEN": "BETWEEN",
    "BEGINS_WITH": "BEGINS_WITH",
}


def _run_bounds(
    layout: _Layout, hash_cast: Any, comparison: str, values: list[DynamoType], keys: list[SortKey]
) -> tuple[int, int] | None:
    """The positions [low, high) of the items that a sort key condition matches."""
    operator = _OPERATORS.get(comparison)
    if layout.range_attr is None or operator is None:
        return None
    declared = layout.declared_types[layout.range_attr]
    if len(values) != (2 if operator == "BETWEEN" else 1) or any(value.type != declared for value in values):
        return None
    if operator == "BEGINS_WITH" and declared == "N":
        return None
    first, last = values[0].cast_value, values[-1].cast_value

    def before(value: Any) -> int:
        return bisect.bisect_left(keys, (hash_cast, value))

    def after(value: Any) -> int:
        return bisect.bisect_right(keys, (hash_cast, value, _TOP))

    low = {"LT": 0, "LE": 0, "GT": after(first)}.get(operator, before(first))
    if operator == "BEGINS_WITH":
        successor = _prefix_successor(first)
        return low, len(keys) if successor is None else before(successor)
    highs = {"EQ": after(first), "LT": before(first), "LE": after(first), "BETWEEN": after(last)}
    high = highs.get(operator, len(keys))
    return low, high


def _prefix_successor(prefix: str) -> str | None:
    """The least string greater than every string that starts with `prefix`; None when there is none."""
    stripped = prefix.rstrip(chr(0x10FFFF))
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)


def _start_key(layout: _Layout, exclusive_start_key: object) -> SortKey | None:
    """ExclusiveStartKey as a sort key; None when moto's comparison with it would not be an order on the keys."""
    if not isinstance(exclusive_start_key, dict):
        return None
    sort_key = []
    for attr in layout.sort_attrs:
        value = exclusive_start_key.get(attr)
        if not isinstance(value, dict) or len(value) != 1:
            return None
        ((value_type, raw),) = value.items()
        if value_type != layout.declared_types[attr] or not _well_formed(value_type, raw):
            return None
        sort_key.append(DynamoType(value).cast_value)
    return tuple(sort_key)


def _well_formed(value_type: str, raw: object) -> bool:
    if not isinstance(raw, str):
        return False
    if value_type != "N":
        return True
    try:
        Decimal(raw)
    except ArithmeticError:
        return False
    return True


def _regular(value: DynamoType, declared: str) -> bool:
    return value.type == declared and value.type in _KEY_TYPES


def _signature(table: Table) -> object:
    return (
        tuple(table.table_key_attrs),
        tuple((definition["AttributeName"], definition["AttributeType"]) for definition in table.attr),
        tuple(
            (
                index.name,
                isinstance(index, GlobalSecondaryIndex),
                tuple((key["AttributeName"], key["KeyType"]) for key in index.schema),
            )
            for index in table.all_indexes()
        ),
    )


def _layouts_of(table: Table) -> dict[str | None, _Layout]:
    declared = {definition["AttributeName"]: definition["AttributeType"] for definition in table.attr}
    layouts: dict[str | None, _Layout] = {}
    table_range = [table.range_key_attr] if table.range_key_attr else []
    layouts[None] = _Layout(
        index_name=None,
        hash_attr=table.hash_key_attr,
        sort_attrs=[table.hash_key_attr, *table_range],
        range_attr=table.range_key_attr,
        required_attrs=[table.hash_key_attr, *table_range],
        declared_types=declared,
        is_global=False,
    )
    for index in table.all_indexes():
        layout = _index_layout(table, index, declared)
        if layout is not None:
            layouts[index.name] = layout
    return layouts


def _index_layout(table: Table, index: Any, declared: dict[str, str]) -> _Layout | None:
    """The layout of an index with one hash and at most one range attribute, sorted as moto's Query sorts it."""
    hash_keys = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
    range_keys = [key["AttributeName"] for key in index.schema if key["KeyType"] == "RANGE"]
    if len(hash_keys) != 1 or len(range_keys) > 1:
        return None
    is_global = isinstance(index, GlobalSecondaryIndex)
    # The same lists moto's Query builds before it sorts (moto/dynamodb/models/table.py, Table.query).
    if range_keys:
        range_attrs: list[str | None] = [range_keys[0], table.range_key_attr]
    elif is_global and table.range_key_attr:
        range_attrs = [table.range_key_attr, table.range_key_attr]
    else:
        range_attrs = [table.hash_key_attr, table.range_key_attr]
    sort_attrs: list[str] = table._generate_attr_to_sort_by([hash_keys[0], table.hash_key_attr], range_attrs)
    if any(attr not in declared for attr in sort_attrs) or sort_attrs[0] != hash_keys[0]:
        return None
    return _Layout(
        index_name=index.name,
        hash_attr=hash_keys[0],
        sort_attrs=sort_attrs,
        range_attr=range_keys[0] if range_keys else None,
        required_attrs=[hash_keys[0], *range_keys, *sort_attrs],
        declared_types=declared,
        is_global=is_global,
    )


class IndexedDynamoDBBackend(DynamoDBBackend):
    """moto's DynamoDB backend whose tables are `IndexedTable`s and whose transactions journal only what they touch."""

    @property
    def _url_module(self) -> Any:
        # moto finds a backend's URL patterns from the module of its class.
        return importlib.import_module("moto.dynamodb.urls")

    def get_table(self, table_name: str) -> Table:
        table = super().get_table(table_name)
        # Other subclasses (tables restored from a backup) keep moto's behaviour.
        if type(table) is Table:
            return IndexedTable.adopt(table)
        return table

    def update_item(self, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
        table = self.get_table(table_name)
        try:
            return super().update_item(table_name, key, *args, **kwargs)
        finally:
            # moto updates the stored item in place, or creates it first when it is missing.
            if isinstance(table, IndexedTable):
                item_key = _item_key(table, key)
                if item_key is not None:
                    table.reindex(*item_key)

    def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
        tables = [self.tables.get(str(_operation(item)[1].get("TableName"))) for item in transact_items]
        if any(table is not None and table.stream_shard is not None for table in tables):
            # A rollback must also take back the stream records: moto's copy of the tables does.
            super().transact_write_items(transact_items)
            return
        _transact_with_journal(self, transact_items)


def _transact_with_journal(backend: IndexedDynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems (moto/dynamodb/models/__init__.py), with a journal of old items for table copies."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    journal = _Journal(backend)
    target_items: set[tuple[str, str]] = set()
    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    for item in transact_items:
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            _apply_action(backend, journal, item, target_items)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            journal.roll_back()
            raise
        except ConditionalCheckFailed as e:
            original_item = e.original_item if isinstance(e, _ConditionFailed) else None
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:  # noqa: BLE001 - moto turns any failure of one action into a cancellation reason
            errors.append((type(e).__name__, str(e), None))  # type: ignore[arg-type]
    if any(code is not None for code, _, _ in errors):
        journal.roll_back()
        raise TransactionCanceledException(errors)


class _ConditionFailed(ConditionalCheckFailed):
    """An action's own condition failed; it carries the item's old attributes when it asked for them (ALL_OLD)."""

    def __init__(self, original_item: dict[str, Any] | None) -> None:
        super().__init__(item=original_item)
        self.original_item = original_item


def _apply_action(
    backend: IndexedDynamoDBBackend, journal: _Journal, item: dict[str, Any], target_items: set[tuple[str, str]]
) -> None:
    """One action of a transaction, as moto's loop body runs it."""
    op_type, op = next(iter(item.items()))
    if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
        raise ValueError("Unsupported transaction operation")
    table_name = op["TableName"]
    condition_expression = op.get("ConditionExpression")
    expression_attribute_names = op.get("ExpressionAttributeNames")
    expression_attribute_values = op.get("ExpressionAttributeValues")
    if op_type == "Put":
        attrs = op["Item"]
        table = backend.get_table(table_name)
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
    else:
        key = op["Key"]
    unique = (str(table_name), str(dict(sorted(key.items()))))
    if unique in target_items:
        raise MultipleTransactionsException()
    target_items.add(unique)
    journal.remember(table_name, key)
    current = backend.get_item(table_name, key)
    if condition_expression is not None:
        condition = get_filter_expression(condition_expression, expression_attribute_names, expression_attribute_values)
        if not condition.expr(current):
            original_item = None
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current is not None:
                original_item = current.to_json()["Attributes"]
            raise _ConditionFailed(original_item)
    expressions = {
        "condition_expression": condition_expression,
        "expression_attribute_names": expression_attribute_names,
        "expression_attribute_values": expression_attribute_values,
    }
    if op_type == "Put":
        backend.put_item(table_name, op["Item"], **expressions)
    elif op_type == "Delete":
        backend.delete_item(table_name, key, **expressions)
    elif op_type == "Update":
        backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **expressions)


class _Journal:
    """The items a transaction is about to touch, as they were, to put back if it is cancelled."""

    def __init__(self, backend: IndexedDynamoDBBackend) -> None:
        self._backend = backend
        self._entries: list[tuple[IndexedTable, ItemKey, Item | None]] = []

    def remember(self, table_name: str, key: dict[str, Any]) -> None:
        try:
            table = self._backend.get_table(table_name)
        except ResourceNotFoundException:
            # moto's own call a line later fails the same way, and that action writes nothing.
            return
        if not isinstance(table, IndexedTable):
            return
        item_key = _item_key(table, key)
        if item_key is None:
            return
        stored = table.stored_item(item_key)
        self._entries.append((table, item_key, copy.deepcopy(stored)))

    def roll_back(self) -> None:
        for table, item_key, item in reversed(self._entries):
            table.restore_item(item_key, item)
        self._entries = []


def _item_key(table: Table, key: dict[str, Any]) -> ItemKey | None:
    """The stored key of an item, or None when the key does not name one item of the table."""
    try:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError, IndexError, AttributeError):
        return None
    if hash_value.type not in _KEY_TYPES or (range_value is not None and range_value.type not in _KEY_TYPES):
        return None
    return hash_value, range_value


def _operation(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    for op_type, op in item.items():
        if isinstance(op, dict):
            return op_type, op
    return "", {}
