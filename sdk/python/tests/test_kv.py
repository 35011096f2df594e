"""KV operations, transactions and error classes against a live cluster."""

from __future__ import annotations

import grpc
import pytest

from cairn_client import (
    CairnClient,
    CairnError,
    CompactedError,
    Compare,
    DeleteResult,
    ErrorCode,
    FutureRevisionError,
    GetResult,
    Header,
    InvalidArgumentError,
    Op,
    PutResult,
    prefix_end,
)
from cairn_client._gen.cairn.v1 import errors_pb2

from cluster import Cluster, run


def test_prefix_end() -> None:
    assert prefix_end(b"a/") == b"a0"
    assert prefix_end(b"a\xff") == b"b"
    assert prefix_end(b"\xff\xff") == b"\0"


def test_from_status_reads_the_error_info() -> None:
    from cairn_client.errors import from_status

    info = errors_pb2.ErrorInfo(code=errors_pb2.ERROR_CODE_COMPACTED, compact_revision=7)
    status = errors_pb2.RpcStatus(
        code=grpc.StatusCode.OUT_OF_RANGE.value[0],
        message="compacted",
        details=[
            errors_pb2.StatusDetail(type_url="type.googleapis.com/cairn.v1.ErrorInfo", value=info.SerializeToString())
        ],
    )
    err = from_status(status)
    assert isinstance(err, CompactedError)
    assert (err.code, err.cairn_code, err.compact_revision) == (
        grpc.StatusCode.OUT_OF_RANGE,
        errors_pb2.ERROR_CODE_COMPACTED,
        7,
    )
    bare = from_status(errors_pb2.RpcStatus(code=grpc.StatusCode.INVALID_ARGUMENT.value[0], message="bad"))
    assert isinstance(bare, InvalidArgumentError) and bare.cairn_code is None


def test_put_get_range_delete(shared_cluster: Cluster) -> None:
    async def main() -> None:
        async with CairnClient(shared_cluster.endpoints) as client:
            first = await client.put("kv/a", "1")
            second = await client.put("kv/a", b"2", prev_kv=True)
            assert second.revision == first.revision + 1
            assert second.prev_kv is not None and second.prev_kv.value == b"1"

            got = await client.get("kv/a")
            assert got.kv is not None
            assert (got.kv.value_str, got.kv.version, got.kv.create_revision, got.kv.mod_revision) == (
                "2",
                2,
                first.revision,
                second.revision,
            )
            assert (await client.get("kv/missing")).kv is None
            old = await client.get("kv/a", revision=first.revision)
            assert old.kv is not None and old.kv.value == b"1"

            await client.put("kv/b", "3")
            await client.put("kw/outside", "x")
            listed = await client.get_prefix("kv/")
            assert [(kv.key_str, kv.value_str) for kv in listed.kvs] == [("kv/a", "2"), ("kv/b", "3")]
            assert listed.count == 2
            assert (await client.get_prefix("kv/", count_only=True)).count == 2

            gone = await client.delete("kv/", prefix=True, prev_kv=True)
            assert gone.deleted == 2 and sorted(kv.key_str for kv in gone.prev_kvs) == ["kv/a", "kv/b"]
            assert (await client.get_prefix("kv/")).count == 0
            assert (await client.get("kw/outside")).kv is not None

    run(main())


def test_txn_compares(shared_cluster: Cluster) -> None:
    async def main() -> None:
        async with CairnClient(shared_cluster.endpoints) as client:
            created = await client.put("tx/a", "1")
            await client.put("tx/a", "2")
            a = (await client.get("tx/a")).kv
            assert a is not None

            ok = await (
                client.txn()
                .if_(
                    Compare.value("tx/a") == "2",
                    Compare.version("tx/a") == 2,
                    Compare.create("tx/a") == created.revision,
                    Compare.mod("tx/a") == a.mod_revision,
                    Compare.version("tx/nothing") == 0,
                )
                .then(Op.put("tx/b", "yes", prev_kv=True), Op.get("tx/a"))
                .else_(Op.put("tx/b", "no"))
                .commit()
            )
            assert ok.succeeded and ok.revision == a.mod_revision + 1
            put, get = ok.responses
            assert isinstance(put, PutResult) and put.prev_kv is None
            assert isinstance(get, GetResult) and get.kv is not None and get.kv.value == b"2"

            failed = await (
                client.txn()
                .if_(Compare.mod("tx/a") > a.mod_revision)
                .then(Op.delete("tx/a"))
                .else_(Op.delete("tx/", prefix=True), Op.get("tx/", prefix=True))
                .commit()
            )
            assert not failed.succeeded
            deleted, after = failed.responses
            assert isinstance(deleted, DeleteResult) and deleted.deleted == 2
            assert isinstance(after, GetResult) and after.count == 0

            with pytest.raises(TypeError):
                Compare.version("tx/a") == "1"  # noqa: B015 - the compare raises on build

    run(main())


def test_errors_are_typed(shared_cluster: Cluster) -> None:
    async def main() -> None:
        async with CairnClient(shared_cluster.endpoints) as client:
            with pytest.raises(InvalidArgumentError) as empty:
                await client.put("", "v")
            assert empty.value.code == grpc.StatusCode.INVALID_ARGUMENT
            assert empty.value.cairn_code == errors_pb2.ERROR_CODE_EMPTY_KEY
            assert empty.value.cairn_code == ErrorCode.ERROR_CODE_EMPTY_KEY  # the same, exported
            assert empty.value.cairn_code_name == "ERROR_CODE_EMPTY_KEY"

            with pytest.raises(FutureRevisionError) as future:
                await client.get("cmp/a", revision=1_000_000)
            assert future.value.cairn_code == errors_pb2.ERROR_CODE_FUTURE_REVISION

            # The server's default limit is 128 operations per txn list.
            with pytest.raises(CairnError) as too_many:
                await client.txn().then(*(Op.put(f"many/{i}", "v") for i in range(129))).commit()
            assert too_many.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert too_many.value.cairn_code == errors_pb2.ERROR_CODE_TOO_MANY_TXN_OPS

            first = await client.put("cmp/a", "1")
            await client.put("cmp/a", "2")
            last = await client.put("cmp/a", "3")
            compaction = await client.compact(last.revision, physical=True)
            assert isinstance(compaction, Header) and compaction.revision >= last.revision
            with pytest.raises(CompactedError) as compacted:
                await client.get("cmp/a", revision=first.revision)
            assert compacted.value.code == grpc.StatusCode.OUT_OF_RANGE
            assert compacted.value.cairn_code == errors_pb2.ERROR_CODE_COMPACTED
            assert compacted.value.compact_revision == last.revision
            with pytest.raises(CompactedError) as watched:
                async for _ in client.watch("cmp/", prefix=True, start_revision=first.revision):
                    pass
            assert watched.value.code == grpc.StatusCode.OUT_OF_RANGE
            assert watched.value.cairn_code == errors_pb2.ERROR_CODE_COMPACTED
            assert watched.value.compact_revision == last.revision
            with pytest.raises(ValueError):
                await client.get("cmp/a", max_staleness=1.0)

    run(main())
