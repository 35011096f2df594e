"""The cross-SDK scenario (sdk/scenario/SCENARIO.md) against CAIRN_ENDPOINTS; prints
exactly the lines of sdk/scenario/expected.txt on a fresh cluster."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from cairn_client import CairnClient, CairnError, Compare, Event, GetResult, Op


@dataclass
class AppConfig:
    name: str
    replicas: int


def pairs(result: GetResult) -> str:
    return " ".join(f"{kv.key_str}={kv.value_str}" for kv in result.kvs)


def event_line(event: Event) -> str:
    if event.type == "DELETE":
        return f"event DELETE {event.kv.key_str} rev={event.revision}"
    return f"event PUT {event.kv.key_str}={event.kv.value_str} rev={event.revision}"


async def main() -> None:
    async with CairnClient() as client:
        print(f"put scn/a rev={(await client.put('scn/a', '1')).revision}")
        print(f"put scn/b rev={(await client.put('scn/b', '2')).revision}")

        a = (await client.get("scn/a")).kv
        assert a is not None
        print(f"get scn/a={a.value_str} version={a.version} create={a.create_revision} mod={a.mod_revision}")

        put = await client.put("scn/a", "3", prev_kv=True)
        assert put.prev_kv is not None
        print(f"put scn/a rev={put.revision} prev={put.prev_kv.value_str}")

        scn = await client.get_prefix("scn/")
        print(f"range scn/ count={scn.count}: {pairs(scn)}")

        t1 = (
            await client.txn()
            .if_(Compare.value("scn/a") == "3")
            .then(Op.put("scn/c", "4"))
            .else_(Op.put("scn/c", "x"))
            .commit()
        )
        print(f"txn succeeded={str(t1.succeeded).lower()} rev={t1.revision}")

        t2 = (
            await client.txn()
            .if_(Compare.version("scn/b") > 5)
            .then(Op.delete("scn/b"))
            .else_(Op.get("scn/b"))
            .commit()
        )
        got = t2.responses[0]
        assert isinstance(got, GetResult) and got.kv is not None
        print(f"txn succeeded={str(t2.succeeded).lower()} rev={t2.revision} get scn/b={got.kv.value_str}")

        deleted = await client.delete("scn/b")
        print(f"delete scn/b deleted={deleted.deleted} rev={deleted.revision}")

        # The linearizable read first makes sure the member in use has applied the txn.
        await client.get("scn/c")
        stale = (await client.get("scn/c", consistency="stale")).kv
        assert stale is not None
        print(f"stale get scn/c={stale.value_str}")

        async with client.watch("scn/", prefix=True, start_revision=1) as watch:
            for _ in range(5):
                print(event_line(await anext(watch)))

        await client.put("scn/config", '{"name":"web","replicas":3}')
        config = await client.get_config("scn/config", into=AppConfig)
        assert config is not None
        print(f"config name={config.name} replicas={config.replicas}")

        await client.compact(3)
        try:
            await client.get("scn/a", revision=2)
            print("get scn/a rev=2 error=none")
        except CairnError as err:
            print(f"get scn/a rev=2 error={err.code.name}")


if __name__ == "__main__":
    asyncio.run(main())
