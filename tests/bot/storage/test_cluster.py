"""parole on a Redis Cluster of three masters, started here (three `redis-server --cluster-enabled yes`, joined
with `redis-cli --cluster create`): a customer journey, a staff relay both ways, `/forget`, and the analysis
worker, through the real bot over the emulator, as on one Redis."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
import redis
from redis.asyncio import Redis
from redis.crc import key_slot

from bot.analysis.worker import AnalysisWorker
from bot.cli.serve import Listen, RunningBot, running_bot
from bot.config import Settings, load_settings
from bot.staff.pictures import PictureJob, PictureJobs
from bot.storage import keys
from bot.storage.cluster import cluster_client, is_cluster, resume_every
from bot.storage.durability import warn_about_durability
from bot.storage.embedded import LocalCluster
from bot.storage.identity import CustomerId
from bot.storage.vocabulary import VocabularyStore
from emulator import BotApiEmulator, EmulatedUser
from nlp import Analyzer
from tests.bot.cli.test_main import parole
from tests.bot.staff_scene import FIRST_TICKET, Scene, play_relay
from tests.support import Clock, Customer, load_transcript


@pytest.fixture(scope="session")
def cluster_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """The test session's cluster (three masters); their `host:port`."""
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.create()
        yield cluster.nodes
    finally:
        cluster.stop()


@pytest.fixture
def cluster_url(cluster_nodes: list[str]) -> str:
    """The cluster, emptied before each test; named by one of its nodes, as an operator would."""
    for node in cluster_nodes:
        host, port = node.split(":")
        client = redis.Redis(host=host, port=int(port))
        client.flushall()
        client.close()
    return f"redis+cluster://{cluster_nodes[0]}"


@pytest.fixture
async def cluster_bot(
    settings: Settings, cluster_url: str, clock: Clock, operator: EmulatedUser
) -> AsyncIterator[RunningBot]:
    """The whole bot in webhook mode on the cluster (the staff-side fixtures' bot otherwise)."""
    settings = dataclasses.replace(settings, redis_url=cluster_url, admin_ids=frozenset({operator.id}))
    assert settings.redis_cluster and settings.webhook_url is not None
    port = int(settings.webhook_url.split(":")[2].split("/")[0])
    async with running_bot(
        settings, listen=Listen("127.0.0.1", port), clock=clock, notify_every=None, analysis_wait=0.0
    ) as running:
        assert is_cluster(running.store.redis)
        yield running


@pytest.fixture
async def cluster_scene(cluster_bot: RunningBot, emulator: BotApiEmulator, clock: Clock) -> Scene:
    return await Scene.build(cluster_bot, emulator, clock)


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return Analyzer()


def test_the_url_scheme_selects_the_cluster_client() -> None:
    settings = load_settings({"PAROLE_REDIS_URL": "redis+cluster://127.0.0.1:7000"}, dotenv=None)
    assert settings.redis_cluster


async def test_the_look_for_jobs_to_resume_outlives_a_cluster_that_cannot_be_reached() -> None:
    """A cluster that cannot be reached raises `RedisClusterException`, which is no `RedisError`: the loop logs it
    and looks again (it must not die, nor make the bot's stop fail on it), and stops when cancelled."""
    unreachable = cluster_client("redis+cluster://127.0.0.1:1")

    async def work(job: PictureJob) -> None:
        raise AssertionError(f"nothing to do: {job}")

    looks = 0

    async def resume() -> int:
        nonlocal looks
        looks += 1
        return await PictureJobs(unreachable, work).resume()

    task = asyncio.create_task(resume_every(resume, 0.01, what="customer picture(s)"))
    try:
        for _ in range(300):
            if looks >= 3 or task.done():
                break
            await asyncio.sleep(0.01)
        assert not task.done() and looks >= 3
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await unreachable.aclose()


async def test_the_durability_check_reads_every_master(cluster_url: str, cluster_nodes: list[str]) -> None:
    client = cluster_client(cluster_url, decode_responses=True)
    try:
        found = await warn_about_durability(client)  # the test cluster runs without an append-only file
    finally:
        await client.aclose()
    assert sorted(problem.split()[1] for problem in found) == sorted(cluster_nodes)
    assert all("keeps nothing on disk" in problem for problem in found)


