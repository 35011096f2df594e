"""Transactions: compares on value/version/create/mod revision, and the ops to run.

await (client.txn()
       .if_(Compare.value("a") == "3", Compare.version("b") > 0)
       .then(Op.put("c", "4"))
       .else_(Op.get("c"))
       .commit())
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, Union

from ._gen.cairn.v1 import kv_pb2
from .keys import Bytesish, prefix_end, to_bytes
from .results import TxnResult

_C = kv_pb2.Compare
_TARGETS = {
    "value": _C.COMPARE_TARGET_VALUE,
    "version": _C.COMPARE_TARGET_VERSION,
    "create": _C.COMPARE_TARGET_CREATE,
    "mod": _C.COMPARE_TARGET_MOD,
}
_FIELDS = {"value": "value", "version": "version", "create": "create_revision", "mod": "mod_revision"}


@dataclass(frozen=True)
class Compare:
    """One side of a compare; the operators (==, !=, <, >) complete it."""

    target: str
    key: bytes
    range_end: bytes = b""

    @staticmethod
    def value(key: Bytesish, *, prefix: bool = False) -> Compare:
        return Compare._of("value", key, prefix)

    @staticmethod
    def version(key: Bytesish, *, prefix: bool = False) -> Compare:
        return Compare._of("version", key, prefix)

    @staticmethod
    def create(key: Bytesish, *, prefix: bool = False) -> Compare:
        return Compare._of("create", key, prefix)

    @staticmethod
    def mod(key: Bytesish, *, prefix: bool = False) -> Compare:
        return Compare._of("mod", key, prefix)

    @staticmethod
    def _of(target: str, key: Bytesish, prefix: bool) -> Compare:
        k = to_bytes(key)
        return Compare(target, k, prefix_end(k) if prefix else b"")

    def _build(self, result: kv_pb2.Compare.CompareResult, operand: Union[int, Bytesish]) -> kv_pb2.Compare:
        if self.target == "value":
            if isinstance(operand, int):
                raise TypeError("a value compare takes str or bytes")
            arg: Union[int, bytes] = to_bytes(operand)
        else:
            if not isinstance(operand, int) or isinstance(operand, bool):
                raise TypeError(f"a {self.target} compare takes an int")
            arg = operand
        cmp = kv_pb2.Compare(result=result, target=_TARGETS[self.target], key=self.key, range_end=self.range_end)
        setattr(cmp, _FIELDS[self.target], arg)
        return cmp

    # The operators return protobuf compares, not bools: this is a small DSL.
    def __eq__(self, other: object) -> kv_pb2.Compare:  # type: ignore[override]
        return self._build(_C.COMPARE_RESULT_EQUAL, other)  # type: ignore[arg-type]

    def __ne__(self, other: object) -> kv_pb2.Compare:  # type: ignore[override]
        return self._build(_C.COMPARE_RESULT_NOT_EQUAL, other)  # type: ignore[arg-type]

    def __gt__(self, other: Union[int, Bytesish]) -> kv_pb2.Compare:
        return self._build(_C.COMPARE_RESULT_GREATER, other)

    def __lt__(self, other: Union[int, Bytesish]) -> kv_pb2.Compare:
        return self._build(_C.COMPARE_RESULT_LESS, other)

    __hash__ = None  # type: ignore[assignment]


class Op:
    """Operations usable inside a transaction."""

    @staticmethod
    def get(key: Bytesish, *, prefix: bool = False, limit: int = 0) -> kv_pb2.RequestOp:
        k = to_bytes(key)
        req = kv_pb2.RangeRequest(key=k, range_end=prefix_end(k) if prefix else b"", limit=limit)
        return kv_pb2.RequestOp(request_range=req)

    @staticmethod
    def put(key: Bytesish, value: Bytesish, *, prev_kv: bool = False, lease: int = 0) -> kv_pb2.RequestOp:
        return kv_pb2.RequestOp(
            request_put=kv_pb2.PutRequest(key=to_bytes(key), value=to_bytes(value), prev_kv=prev_kv, lease=lease)
        )

    @staticmethod
    def delete(key: Bytesish, *, prefix: bool = False, prev_kv: bool = False) -> kv_pb2.RequestOp:
        k = to_bytes(key)
        req = kv_pb2.DeleteRangeRequest(key=k, range_end=prefix_end(k) if prefix else b"", prev_kv=prev_kv)
        return kv_pb2.RequestOp(request_delete_range=req)


class Txn:
    """Builder: `if_` compares (all must hold), `then` ops, `else_` ops, then `commit()`."""

    def __init__(self, commit: Callable[[kv_pb2.TxnRequest, bool | None], Awaitable[TxnResult]]) -> None:
        self._commit = commit
        self._request = kv_pb2.TxnRequest()

    def if_(self, *compares: kv_pb2.Compare) -> Txn:
        self._request.compare.extend(compares)
        return self

    def then(self, *ops: kv_pb2.RequestOp) -> Txn:
        self._request.success.extend(ops)
        return self

    def else_(self, *ops: kv_pb2.RequestOp) -> Txn:
        self._request.failure.extend(ops)
        return self

    async def commit(self, *, retry_unsafe: bool | None = None) -> TxnResult:
        """Sends the transaction. A transaction of gets only is retried like a read; one that
        writes is retried on an unknown outcome only with `retry_unsafe=True` (it must be
        safe to apply twice)."""
        return await self._commit(self._request, retry_unsafe)
