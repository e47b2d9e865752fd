"""Cross-language convergence: a Rust HQ replica and Python, Node and Kotlin register replicas
(each its own process, on its own store file, through its own binding) exchange sync bytes
through this orchestrator, which loses, duplicates, delays and reorders them, then lets them
exchange everything. Every replica must end with identical per-scope digests and read the same
values. See PROTOCOL.md for the agents' commands.

    AISLE_AGENT_RUST='["path/to/sync_agent"]' AISLE_AGENT_KOTLIN='["java", ...]' \\
        python tests/sync-cross/run.py [--schedules N] [--steps N] [--seed S]

Every agent is required: a missing one is a failure, not a skip.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STORE = "s1"
SKUS = ["MILK", "BREAD", "BEER"]
CARTS = ["cart-1", "cart-2"]
CUSTOMERS = ["C-1", "C-2", "C-3"]


class Agent:
    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def call(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} agent died on {cmd['op']} (exit {self.proc.poll()})")
        return json.loads(line)

    def ok(self, **cmd: Any) -> dict[str, Any]:
        answer = self.call(**cmd)
        if not answer["ok"]:
            raise AssertionError(f"{self.name}: {cmd['op']} failed: {answer['code']}: {answer['message']}")
        return answer

    def close(self) -> None:
        try:
            self.call(op="quit")
        finally:
            self.proc.wait(timeout=30)


def agent_commands() -> dict[str, list[str]]:
    commands = {
        "python": [sys.executable, str(HERE / "agent.py")],
        "node": ["node", str(HERE / "agent.mjs")],
    }
    for name in ("rust", "kotlin"):
        value = os.environ.get(f"AISLE_AGENT_{name.upper()}")
        if not value:
            raise SystemExit(f"AISLE_AGENT_{name.upper()} is not set (a JSON list: the {name} agent's command line)")
        commands[name] = json.loads(value)
    return commands


def transfer(rng: random.Random, dst: Agent, src: Agent, pending: list[tuple[Agent, str]], faulty: bool) -> None:
    """`dst` pulls from `src`; when `faulty`, chunks are lost, duplicated, delayed and reordered."""
    request = dst.ok(op="request")["bytes"]
    chunks = src.ok(op="changes_since", bytes=request)["chunks"]
    deliver: list[str] = []
    for c in chunks:
        roll = rng.random() if faulty else 1.0
        if roll < 0.15:
            continue  # lost
        if roll < 0.30:
            pending.append((dst, c))  # delayed: delivered later, maybe after newer ones
            continue
        deliver.append(c)
        if roll < 0.40:
            deliver.append(c)  # duplicated
    if faulty:
        rng.shuffle(deliver)
    for c in deliver:
        apply(dst, c)


def apply(dst: Agent, chunk: str) -> None:
    answer = dst.call(op="apply", bytes=chunk)
    if not answer["ok"] and answer["code"] != "SYNC_REPLAY":
        raise AssertionError(f"{dst.name}: apply refused: {answer['code']}: {answer['message']}")


def local_write(rng: random.Random, agent: Agent, is_hq: bool) -> None:
    if is_hq:
        agent.ok(op="price", sku=rng.choice(SKUS), name="item", price_minor=rng.randrange(50, 500))
        return
    kind = rng.randrange(6)
    sku = rng.choice(SKUS)
    if kind == 0:
        agent.ok(op="stock_add", sku=sku, location="shelf", delta=rng.randrange(-5, 20))
    elif kind == 1:
        agent.ok(op="stocktake", sku=sku, location="shelf", count=rng.randrange(0, 50))
    elif kind == 2:
        agent.ok(op="cart_add", cart=rng.choice(CARTS), sku=sku, quantity=rng.randrange(1, 4))
    elif kind == 3:
        agent.ok(op="cart_remove", cart=rng.choice(CARTS), sku=sku)
    elif kind == 4:
        fields = {"name": rng.choice(["Ada", "Grace", "Linus", "Zoë"]), "points": rng.randrange(0, 1000)}
        agent.ok(op="customer_upsert", id=rng.choice(CUSTOMERS), fields=fields)
    else:
        agent.ok(op="customer_delete", id=rng.choice(CUSTOMERS))


def schedule(commands: dict[str, list[str]], seed: int, steps: int, workdir: Path) -> None:
    rng = random.Random(seed)
    agents = {name: Agent(name, argv) for name, argv in commands.items()}
    try:
        hq = agents["rust"]
        cards = {}
        for name, a in agents.items():
            is_hq = a is hq
            cards[name] = a.ok(
                op="open",
                path=str(workdir / f"{seed}-{name}.db"),
                store="hq" if is_hq else STORE,
                device=f"{name}-1",
                role="hq" if is_hq else "store",
            )["card"]
        for a in agents.values():
            for card in cards.values():
                a.ok(op="enroll", card=card)

        everyone = list(agents.values())
        pending: list[tuple[Agent, str]] = []
        for _ in range(steps):
            if rng.random() < 0.5:
                a = rng.choice(everyone)
                local_write(rng, a, a is hq)
            else:
                dst, src = rng.sample(everyone, 2)
                transfer(rng, dst, src, pending, faulty=True)
            if pending and rng.random() < 0.1:
                dst, chunk = pending.pop(rng.randrange(len(pending)))
                apply(dst, chunk)
        rng.shuffle(pending)
        for dst, chunk in pending:
            apply(dst, chunk)

        # Full exchange: every replica pulls from every other, until nothing moves.
        for _ in range(3):
            for dst in everyone:
                for src in everyone:
                    if dst is not src:
                        transfer(rng, dst, src, [], faulty=False)

        for scope in ("global", f"store:{STORE}"):
            digests = {name: a.ok(op="digest", scope=scope)["digest"] for name, a in agents.items()}
            assert len(set(digests.values())) == 1, f"seed {seed}: {scope} digests differ: {digests}"
        registers = [a for a in everyone if a is not hq]
        for sku in SKUS:
            for cart, customer in zip(CARTS + CARTS[:1], CUSTOMERS):
                states = {a.name: a.ok(op="state", sku=sku, location="shelf", cart=cart, customer=customer) for a in registers}
                for s in states.values():
                    s.pop("ok")
                values = [json.dumps(s, sort_keys=True) for s in states.values()]
                assert len(set(values)) == 1, f"seed {seed}: registers read different values: {states}"

        # A plain count after convergence: each register receives units; all see the sum.
        for i, a in enumerate(registers):
            a.ok(op="stock_add", sku="FINAL", location="back", delta=10 + i)
        for _ in range(2):
            for dst in everyone:
                for src in everyone:
                    if dst is not src:
                        transfer(rng, dst, src, [], faulty=False)
        want = sum(10 + i for i in range(len(registers)))
        for a in registers:
            level = a.ok(op="state", sku="FINAL", location="back", cart="none", customer="none")["level"]
            assert level == want, f"seed {seed}: {a.name} sees {level} FINAL units, want {want}"
    finally:
        for a in agents.values():
            try:
                a.close()
            except Exception as e:  # a dead agent must not hide the first failure
                print(f"{a.name}: {e}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedules", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SYNC_CROSS_SEED", "1")))
    args = parser.parse_args()
    commands = agent_commands()
    with tempfile.TemporaryDirectory(prefix="aisle-sync-cross-") as tmp:
        for i in range(args.schedules):
            seed = args.seed + i
            schedule(commands, seed, args.steps, Path(tmp))
            print(f"sync-cross: seed {seed}: {', '.join(commands)} converged after {args.steps} faulty steps")
    print(f"sync-cross: {args.schedules} schedules passed")


if __name__ == "__main__":
    main()
