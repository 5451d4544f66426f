"""bench/scale: gobay at 1,000 projects and a million builds (issue #12).

Each part measures one of the issue's goals next to a baseline taken in the same run and prints
"goal ...: met" or "NOT met"; a missed goal is reported, not an error. A broken run (a wrong HTTP
status, a server that died, a build that failed) exits 1. bench/scale is the entry point: it starts
and stops every server; the parts here only talk to them.

Every subprocess is an argv list; nothing here goes through a shell.
Run as `python3 bench/scalelib.py COMMAND ARGS...`.
"""

import hashlib
import json
import math
import os
import shlex
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid

from benchlib import (DEPLOY_BLOB_GO, WEBHOOK_SECRET, WRK_LUA, Client, Gobay, RawGo, checkout_at, cmd_gen,
                      commit_all, commit_stamp, deploy_blob, die, expect_202, gitlab_push_body, log, metrics, mib,
                      ms, parse_json_output, rfc3339_epoch, rss_kib, run, timed, wait_healthy, wrk, wrk_version, write)

SMALL = 10  # projects of the baseline configs
# Ten environments on one toolchain; the first is named as bench/prune's filler names its builds.
ENVIRONMENTS = ["go122"] + [f"go122-{i}" for i in range(1, 10)]
BUILD_ENV = "go122"  # every project that really builds: one GOCACHE, the standard library compiled once
THROUGHPUT_PROJECTS = [f"tp-{i}" for i in range(4)]
REAL_PROJECTS = ["tiny", "files200", "blob", *THROUGHPUT_PROJECTS]
PUSHED_COMMIT = "6c3d7a2b9e1f40d85a7c2e9b1f3a6d4c8e0b2f71"  # any 40 hex digits: nothing checks it out
RATIO_GOAL = 1.2
QUEUE_WAIT_DAYS = 30  # not_before of the generated queued builds: none may start during the bench
READ_BUDGET_S = 20  # seconds of requests per endpoint at most in the reads part


# --- shared ------------------------------------------------------------------------


def load_manifest(workdir):
    with open(os.path.join(workdir, "scale.json")) as f:
        return json.load(f)