def test_every_key_of_a_brand_shares_one_hash_slot() -> None:
    """Scripts and transactions over a brand's keys need one slot: every key function of `bot.storage.keys` that
    takes a brand puts it in the hash tag."""
    made: list[str] = []
    for name, function in inspect.getmembers(keys, inspect.isfunction):
        parameters = list(inspect.signature(function).parameters)
        if parameters and parameters[0] == "brand_code" and not name.endswith("member"):
            values = {"brand_code": "quick", "venue_code": "massy", "customer": CustomerId.telegram(7),
                      "feedback_id": "f1", "chat_id": -100, "message_id": 3, "number": 1001, "nonce": "n1",
                      "job_id": "j1", "what": "alert:f1"}  # fmt: skip
            made.append(function(*(values[p] for p in parameters)))
    assert len(made) >= 15, made
    assert {key_slot(key.encode()) for key in made} == {key_slot(b"{quick}")}
    assert key_slot(keys.brand("quick").encode()) != key_slot(keys.brand("sncf").encode())


async def test_a_journey_and_a_relay_work_on_a_cluster(cluster_scene: Scene, cluster_nodes: list[str]) -> None:
    scene = cluster_scene
    customer = Customer.new(scene.emulator, "Camille")
    await play_relay(scene, customer, load_transcript("staff_relay"))  # the journey, the card, both ways
    ticket = await scene.bot.staff.tickets.get("quick", FIRST_TICKET)
    assert ticket is not None and ticket.status.value == "closed" and ticket.first_response_at is not None
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert feedback["status"] == "complete" and feedback["ticket"] == FIRST_TICKET
    # The answers, the customer's thanks, two more answers; after the close the customer writes again (the ticket
    # opens again) and the staff answer once more.
    authors = [r["author"] for r in feedback["replies"]]
    assert authors == ["staff", "customer", "staff", "staff", "customer", "staff"]
    # The data is spread over the masters: the customer's chat, the brand, the feedback stream.
    chat = keys.chat(CustomerId.telegram(customer.user.id))
    holders = {_node_of(cluster_nodes, key) for key in (chat, keys.brand("quick"),
                                                        keys.FEEDBACK_STREAM, keys.room(scene.room.id))}  # fmt: skip
    assert len(holders) >= 2, holders


async def test_forget_erases_across_the_cluster(cluster_scene: Scene) -> None:
    scene = cluster_scene
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    await scene.staff_says(scene.julien, "/reply 1001 Pouvez-vous préciser ?")
    await customer.say("/forget")
    turn = await customer.tap("forget:yes")
    assert "plus rien ne relie vos avis à vous" in turn.text
    redis_client = scene.bot.store.redis
    user_id = customer.user.id
    who = CustomerId.telegram(user_id)
    for key in (keys.chat(who), keys.customer_salt(who), keys.customer_feedbacks(who),
                keys.customer_tickets(who), keys.rated("quick", scene.massy.code, who)):  # fmt: skip
        assert not await redis_client.exists(key), key
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert feedback["customer"] is None and feedback["reason"] == "On a attendu 40 minutes."
    ticket = await scene.bot.staff.tickets.get("quick", 1001)
    assert ticket is not None and ticket.customer == ""


async def test_a_staff_room_moves_to_another_group_on_a_cluster(cluster_scene: Scene) -> None:
    scene = cluster_scene
    other = scene.emulator.add_group("Quick — nouvelle équipe", admins=[scene.maria])
    await scene.link(other, scene.maria)  # replaces the brand room: writes across slots
    rooms = await scene.bot.staff.rooms.list("quick")
    assert [r.chat_id for r in rooms] == [other.id]
    assert await scene.bot.staff.rooms.get(scene.room.id) is None


async def test_the_worker_analyses_feedback_on_a_cluster(cluster_scene: Scene, analyzer: Analyzer) -> None:
    scene = cluster_scene
    redis_client: Redis = scene.bot.store.redis
    await VocabularyStore(redis_client).add("quick", "PER", "Julien")  # a transaction in the brand's slot
    await scene.feedback(Customer.new(scene.emulator, "Léa"), reason="Julien a été très aimable.", rating=5)
    await scene.feedback(Customer.new(scene.emulator, "Paul"), scene.orly, reason="Les toilettes étaient sales.")
    worker = AnalysisWorker(redis_client, analyzer, name="cluster-w1", batch_size=10, block=0.05)
    await worker.ensure_group()
    await worker.drain(until_idle=True)
    assert worker.analysed == 2
    analysed = {f["reason"]: f async for f in scene.bot.store.iter_feedback("quick")}
    praise = analysed["Julien a été très aimable."]
    assert praise["kind"] == "praise" and praise["analysed_at"] is not None
    assert any(e["text"] == "Julien" and e["label"] == "PER" for e in praise["entities"])
    assert "cleanliness" in analysed["Les toilettes étaient sales."]["aspects"]
    pending = await redis_client.xpending(keys.FEEDBACK_STREAM, keys.ANALYSIS_GROUP)
    assert pending["pending"] == 0
    assert await redis_client.xlen(keys.events("quick")) == 2
    # The staff notifier reads the analyses (the brand's events) and edits the two cards that went without.
    said = await scene.notify()
    assert [c.method for c in said.calls] == ["editMessageText", "editMessageText"]
    assert "Type : Félicitations" in scene.card(1001).text and "Mentions : Julien (personne)" in scene.card(1001).text


