import asyncio
from dataclasses import dataclass

from cairn_client import CairnClient, Compare, Op


@dataclass
class App:
    name: str
    replicas: int


async def main() -> None:
    # Endpoints: the argument, else $CAIRN_ENDPOINTS (comma-separated), else 127.0.0.1:7379.
    async with CairnClient() as client:
        put = await client.put("app/web", '{"name": "web", "replicas": 3}')
        print("put at revision", put.revision)

        kv = (await client.get("app/web")).kv  # linearizable; None if the key does not exist
        stale = await client.get("app/web", consistency="stale")  # from the member in use
        print(kv.value_str if kv else None, stale.count)

        result = await (
            client.txn()
            .if_(Compare.version("app/web") > 0)
            .then(Op.put("app/seen", "yes"))
            .else_(Op.get("app/web"))
            .commit()
        )
        print("txn succeeded:", result.succeeded)

        print(await client.get_config("app/web", into=App))
        print(await client.get_config("app/missing", into=App))  # a missing key reads as None

        async for event in client.watch("app/", prefix=True, start_revision=put.revision):
            print(event.type, event.kv.key_str, event.revision)
            if event.revision >= result.revision:
                break


asyncio.run(main())