def goal(what, ok, detail):
    """Prints one goal line and keeps it for the summary bench/scale prints at the end."""
    line = f"scale: goal {what}: {'met' if ok else 'NOT met'} ({detail})"
    print(line, flush=True)
    path = os.environ.get("BENCH_GOALS")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def stored_date(seconds):
    """A time as gobay's database stores one (GRDB): "2026-11-27 05:47:43.239", UTC."""
    millis = int(round(seconds * 1000))
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(millis // 1000)) + f".{millis % 1000:03d}"


def percentile(values, p):
    """Nearest-rank percentile: p99 of 300 samples is the 297th smallest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def write_private(path, text):
    """Build steps run as other users; gobay warns about a config others can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class Server:
    """A `gobay serve` that bench/scale started: NAME:PID:PORT, NAME a config of the manifest."""

    def __init__(self, spec, manifest):
        name, pid, port = spec.split(":")
        self.name, self.pid, self.port = name, int(pid), int(port)
        self.config = manifest["configs"][name]
        self.projects = self.config["projects"]
        self.client = Client(self.port, os.environ.get("BENCH_TOKEN") or die("BENCH_TOKEN is not set"))
        self.url = f"http://127.0.0.1:{self.port}"
        self.label = f"{self.projects} projects"  # how the part's log lines name it

    def stat_fields(self):
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                stat = f.read()
        except FileNotFoundError:
            return None
        return stat[stat.rindex(")") + 2:].split()

    def check_alive(self):
        fields = self.stat_fields()
        if fields is None or fields[0] in ("Z", "X"):
            die(f"server {self.name} (pid {self.pid}) died; see serve-{self.name}.log")

    def cpu(self, children=False):
        """CPU seconds (user + system, all threads) the server has used so far; with `children`,
        with the processes it ran and reaped (steps, git) added."""
        fields = self.stat_fields()
        if fields is None:
            die(f"server {self.name} (pid {self.pid}) died; see serve-{self.name}.log")
        ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
        return ticks / os.sysconf("SC_CLK_TCK")

    def rss(self):
        self.check_alive()
        return rss_kib(self.pid)

    def hwm(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0


def wrk_run(server, lua, body_file, delivery, seconds, threads, conns, wrk_log):
    """One wrk run against server's /hooks/gitlab; adds the server's CPU per answered delivery."""
    before = server.cpu()
    r = wrk(lua, server.url + "/hooks/gitlab", body_file, delivery, seconds, threads, conns, 0, wrk_log)
    r["cpu_s"] = server.cpu() - before
    server.check_alive()
    r["cpu_us"] = r["cpu_s"] * 1e6 / max(1, r["requests"])
    return r


def load_rounds(servers, scenarios, rounds, warmup, seconds, threads, conns, workdir):
    """scenarios: [(label, {server name: (body file, delivery id or None)})]. A warm-up run of each
    scenario on each server, then `rounds` rounds of every scenario on every server, the servers'
    order rotating. Returns {label: {server name: [runs]}} and the problems seen."""
    lua = os.path.join(workdir, "scale.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA)
    wrk_log = os.path.join(workdir, "wrk.log")
    results = {label: {s.name: [] for s in servers} for label, _ in scenarios}
    problems = []

    def check(label, s, r):
        if r["non202"] or r["socket_errors"]:
            problems.append(f"{label} on {s.name}: {r['non202']} non-202 answers {r['statuses']}, "
                            f"socket errors {r['errors']}")

    for label, bodies in scenarios:
        for s in servers:
            check(f"{label} (warm-up)", s, wrk_run(s, lua, *bodies[s.name], warmup, threads, conns, wrk_log))
    for r in range(rounds):
        order = servers[r % len(servers):] + servers[:r % len(servers)]
        for label, bodies in scenarios:
            for s in order:
                results[label][s.name].append(wrk_run(s, lua, *bodies[s.name], seconds, threads, conns, wrk_log))
                check(label, s, results[label][s.name][-1])
            log(f"round {r + 1}/{rounds} {label}: " + ", ".join(
                f"{s.label} {results[label][s.name][-1]['req_s']:.0f} req/s "
                f"p99 {results[label][s.name][-1]['p99_ms']:.2f} ms "
                f"{results[label][s.name][-1]['cpu_us']:.0f} us CPU" for s in servers))
    return results, problems


def summarize(runs):
    """Medians of req/s, p50 and p99 over the rounds; CPU per delivery pooled (all CPU / all answers)."""
    return {
        "req_s": statistics.median(r["req_s"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "cpu_us": sum(r["cpu_s"] for r in runs) * 1e6 / max(1, sum(r["requests"] for r in runs)),
        "requests": sum(r["requests"] for r in runs),
        "p99_runs": "/".join(f"{r['p99_ms']:.2f}" for r in runs),
    }


def describe(s):
    return (f"{s['req_s']:.0f} req/s, p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms (runs {s['p99_runs']}), "
            f"server CPU {s['cpu_us']:.0f} us per delivery ({s['requests']} deliveries)")


def queue_state(client):
    """(queue depth, builds running, {status: count} of builds that ran) from /metrics."""
    m = metrics(client)
    ran = {}
    for key, value in m.items():
        if key.startswith("gobay_builds{") and value and not any(
                f'status="{s}"' in key for s in ("queued", "superseded")):
            ran[key] = value
    return m.get("gobay_queue_depth"), m.get("gobay_builds_running", 0), ran


# --- configs and data ----------------------------------------------------------------


def project_line(name, repo, env, extra=""):
    return (f"  {name}: {{ repo: {json.dumps(repo)}, branch: main, environment: {env}, "
            f"webhook_secret: {WEBHOOK_SECRET}{extra} }}")


def cmd_configs(workdir, goroot, projects):
    """Writes every config the parts use and scale.json, the manifest that names them."""
    projects = int(projects)
    token = os.environ.get("BENCH_TOKEN") or die("BENCH_TOKEN is not set")
    tokens = f'tokens: ["sha256:{hashlib.sha256(token.encode()).hexdigest()}"]'
    # An hour's quiet period keeps every build a delivery queues waiting: no Go build runs.
    hooks_server = f"server: {{ quiet_period: 1h, max_builds: 1, {tokens} }}"
    build_server = f"server: {{ quiet_period: 0, max_builds: 2, grace_period: 5s, {tokens} }}"
    repos = os.path.join(workdir, "repos")
    environments = "".join(f"  {e}: {{ go: \"1.22\", goroot: {json.dumps(goroot)} }}\n" for e in ENVIRONMENTS)
    configs = {}

    def config(name, data, count, server, real=()):
        lines = [project_line(p, os.path.join(repos, p), BUILD_ENV, ", coalesce: false" if p.startswith("tp-") else "")
                 for p in real]
        # Fillers: every project its own repository URL (nothing clones them), spread over the environments.
        fillers = [f"svc-{p:04d}" for p in range(count - len(real))]
        lines += [project_line(p, os.path.join(repos, p), ENVIRONMENTS[i % len(ENVIRONMENTS)])
                  for i, p in enumerate(fillers)]
        path = os.path.join(workdir, f"{name}.yml")
        write_private(path, f"data_dir: {json.dumps(os.path.join(workdir, 'data', data))}\n"
                            f"environments:\n{environments}projects:\n" + "\n".join(lines) + f"\n{server}\n")
        target = fillers[-1]  # the last in the file: a linear search would find it last
        configs[name] = {"path": path, "data_dir": os.path.join(workdir, "data", data), "projects": count,
                         "target": target, "repo": os.path.join(repos, target)}

    config("hooks-big", "hooks-big", projects, hooks_server)
    config("hooks-small", "hooks-small", SMALL, hooks_server)
    config("sched-empty", "sched-empty", projects, hooks_server)
    config("sched-queued", "sched-queued", projects, hooks_server)
    config("reads", "reads", projects, hooks_server)
    config("dashboard", "dashboard", projects, hooks_server)
    # One data dir for both: the same environments, GOCACHE and history, only the project count differs.
    config("build-big", "build", projects, build_server, REAL_PROJECTS)
    config("build-small", "build", SMALL, build_server, REAL_PROJECTS)
    with open(os.path.join(workdir, "scale.json"), "w") as f:
        json.dump({"goroot": goroot, "configs": configs}, f, indent=2)


def cmd_fill_queue(db_path, count, projects):
    """COUNT queued builds spread over PROJECTS projects, written straight into gobay's database (its
    schema made by gobay). Each waits QUEUE_WAIT_DAYS (not_before), as after a long quiet period, so
    none starts; each project's are on refs of their own, so no push to main supersedes them."""
    count, projects = int(count), int(projects)
    db = sqlite3.connect(db_path)
    now = time.time()
    created, not_before = stored_date(now), stored_date(now + QUEUE_WAIT_DAYS * 86400)
    rows = [(f"svc-{i % projects:04d}", hashlib.sha1(str(i).encode()).hexdigest(), f"queued-{i // projects}",
             "queued", created, "webhook", 0, not_before) for i in range(count)]
    t0 = time.perf_counter()
    db.execute("BEGIN")
    db.executemany("INSERT INTO build (project, commit_sha, ref, status, created_at, trigger, retried, not_before) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    waiting = db.execute("SELECT count(*) FROM build WHERE status = 'queued' AND owner IS NULL").fetchone()[0]
    db.close()
    if waiting < count:
        die(f"{db_path}: {waiting} queued builds after inserting {count}")
    log(f"{count} queued builds (not before {not_before[:10]}) written in {time.perf_counter() - t0:.1f} s")


def cmd_repos(workdir, size_mb):
    """The projects that really build: tiny (main and one package), files200 (10 packages x 20 files),
    blob (an embedded random payload of SIZE_MB MB) and the throughput projects tp-0..tp-3 (tiny)."""
    repos = os.path.join(workdir, "repos")
    for name in ("tiny", *THROUGHPUT_PROJECTS):
        cmd_gen(os.path.join(repos, name), f"example.com/{name.replace('-', '')}", "1.22", 0, 0, "main")
    cmd_gen(os.path.join(repos, "files200"), "example.com/files200", "1.22", 10, 20, "main")
    blob = os.path.join(repos, "blob")
    run(["git", "init", "-q", "-b", "main", blob])
    write(blob, "go.mod", "module example.com/blob\n\ngo 1.22\n")
    write(blob, "main.go", 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println(len(blob))\n}\n')
    write(blob, "blob.go", DEPLOY_BLOB_GO)
    write(blob, "blob.txt", deploy_blob(int(size_mb) * 1000 * 1000))
    commit_all(blob, "a binary of at least SIZE_MB MB")


# --- part 1: webhooks ------------------------------------------------------------------


def cmd_webhooks(workdir, fixture, seconds, warmup, rounds, threads, conns, big_spec, small_spec):
    """Two servers side by side, many projects and few: an unbuilt-branch push and a redelivery."""
    seconds, warmup, rounds, threads, conns = map(int, (seconds, warmup, rounds, threads, conns))
    manifest = load_manifest(workdir)
    servers = [Server(big_spec, manifest), Server(small_spec, manifest)]
    big, small = servers
    unbuilt, redelivery = {}, {}
    for s in servers:
        wait_healthy(s.client)
        body = gitlab_push_body(fixture, s.config["repo"], "unbuilt-branch", PUSHED_COMMIT)
        path = os.path.join(workdir, f"push-unbuilt-{s.name}.json")
        with open(path, "wb") as f:
            f.write(body)
        answer, _ = expect_202(f"{s.name}: unbuilt-branch push", *s.client.push(body))
        if answer.get("queued") or "no project builds branch unbuilt-branch" not in (answer.get("reason") or ""):
            die(f"{s.name}: unbuilt-branch push to {s.config['target']}'s repository: expected no build and "
                f"\"no project builds branch\", got {answer!r}")
        delivery = str(uuid.uuid4())
        first, _ = expect_202(f"{s.name}: first delivery", *s.client.push(body, delivery))
        again, headers = expect_202(f"{s.name}: redelivery", *s.client.push(body, delivery))
        if headers.get("x-gobay-redelivery") != "true" or again != first:
            die(f"{s.name}: redelivery of {delivery}: expected the stored answer with X-Gobay-Redelivery, "
                f"got {again!r} {headers!r}")
        unbuilt[s.name], redelivery[s.name] = (path, None), (path, delivery)
        log(f"{s.name}: {s.projects} projects, pid {s.pid}, port {s.port}, RSS {mib(s.rss())}; the push to "
            f"{s.config['target']}'s repository answers 202: {answer['reason']}")

    log(f"wrk: {threads} threads, {conns} connections, {warmup} s warm-up per scenario and server, then "
        f"{rounds} rounds of {seconds} s")
    results, problems = load_rounds(servers, [("unbuilt branch", unbuilt), ("redelivery", redelivery)], rounds,
                                    warmup, seconds, threads, conns, workdir)
    for s in servers:
        depth, running, ran = queue_state(s.client)
        if depth != 0 or running or ran:
            problems.append(f"{s.name}: the load queued or ran builds (queue depth {depth}, running {running}, {ran})")

    print(f"scale: webhooks: GitLab push fixture to the last project's repository, wrk {wrk_version()} "
          f"({threads} threads, {conns} connections), {rounds} rounds of {seconds} s per server, servers alternating")
    for label in results:
        got = {s.name: summarize(results[label][s.name]) for s in servers}
        for s in servers:
            print(f"scale: webhooks: {label:<14} {s.projects:>5} projects: {describe(got[s.name])}")
        b, m = got[big.name], got[small.name]
        p99_ratio, cpu_ratio = b["p99_ms"] / m["p99_ms"], b["cpu_us"] / m["cpu_us"]
        goal(f"webhooks {label}: p99 at {big.projects} projects within {RATIO_GOAL}x of {small.projects}",
             p99_ratio <= RATIO_GOAL, f"{b['p99_ms']:.2f} ms vs {m['p99_ms']:.2f} ms, {p99_ratio:.2f}x")
        goal(f"webhooks {label}: CPU per delivery at {big.projects} projects within {RATIO_GOAL}x of {small.projects}",
             cpu_ratio <= RATIO_GOAL, f"{b['cpu_us']:.0f} us vs {m['cpu_us']:.0f} us, {cpu_ratio:.2f}x")
        goal(f"webhooks {label}: >= 1000 req/s at {big.projects} projects", b["req_s"] >= 1000,
             f"{b['req_s']:.0f} req/s; {small.projects} projects {m['req_s']:.0f} req/s; wrk shares the cores")
    if problems:
        die("; ".join(problems))


# --- part 2: scheduler ----------------------------------------------------------------


def cmd_scheduler(workdir, fixture, queued, seconds, warmup, rounds, threads, conns, empty_spec, queued_spec):
    """Two servers with the same config, one with QUEUED builds waiting: CPU per delivery that queues
    a build (a push to main: queues one, supersedes the one waiting, wakes the scheduler)."""
    queued, seconds, warmup, rounds, threads, conns = map(int, (queued, seconds, warmup, rounds, threads, conns))
    manifest = load_manifest(workdir)
    servers = [Server(empty_spec, manifest), Server(queued_spec, manifest)]
    empty, full = servers
    expected = {empty.name: 0, full.name: queued}
    for s in servers:
        s.label = f"{expected[s.name]} queued"
    bodies = {}
    for s in servers:
        wait_healthy(s.client)
        depth, running, ran = queue_state(s.client)
        if depth != expected[s.name] or running or ran:
            die(f"{s.name}: expected {expected[s.name]} queued builds and none run, /metrics says queue depth "
                f"{depth}, running {running}, {ran}")
        target = s.config["target"]
        body = gitlab_push_body(fixture, s.config["repo"], "main", PUSHED_COMMIT)
        path = os.path.join(workdir, f"push-main-{s.name}.json")
        with open(path, "wb") as f:
            f.write(body)
        answer, _ = expect_202(f"{s.name}: push to main", *s.client.push(body))
        if [q.get("project") for q in answer.get("queued", [])] != [target]:
            die(f"{s.name}: push to main of {target}'s repository: expected one build of {target}, got {answer!r}")
        bodies[s.name] = (path, None)
        log(f"{s.name}: {s.projects} projects, {depth:.0f} builds queued, pid {s.pid}, RSS {mib(s.rss())}; "
            f"a push to main queues #{answer['queued'][0]['id']}")

    results, problems = load_rounds(servers, [("queued+coalesced", bodies)], rounds, warmup, seconds, threads, conns,
                                    workdir)
    for s in servers:
        depth, running, ran = queue_state(s.client)
        # Each push superseded the build before it: one of the target's waits, beside the generated ones.
        if depth != expected[s.name] + 1 or running or ran:
            problems.append(f"{s.name}: expected {expected[s.name] + 1} queued builds after the load and none run, "
                            f"/metrics says queue depth {depth}, running {running}, {ran}")

    got = {s.name: summarize(results["queued+coalesced"][s.name]) for s in servers}
    print(f"scale: scheduler: a push to main that queues a build and supersedes the waiting one, {empty.projects} "
          f"projects, {rounds} rounds of {seconds} s per server, servers alternating")
    for s in servers:
        print(f"scale: scheduler: {expected[s.name]:>6} queued: {describe(got[s.name])}")
    e, f_ = got[empty.name], got[full.name]
    ratio = f_["cpu_us"] / e["cpu_us"]
    goal(f"scheduler: CPU per delivery with {queued} builds queued within {RATIO_GOAL}x of an empty queue",
         ratio <= RATIO_GOAL, f"{f_['cpu_us']:.0f} us vs {e['cpu_us']:.0f} us, {ratio:.2f}x; p99 {f_['p99_ms']:.2f} ms "
                              f"vs {e['p99_ms']:.2f} ms")
    if problems:
        die("; ".join(problems))


# --- part 3: reads ------------------------------------------------------------------------


def timed_gets(client, paths, requests, warmup):
    """GETs each path warmup + requests times, rotating, one at a time; ms per measured request, by path.
    A path far off its goal stops early: a few samples say so (warm-up and measured apart)."""
    samples = {path: [] for path in paths}
    spent = {path: 0.0 for path in paths}
    for i in range(warmup + requests):
        for path in paths[i % len(paths):] + paths[:i % len(paths)]:
            if i == warmup:
                spent[path] = 0.0
            if spent[path] > (READ_BUDGET_S / 4 if i < warmup else READ_BUDGET_S):
                continue
            t0 = time.perf_counter()
            status, _, data = client.send("GET", path, auth=True)
            elapsed = time.perf_counter() - t0
            spent[path] += elapsed
            if status != 200:
                die(f"GET {path}: expected 200, got {status}: {data[:300]!r}")
            if i >= warmup:
                samples[path].append(elapsed * 1000)
    return samples


def cmd_reads(workdir, spec, ended, queued, requests, warmup):
    """p99 of four reads, one request at a time on a keep-alive connection, and the server's RSS."""
    ended, queued, requests, warmup = map(int, (ended, queued, requests, warmup))
    server = Server(spec, load_manifest(workdir))
    client = server.client
    wait_healthy(client)
    time.sleep(1)
    rss_idle = server.rss()
    project = f"svc-{server.projects // 2:04d}"
    endpoints = ["/metrics", "/api/v1/environments", "/api/v1/builds?limit=50",
                 f"/api/v1/builds?project={project}&limit=50"]

    # What each answers, checked once.
    m = metrics(client)
    total = sum(v for k, v in m.items() if k.startswith("gobay_builds{"))
    if m.get("gobay_queue_depth") != queued or total != ended + queued:
        die(f"/metrics: expected queue depth {queued} and {ended + queued} builds, got "
            f"{m.get('gobay_queue_depth')} and {total}")
    envs = client.json("GET", endpoints[1], auth=True)
    if sorted(e.get("name") for e in envs) != sorted(ENVIRONMENTS) or sum(e.get("queued") or 0 for e in envs) != queued:
        die(f"{endpoints[1]}: expected {len(ENVIRONMENTS)} environments holding {queued} queued builds, got "
            f"{[(e.get('name'), e.get('queued')) for e in envs]}")
    page = client.json("GET", endpoints[2], auth=True)
    ids = [b.get("id") for b in page]
    if len(page) != 50 or ids != sorted(ids, reverse=True):
        die(f"{endpoints[2]}: expected 50 builds newest first, got {len(page)}: {ids[:5]}...")
    page = client.json("GET", endpoints[3], auth=True)
    # bench/prune's filler gives every project the same number of builds; fill-queue deals its round-robin.
    index = server.projects // 2
    own = ended // server.projects + len(range(index, queued, server.projects))
    if len(page) != min(50, own) or {b.get("project") for b in page} != {project}:
        die(f"{endpoints[3]}: expected {min(50, own)} builds of {project}, got {len(page)} of "
            f"{sorted({b.get('project') for b in page})}")

    samples = timed_gets(client, endpoints, requests, warmup)
    server.check_alive()
    rss_after, hwm = server.rss(), server.hwm()

    print(f"scale: reads: {server.projects} projects, {ended} ended builds (2 steps, 1 artifact each) and {queued} "
          f"queued; {requests} requests per endpoint after {warmup} warm-up, one at a time, one keep-alive connection")
    for path in endpoints:
        s = samples[path]
        cut = "" if len(s) == requests else f"  (only {len(s)} requests: stopped after {READ_BUDGET_S} s)"
        print(f"scale: reads: GET {path:<42} p50 {percentile(s, 50):6.2f} ms  p99 {percentile(s, 99):6.2f} ms  "
              f"max {max(s):6.2f} ms{cut}")
    for path in endpoints:
        p99 = percentile(samples[path], 99)
        goal(f"reads: GET {path} p99 <= 10 ms", p99 <= 10, f"{p99:.2f} ms")
    rss = max(rss_idle, rss_after)
    print(f"scale: reads: server RSS idle {mib(rss_idle)}, after the reads {mib(rss_after)}, peak (VmHWM) {mib(hwm)}")
    goal(f"reads: RSS <= 100 MB with {server.projects} projects, {ended} builds, {queued} queued", rss * 1024 <= 100e6,
         f"VmRSS {rss * 1024 / 1e6:.1f} MB, the larger of idle and after the reads; MB = 10^6 bytes; "
         f"peak during the reads {hwm * 1024 / 1e6:.1f} MB")


# --- part 4: cli ----------------------------------------------------------------------------


def first_step(gobay_bin, config, project, workdir):
    """Runs `gobay build --config CONFIG PROJECT --json`; returns (seconds from spawn to the first
    "[fetch]" line on stderr, which gobay writes as the fetch starts, seconds to the "[fetch] mirror"
    line that follows the fetch, seconds to exit). Dies unless the build succeeded."""
    argv = [gobay_bin, "build", "--config", config, project, "--json"]
    out_path = os.path.join(workdir, "cli-build.json")
    with open(out_path, "wb") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE)
        first, fetched, lines = None, None, []
        try:
            for line in p.stderr:
                if first is None and b"[fetch]" in line:
                    first = time.perf_counter() - t0
                if fetched is None and b"[fetch] mirror" in line:
                    fetched = time.perf_counter() - t0
                lines.append(line)
            p.wait()
        finally:
            if p.poll() is None:
                p.terminate()
                p.wait()
        total = time.perf_counter() - t0
    err = b"".join(lines).decode(errors="replace")
    with open(out_path) as f:
        text = f.read()
    if p.returncode != 0:
        die(f"{' '.join(map(shlex.quote, argv))} exited {p.returncode}\n{err[-3000:]}")
    record = parse_json_output(text, " ".join(argv))
    if record.get("status") != "succeeded":
        die(f"{' '.join(argv)}: {record.get('status')}: {record.get('error')}\n{err[-3000:]}")
    if first is None or fetched is None:
        die(f"{' '.join(argv)} wrote no [fetch] line, or no [fetch] mirror line, on stderr:\n{err[-3000:]}")
    return first, fetched, total


def cmd_cli(gobay_bin, workdir, runs):
    """`gobay build tiny` from spawn to its first step's log line, at many projects and at few."""
    runs = int(runs)
    configs = load_manifest(workdir)["configs"]
    sides = {f"{configs[n]['projects']} projects": configs[n]["path"] for n in ("build-big", "build-small")}
    names = list(sides)
    log("cli warm-up: two builds with each config (the first compiles the standard library)")
    for name in names:
        for _ in range(2):
            first, fetched, total = first_step(gobay_bin, sides[name], "tiny", workdir)
            log(f"cli warm-up {name}: [fetch] after {ms(first)} ms, fetched after {ms(fetched)} ms, exit after "
                f"{ms(total)} ms")
    firsts = {n: [] for n in names}
    fetcheds = {n: [] for n in names}
    totals = {n: [] for n in names}
    for i in range(runs):
        for name in names[i % 2:] + names[:i % 2]:
            first, fetched, total = first_step(gobay_bin, sides[name], "tiny", workdir)
            firsts[name].append(first)
            fetcheds[name].append(fetched)
            totals[name].append(total)
    print(f"scale: cli: `gobay build tiny --json` (warm rebuild, unchanged commit), spawn to the first \"[fetch]\" "
          f"line on stderr (the mirror's fetch starts; when the repository's branch has not moved there is "
          f"none, and it is the first step's line), {runs} runs per config, alternating")
    for name in names:
        f = firsts[name]
        print(f"scale: cli: {name:>14}: median {statistics.median(f) * 1000:.1f} ms (min {min(f) * 1000:.1f}, max "
              f"{max(f) * 1000:.1f}); fetched (the \"[fetch] mirror\" line) median "
              f"{statistics.median(fetcheds[name]) * 1000:.1f} ms; the whole build median "
              f"{ms(statistics.median(totals[name]))} ms")
    big, small = (statistics.median(firsts[n]) * 1000 for n in names)
    goal(f"cli: `gobay build` to its first step <= 30 ms at {names[0]}", big <= 30,
         f"{big:.1f} ms; {names[1]} {small:.1f} ms, {big / small:.2f}x")


# --- part 5: rebuild --------------------------------------------------------------------------


def cmd_rebuild(gobay_bin, workdir, runs, size_mb):
    """A warm rebuild of an unchanged commit: `gobay build P` (at many projects and at few) next to
    raw `go build -o` to the same path in a persistent checkout, for three projects."""
    runs, size_mb = int(runs), int(size_mb)
    configs = load_manifest(workdir)["configs"]
    big, small = configs["build-big"], configs["build-small"]
    os.environ["GOBAY_CONFIG"] = big["path"]
    gobay = Gobay(gobay_bin)
    info = gobay.env_info(BUILD_ENV)
    flags = shlex.split(os.environ.get("BENCH_GO_FLAGS", "-trimpath"))
    log(f"go {info.get('go_version', '?')} at {info['goroot']}; GOCACHE {info['env'].get('GOCACHE', '?')}; "
        f"raw go flags {' '.join(flags)}")
    side_big, side_small = f"gobay {big['projects']} projects", f"gobay {small['projects']} projects"
    names = [side_big, side_small, "raw go"]
    for project in ("tiny", "files200", "blob"):
        src = os.path.join(workdir, "repos", project)
        raw = RawGo(info, os.path.join(workdir, "raw", project), os.path.join(workdir, "raw-out", project, project),
                    flags)
        os.makedirs(os.path.dirname(raw.out), exist_ok=True)
        log(f"rebuild {project}: warming up (the first build compiles it)")
        for _ in range(2):
            t0 = time.perf_counter()
            record = gobay.build_json(project)
            if record.get("status") != "succeeded":
                die(f"gobay build {project}: {record.get('status')}: {record.get('error')}")
            log(f"rebuild {project}: gobay build #{record['id']} in {ms(time.perf_counter() - t0)} ms")
        binary = next((a for a in record.get("artifacts") or [] if a.get("name") == project), None)
        if not binary:
            die(f"gobay build {project} --json: no artifact {project} in {record.get('artifacts')!r}")
        size = binary.get("size", 0)
        if project == "blob" and size < size_mb * 1e6:
            die(f"blob's binary is {size} bytes, expected at least {size_mb} MB")
        checkout_at(src, raw.checkout, record["commit"])
        for _ in range(2):
            timed(raw.argv(), env=raw.env, cwd=raw.checkout)  # the same -o path every time: go skips the link
        sides = {side_big: lambda: timed([gobay_bin, "build", "--config", big["path"], project]),
                 side_small: lambda: timed([gobay_bin, "build", "--config", small["path"], project]),
                 "raw go": lambda: timed(raw.argv(), env=raw.env, cwd=raw.checkout)}
        samples = {n: [] for n in names}
        for i in range(runs):
            for name in names[i % 3:] + names[:i % 3]:
                samples[name].append(sides[name]())
        med = {n: statistics.median(v) for n, v in samples.items()}
        delta = med[side_big] - med["raw go"]
        print(f"scale: rebuild: {project} ({size / 1e6:.1f} MB binary), unchanged commit, {runs} runs each, rotating: "
              + ", ".join(f"{n} median {ms(med[n])} ms" for n in names))
        goal(f"rebuild {project}: {side_big} <= raw go + 30 ms", delta <= 0.030,
             f"{ms(med[side_big])} ms vs {ms(med['raw go'])} ms, {ms(delta):+d} ms, {med[side_big] / med['raw go']:.2f}x; "
             f"{side_small} {ms(med[side_small] - med['raw go']):+d} ms")


# --- part 6: throughput -----------------------------------------------------------------------


def raw_job(raw, commit):
    """Checks out commit in raw's persistent checkout (fetching only when it lacks it, as gobay's
    mirror does) and builds it to the same path; returns an error text or None."""
    def call(argv, **kw):
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, **kw)
    if call(["git", "-C", raw.checkout, "cat-file", "-e", f"{commit}^{{commit}}"]).returncode != 0:
        p = call(["git", "-C", raw.checkout, "fetch", "-q", "origin"])
        if p.returncode != 0:
            return f"git fetch in {raw.checkout}: {p.stderr[-2000:]}"
    p = call(["git", "-C", raw.checkout, "checkout", "-q", "--detach", commit])
    if p.returncode != 0:
        return f"git checkout {commit} in {raw.checkout}: {p.stderr[-2000:]}"
    p = call(raw.argv(), env=raw.env, cwd=raw.checkout)
    if p.returncode != 0:
        return f"{' '.join(raw.argv())} in {raw.checkout} at {commit}: {p.stderr[-2000:]}"
    return None


def raw_round(raws, jobs, width=2):
    """Runs jobs [(project, commit)] `width` at a time, one per project at once, each worker taking
    the first waiting job of a project not building (as gobay's scheduler does); returns seconds."""
    pending, busy, errors = list(jobs), set(), []
    cond = threading.Condition()

    def worker():
        while True:
            with cond:
                while True:
                    if errors or not pending:
                        return
                    job = next((j for j in pending if j[0] not in busy), None)
                    if job:
                        pending.remove(job)
                        busy.add(job[0])
                        break
                    cond.wait()
            error = raw_job(raws[job[0]], job[1])
            with cond:
                busy.discard(job[0])
                if error:
                    errors.append(error)
                cond.notify_all()

    t0 = time.perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(width)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        die(f"raw go build failed: {errors[0]}")
    return time.perf_counter() - t0


def overlap(records):
    """The most builds that ran at once, from their started_at and finished_at."""
    events = sorted([(rfc3339_epoch(r["started_at"]), 1) for r in records]
                    + [(rfc3339_epoch(r["finished_at"]), -1) for r in records], key=lambda e: (e[0], e[1]))
    peak = now = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def gobay_round(server, fixture, repos, jobs, timeout=900):
    """Pushes jobs [(project, commit)] to the server (a GitLab push each, one build each) and waits
    until every build ended; dies unless all succeeded at their commit. Returns (seconds from the
    first push to the last finished_at, the records)."""
    client = server.client
    t0 = time.time()
    ids = []
    for project, commit in jobs:
        body = gitlab_push_body(fixture, repos[project], "main", commit)
        answer, _ = expect_202(f"push of {commit[:12]} to {project}", *client.push(body, str(uuid.uuid4())))
        queued = answer.get("queued") or []
        if [(q.get("project"), q.get("commit")) for q in queued] != [(project, commit)]:
            die(f"push of {commit} to {project}: expected one build of it, got {answer!r}")
        ids.append(queued[0]["id"])
    while True:
        depth, running, _ = queue_state(client)
        if depth == 0 and running == 0:
            # The gauges can lag a status change by a moment: the records decide.
            records = [client.json("GET", f"/api/v1/builds/{i}", auth=True) for i in ids]
            if all(r.get("status") not in ("queued", "running") for r in records):
                break
        if time.time() - t0 > timeout:
            die(f"after {timeout} s, {depth} builds still queued and {running} running")
        server.check_alive()
        # The rounds are timed by finished_at, not by when this notices: a look at /metrics every
        # half second is enough, and costs the server it measures little (every 0.1 s it was a
        # request per build).
        time.sleep(0.5)
    bad = [f"#{r.get('id')} {r.get('project')} {r.get('status')}: {r.get('error')}" for r, (_, c) in zip(records, jobs)
           if r.get("status") != "succeeded" or r.get("commit") != c]
    if bad:
        die(f"builds that did not succeed at their commit: {bad[:5]}")
    return max(rfc3339_epoch(r["finished_at"]) for r in records) - t0, records


def cmd_throughput(gobay_bin, workdir, fixture, builds, rounds, spec):
    """K trivial builds (distinct commits, four projects) through the server with max_builds 2,
    next to raw `go build` of the same changes two at a time."""
    builds, rounds = int(builds), int(rounds)
    manifest = load_manifest(workdir)
    server = Server(spec, manifest)
    os.environ["GOBAY_CONFIG"] = server.config["path"]
    wait_healthy(server.client)
    info = Gobay(gobay_bin).env_info(BUILD_ENV)
    flags = shlex.split(os.environ.get("BENCH_GO_FLAGS", "-trimpath"))
    repos = {p: os.path.join(workdir, "repos", p) for p in THROUGHPUT_PROJECTS}
    raws = {p: RawGo(info, os.path.join(workdir, "raw", p), os.path.join(workdir, "raw-out", p, p), flags)
            for p in THROUGHPUT_PROJECTS}

    log(f"throughput warm-up: one server build and one raw build of each of {len(repos)} projects")
    heads = [(p, run(["git", "-C", repos[p], "rev-parse", "HEAD"]).strip()) for p in THROUGHPUT_PROJECTS]
    elapsed, _ = gobay_round(server, fixture, repos, heads)
    log(f"throughput warm-up: {len(heads)} server builds in {elapsed:.2f} s")
    for p, commit in heads:
        os.makedirs(os.path.dirname(raws[p].out), exist_ok=True)
        checkout_at(repos[p], raws[p].checkout, commit)
    raw_round(raws, heads)

    totals = {"gobay": 0.0, "raw": 0.0}
    peaks = []
    server_cpu = 0.0  # the server's own CPU (its threads, not the steps it runs) in gobay's rounds
    cpu = {"gobay": 0.0, "raw": 0.0}  # all CPU: the server and what it ran; raw's git and go
    for r in range(rounds):
        for side in ("gobay", "raw") if r % 2 == 0 else ("raw", "gobay"):
            # A new constant per build and per side (same length): every build compiles and links,
            # and neither side finds the other's packages in the shared GOCACHE.
            jobs = []
            for i in range(builds):
                project = THROUGHPUT_PROJECTS[i % len(THROUGHPUT_PROJECTS)]
                jobs.append((project, commit_stamp(repos[project], f"{side[0]}{r:02d}-{i:05d}")))
            if side == "gobay":
                cpu0, all0 = server.cpu(), server.cpu(children=True)
                elapsed, records = gobay_round(server, fixture, repos, jobs)
                server_cpu += server.cpu() - cpu0
                cpu["gobay"] += server.cpu(children=True) - all0
                peaks.append(overlap(records))
            else:
                t0 = os.times()
                elapsed = raw_round(raws, jobs)
                t1 = os.times()
                cpu["raw"] += (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)
            totals[side] += elapsed
            log(f"throughput round {r + 1}/{rounds}: {side} {builds} builds in {elapsed:.2f} s "
                f"({builds / elapsed:.2f} builds/s)")
    n = builds * rounds
    g, w = n / totals["gobay"], n / totals["raw"]
    print(f"scale: throughput: {builds} builds per round over {len(repos)} tiny module projects (each a new commit), "
          f"{rounds} rounds; gobay serve with max_builds 2 at {server.projects} projects, first push to last "
          f"finished_at; raw go build -o the same path, 2 at a time, one per project at once")
    print(f"scale: throughput: gobay {totals['gobay']:.2f} s ({g:.2f} builds/s, at most {max(peaks)} at once), "
          f"raw go {totals['raw']:.2f} s ({w:.2f} builds/s)")
    print(f"scale: throughput: CPU per build: gobay {1000 * cpu['gobay'] / n:.1f} ms (the server's own "
          f"{1000 * server_cpu / n:.1f} ms), raw {1000 * cpu['raw'] / n:.1f} ms")
    goal("throughput: gobay >= 0.9x raw go", g / w >= 0.9, f"{g:.2f} vs {w:.2f} builds/s, {g / w:.2f}x")


# --- part 7: dashboard ------------------------------------------------------------------------


def cmd_dashboard(workdir, spec, ended, requests, warmup):
    """p99 and size of the dashboard's pages (issue #13: the overview under 30 ms, every page under 100 KB)."""
    ended, requests, warmup = map(int, (ended, requests, warmup))
    server = Server(spec, load_manifest(workdir))
    client = server.client
    wait_healthy(client)
    newest = client.json("GET", "/api/v1/builds?limit=1", auth=True)
    if len(newest) != 1:
        die(f"/api/v1/builds?limit=1: expected one build, got {newest!r:.300}")
    project = f"svc-{server.projects // 2:04d}"
    pages = ["/", "/projects", f"/projects/{project}", f"/builds/{newest[0]['id']}", "/deployments"]
    sizes = {}
    for path in pages:
        status, headers, data = client.send("GET", path, auth=True)
        if status != 200 or b"<h1>" not in data or b"</html>" not in data:
            die(f"GET {path}: expected a page, got {status}: {data[:300]!r}")
        sizes[path] = len(data)
    samples = timed_gets(client, pages, requests, warmup)
    server.check_alive()
    print(f"scale: dashboard: {server.projects} projects, {ended} ended builds; {requests} requests per page after "
          f"{warmup} warm-up, one at a time, one keep-alive connection, with an API token")
    for path in pages:
        s = samples[path]
        print(f"scale: dashboard: GET {path:<28} p50 {percentile(s, 50):6.2f} ms  p99 {percentile(s, 99):6.2f} ms  "
              f"max {max(s):6.2f} ms  {sizes[path] / 1000:.1f} KB")
    p99 = percentile(samples["/"], 99)
    goal(f"dashboard: the overview's p99 < 30 ms at {server.projects} projects and {ended} builds", p99 < 30,
         f"{p99:.2f} ms")
    biggest = max(pages, key=lambda p: sizes[p])
    goal("dashboard: every page under 100 KB", sizes[biggest] < 100_000, f"largest {biggest} {sizes[biggest]} bytes")


COMMANDS = {"dashboard": cmd_dashboard, "configs": cmd_configs, "fill-queue": cmd_fill_queue, "repos": cmd_repos, "webhooks": cmd_webhooks,
            "scheduler": cmd_scheduler, "reads": cmd_reads, "cli": cmd_cli, "rebuild": cmd_rebuild,
            "throughput": cmd_throughput}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        die(f"usage: scalelib.py {{{'|'.join(COMMANDS)}}} ARGS...")
    COMMANDS[sys.argv[1]](*sys.argv[2:])