def _node_of(nodes: list[str], key: str) -> str:
    """The master that holds `key`'s slot, as the cluster itself maps its slots (CLUSTER SLOTS)."""
    host, port = nodes[0].split(":")
    client = redis.Redis(host=host, port=int(port), decode_responses=True)
    try:
        slots = client.cluster("slots")
    finally:
        client.close()
    slot = key_slot(key.encode())
    for start, end, primary, *_ in slots:  # [start, end, [host, port, id], replicas…] per range
        if int(start) <= slot <= int(end):
            return f"{primary[0]}:{primary[1]}"
    raise AssertionError(f"no master holds the slot of {key}")


async def test_a_cluster_outage_is_waited_out_and_nothing_acknowledged_is_lost(
    settings: Settings, emulator: BotApiEmulator, clock: Clock, tmp_path: Path, analyzer: Analyzer,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Every master down at once: the webhook answers 503 (Telegram keeps the update), /healthz says so, the
    worker waits; once the cluster is back, the redelivered update and the analysis go through."""
    cluster = LocalCluster(tmp_path / "cluster", "--appendfsync", "always", appendonly=True)
    cluster.create()
    try:
        settings = dataclasses.replace(settings, redis_url=cluster.url)
        assert settings.webhook_url is not None
        port = int(settings.webhook_url.split(":")[2].split("/")[0])
        # The staff notifier and the abandon sweep run their loops too: an error escaping one fails the test.
        listen = Listen("127.0.0.1", port)
        async with running_bot(settings, listen=listen, clock=clock, sweep_every=0.05, notify_every=0.05) as bot:
            await bot.store.add_brand("quick", "Quick")
            venue = await bot.store.add_venue("quick", "Quick Massy")
            customer = Customer.new(emulator)
            await customer.say(f"/start {venue.token}")
            worker = AnalysisWorker(bot.store.redis, analyzer, name="outage-w1", block=0.05)
            stop = asyncio.Event()
            working = asyncio.create_task(worker.run(stop))
            while not await bot.store.redis.hexists(keys.WORKERS, worker.name):  # reading the stream
                await asyncio.sleep(0.05)
            cluster.kill()
            delivery = await emulator.send_text(customer.user, "4")
            assert delivery.status == 503 and emulator.pending_update_count == 1
            async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as got:
                assert got.status == 503
            for said in (f"worker {worker.name}: Redis unavailable", "staff notifier: Redis unavailable"):
                await _until(_logged(caplog, said), f"never logged {said!r}")
            assert not working.done()
            cluster.start()
            cluster.wait_until_ready()
            [again] = await emulator.redeliver_pending()
            assert again.status == 200
            assert any("Qu'avez-vous le plus apprécié" in str(c.params.get("text")) for c in again.calls)
            await customer.say("Le service était rapide.")
            await customer.say("passer")
            await _until(lambda: worker.analysed == 1, "the worker did not analyse the feedback after the outage")
            stop.set()
            await asyncio.wait_for(working, 30)
            [feedback] = [f async for f in bot.store.iter_feedback()]
            assert feedback["rating"] == 4 and feedback["status"] == "complete" and feedback["kind"] is not None
    finally:
        cluster.stop()


async def _until(condition: Callable[[], bool], failure: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.05)


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> Callable[[], bool]:
    return lambda: text in caplog.text


def test_parole_demo_and_parole_worker_run_on_a_cluster(cluster_url: str, tmp_path: Path) -> None:
    """`parole demo` on the configured cluster: the bot in-process, the analysis in a `parole worker` process."""
    done = parole("demo", env={"PAROLE_REDIS_URL": cluster_url, "PAROLE_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    stored = json.loads(done.stdout[done.stdout.index("Retour enregistré") + len("Retour enregistré") :])
    assert stored["status"] == "complete" and stored["kind"] in ("critique", "complaint")
    assert [r["author"] for r in stored["replies"]] == ["staff", "customer"]
