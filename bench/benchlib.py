"""Helpers for bench/overhead, bench/concurrent, bench/webhooks and bench/executors: project generation,
gobay JSON, timing, and driving a `gobay serve` with wrk.

Every subprocess is an argv list; nothing here goes through a shell.
Run as `python3 bench/benchlib.py COMMAND ARGS...`; the bash scripts are the entry points.
"""

import http.client
import json
import math
import hashlib
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
import uuid

GIT_IDENTITY = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
FUNCS_PER_FILE = 8


def log(msg):
    print(f"{os.environ.get('BENCH_NAME', 'bench')}: {msg}", file=sys.stderr, flush=True)


def die(msg):
    log(f"error: {msg}")
    sys.exit(1)


def run(argv, **kw):
    """Runs argv, dying with its output when it fails; returns stdout as text."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        die(f"{' '.join(map(shlex.quote, argv))} exited {p.returncode}\n{p.stdout[-2000:]}{p.stderr[-4000:]}")
    return p.stdout


def parse_json_output(text, what):
    """gobay --json output; tolerates log lines before the JSON document."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    for start in (i for i, c in enumerate(text) if c in "{[" and (i == 0 or text[i - 1] == "\n")):
        try:
            return json.loads(text[start:])
        except json.JSONDecodeError:
            continue
    die(f"{what} did not print JSON:\n{text[-2000:]}")


# --- generated Go projects ----------------------------------------------------


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def write_stamp(root, value):
    """The constant every package depends on: changing it recompiles the whole project."""
    write(
        root,
        "internal/base/base.go",
        "package base\n\n"
        "// Stamp changes between benchmark rounds so builds are not cache hits.\n"
        f"const Stamp = {json.dumps(value)}\n\n"
        "// Mix folds two numbers; it uses Stamp so the constant reaches every package.\n"
        "func Mix(a, b int) int { return a*31 + b + len(Stamp) }\n",
    )


def filler_file(module, pkg, f):
    body = [f"package {pkg}\n", f'import "{module}/internal/base"\n']
    body.append(f"// Rec{f} is generated filler that gives the compiler real work.")
    body.append(f"type Rec{f} struct {{\n\tID   int\n\tName string\n\tVals []int\n}}\n")
    body.append(
        f"func (r *Rec{f}) Sum() int {{\n\ts := r.ID\n\tfor _, v := range r.Vals {{\n"
        "\t\ts = base.Mix(s, v)\n\t}\n\treturn s + len(r.Name)\n}\n"
    )
    names = []
    for k in range(FUNCS_PER_FILE):
        name = f"Calc{f}x{k}"
        names.append(name)
        body.append(
            f"func {name}(n int) int {{\n"
            f'\tr := &Rec{f}{{ID: n, Name: "{pkg}.{name}"}}\n'
            f"\tfor i := 0; i < n%{k + 3}+2; i++ {{\n"
            f"\t\tswitch (i + {k}) % 4 {{\n"
            f"\t\tcase 0:\n\t\t\tr.Vals = append(r.Vals, i*{k + 1})\n"
            f"\t\tcase 1:\n\t\t\tr.Vals = append(r.Vals, base.Mix(i, {f}))\n"
            f'\t\tcase 2:\n\t\t\tm := map[string]int{{"a": i, "b": {k}}}\n\t\t\tr.Vals = append(r.Vals, m["a"]+m["b"])\n'
            "\t\tdefault:\n\t\t\tr.Name += string(rune('a' + i%26))\n"
            "\t\t}\n\t}\n"
            "\treturn r.Sum()\n}\n"
        )
    return "\n".join(body), names


def cmd_gen(root, module, go_directive, npkg, nfiles, branch="master"):
    """A git repo (branch `branch`) with a Go module program that prints runtime.Version()."""
    npkg, nfiles = int(npkg), int(nfiles)
    run(["git", "init", "-q", "-b", branch, root])
    write(root, "go.mod", f"module {module}\n\ngo {go_directive}\n")
    for p in range(npkg):
        pkg = f"pkg{p:03d}"
        runs = []
        for f in range(nfiles):
            text, names = filler_file(module, pkg, f)
            write(root, f"{pkg}/f{f:03d}.go", text)
            runs += names
        calls = "\n".join(f"\ttotal += {name}(n)" for name in runs)
        write(
            root,
            f"{pkg}/run.go",
            f"package {pkg}\n\n// Run calls every generated function once.\n"
            f"func Run(n int) int {{\n\ttotal := 0\n{calls}\n\treturn total\n}}\n",
        )
    imports = "".join(f'\t"{module}/pkg{p:03d}"\n' for p in range(npkg))
    calls = "".join(f"\ttotal += pkg{p:03d}.Run(3)\n" for p in range(npkg))
    write(
        root,
        "main.go",
        f'package main\n\nimport (\n\t"fmt"\n\t"runtime"\n\n\t"{module}/internal/base"\n{imports})\n\n'
        f"func main() {{\n\ttotal := base.Mix(1, 2)\n{calls}"
        "\tfmt.Println(runtime.Version(), base.Stamp, total)\n}\n",
    )
    commit_stamp(root, "initial")


def commit_stamp(root, value):
    """Commits a new Stamp and returns the commit id."""
    write_stamp(root, value)
    run(["git", "-C", root, "add", "-A"])
    run(["git", *GIT_IDENTITY, "-C", root, "commit", "-q", "--allow-empty", "-m", f"stamp {value}"])
    return run(["git", "-C", root, "rev-parse", "HEAD"]).strip()


def checkout_at(src, dest, commit):
    """A plain clone of src at commit, for the raw `go build` side."""
    if not os.path.isdir(os.path.join(dest, ".git")):
        run(["git", "clone", "-q", src, dest])
    run(["git", "-C", dest, "fetch", "-q", "origin"])
    run(["git", "-C", dest, "checkout", "-q", "--detach", commit])


# --- gobay and raw go ----------------------------------------------------------


class Gobay:
    def __init__(self, binary):
        self.binary = binary  # GOBAY_CONFIG in our environment names the config

    def build_argv(self, project):
        return [self.binary, "build", project]

    def build_json(self, project):
        record = parse_json_output(run([self.binary, "build", project, "--json"]), f"gobay build {project} --json")
        if not isinstance(record, dict) or "commit" not in record:
            die(f"gobay build {project} --json: no commit in {record!r}")
        return record

    def env_info(self, env):
        info = parse_json_output(run([self.binary, "env", "info", env, "--json"]), f"gobay env info {env} --json")
        if not isinstance(info, dict) or not isinstance(info.get("env"), dict) or not info.get("goroot"):
            die(f"gobay env info {env} --json: expected goroot and an env object, got {info!r}")
        return info


class RawGo:
    """`go build` with exactly the variables gobay gives its builds (env -i semantics)."""

    def __init__(self, info, checkout, out, flags):
        self.env = {str(k): str(v) for k, v in info["env"].items()}
        self.env["GO111MODULE"] = "on"
        self.go = os.path.join(info["goroot"], "bin", "go")
        self.checkout = checkout
        self.out = out
        self.flags = flags

    def argv(self):
        return [self.go, "build", *self.flags, "-o", self.out, "."]

    def prepare(self):
        # go build skips the link when -o already names an up-to-date binary; gobay writes a new artifact.
        try:
            os.remove(self.out)
        except FileNotFoundError:
            pass


def timed(argv, env=None, cwd=None):
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        die(f"{' '.join(map(shlex.quote, argv))} exited {p.returncode}\n{p.stderr[-4000:]}")
    return elapsed


def time_raw(raw):
    raw.prepare()
    return timed(raw.argv(), env=raw.env, cwd=raw.checkout)


def ms(seconds):
    return round(seconds * 1000)


# --- bench/overhead --------------------------------------------------------------


def cmd_overhead(gobay_bin, project, env_name, src, workdir, runs, change):
    runs, change = int(runs), change == "1"
    flags = shlex.split(os.environ.get("BENCH_GO_FLAGS", "-trimpath"))
    gobay = Gobay(gobay_bin)
    info = gobay.env_info(env_name)
    raw = RawGo(info, os.path.join(workdir, "raw"), os.path.join(workdir, "out", "bench-svc"), flags)
    os.makedirs(os.path.dirname(raw.out), exist_ok=True)
    log(f"go {info.get('go_version', '?')} at {info['goroot']}; GOCACHE {raw.env.get('GOCACHE', '?')}")

    log("warming up (the first gobay build compiles the standard library)")
    for _ in range(2):
        record = gobay.build_json(project)
        checkout_at(src, raw.checkout, record["commit"])
        time_raw(raw)

    samples = {"gobay": [], "go": []}
    for i in range(runs):
        order = ("gobay", "go") if i % 2 == 0 else ("go", "gobay")
        for side in order:
            if side == "gobay":
                if change:
                    commit_stamp(src, f"gobay-{i}")
                samples["gobay"].append(timed(gobay.build_argv(project)))
            else:
                if change:
                    checkout_at(src, raw.checkout, commit_stamp(src, f"go-{i}"))
                samples["go"].append(time_raw(raw))
        log(f"run {i + 1}/{runs}: gobay {ms(samples['gobay'][-1])} ms, go {ms(samples['go'][-1])} ms")

    g, r = statistics.median(samples["gobay"]), statistics.median(samples["go"])
    kind = "each build recompiles (changed constant)" if change else "unchanged source, warm cache"
    print(f"runs: {runs} each, alternating; {kind}; go flags: {' '.join(flags)}")
    print(f"gobay: median {ms(g)} ms, min {ms(min(samples['gobay']))} ms, max {ms(max(samples['gobay']))} ms")
    print(f"go:    median {ms(r)} ms, min {ms(min(samples['go']))} ms, max {ms(max(samples['go']))} ms")
    print(f"overhead: gobay median {ms(g)} ms, go median {ms(r)} ms, ratio {g / r:.2f}x, {ms(g - r):+d} ms")


# --- bench/concurrent ------------------------------------------------------------


def cmd_concurrent(gobay_bin, workdir, rounds, *specs):
    """specs: PROJECT:ENV:SRC triples."""
    rounds = int(rounds)
    flags = shlex.split(os.environ.get("BENCH_GO_FLAGS", "-trimpath"))
    gobay = Gobay(gobay_bin)
    projects = []
    infos = {}
    for spec in specs:
        name, env_name, src = spec.split(":", 2)
        if env_name not in infos:
            infos[env_name] = gobay.env_info(env_name)
            log(f"environment {env_name}: go {infos[env_name].get('go_version', '?')}")
        raw = RawGo(infos[env_name], os.path.join(workdir, "raw", name), os.path.join(workdir, "out", name), flags)
        os.makedirs(os.path.dirname(raw.out), exist_ok=True)
        projects.append((name, src, raw))

    log("warming up: one gobay build and one go build of each project")
    for name, src, raw in projects:
        record = gobay.build_json(name)
        checkout_at(src, raw.checkout, record["commit"])
        time_raw(raw)

    def gobay_round(r):
        for name, src, _ in projects:
            commit_stamp(src, f"gobay-{r}")
        t0 = time.perf_counter()
        procs = [
            (name, subprocess.Popen(gobay.build_argv(name), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True))
            for name, _, _ in projects
        ]
        failed = []
        for name, proc in procs:
            _, err = proc.communicate()
            if proc.returncode != 0:
                failed.append(f"gobay build {name} exited {proc.returncode}\n{err[-3000:]}")
        elapsed = time.perf_counter() - t0
        if failed:
            die("\n".join(failed))
        return elapsed

    def raw_round(r):
        for _, src, raw in projects:
            checkout_at(src, raw.checkout, commit_stamp(src, f"go-{r}"))
        return sum(time_raw(raw) for _, _, raw in projects)

    samples = {"gobay": [], "go": []}
    for r in range(rounds):
        order = ("gobay", "go") if r % 2 == 0 else ("go", "gobay")
        for side in order:
            samples[side].append(gobay_round(r) if side == "gobay" else raw_round(r))
        log(f"round {r + 1}/{rounds}: gobay x{len(projects)} at once {ms(samples['gobay'][-1])} ms, "
            f"go one after another {ms(samples['go'][-1])} ms")

    g, s = statistics.median(samples["gobay"]), statistics.median(samples["go"])
    print(f"rounds: {rounds}, {len(projects)} projects, every build recompiles (changed constant)")
    print(f"concurrent: gobay {len(projects)} builds at once median {ms(g)} ms, "
          f"raw go one after another median {ms(s)} ms, ratio {g / s:.2f}x, {ms(g - s):+d} ms")

# --- bench/executors -------------------------------------------------------------


def gobay_build_json(gobay_bin, project, env_name):
    """`gobay build PROJECT --env ENV --json`; dies unless the build ran in ENV."""
    argv = [gobay_bin, "build", project, "--env", env_name, "--json"]
    record = parse_json_output(run(argv), " ".join(argv))
    if not isinstance(record, dict) or "commit" not in record:
        die(f"{' '.join(argv)}: no commit in {record!r}")
    if record.get("environment") != env_name:
        die(f"{' '.join(argv)}: built in environment {record.get('environment')!r}")
    return record


def isolated_variables(info):
    """The variables gobay's docker executor gives a module-mode go process (Environment.isolatedVariables):
    the environment's own, with the environment at /go and the toolchain at /usr/local/go."""
    env = {str(k): str(v) for k, v in info["env"].items()}
    env.update({
        "GOROOT": "/usr/local/go", "GOPATH": "/go/gopath", "GOMODCACHE": "/go/gomodcache", "GOCACHE": "/go/gocache",
        "HOME": "/go/home", "GOENV": "off", "GOFLAGS": "", "TMPDIR": "/tmp", "GO111MODULE": "on",
        "PATH": "/usr/local/go/bin:/go/gopath/bin:/usr/local/bin:/usr/bin:/bin",
    })
    return env


def remove_file(path):
    """go build skips the link when -o already names an up-to-date binary; every side writes a new one."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def cmd_executors(gobay_bin, project, src, workdir, data_dir, runs, image, goroot, host_env, sandbox_env, docker_env,
                  run_label):
    """A warm rebuild of an unchanged project through each executor, next to bare `docker exec`,
    a `docker run --rm` per build (GitLab Runner's way) and raw `go build`, alternating; prints the summary."""
    runs = int(runs)
    flags = shlex.split(os.environ.get("BENCH_GO_FLAGS", "-trimpath"))
    gobay = Gobay(gobay_bin)
    host_info, docker_info = gobay.env_info(host_env), gobay.env_info(docker_env)
    # gobay names containers gobay-<8 hex of sha256(real data dir path)>-<env>.
    container = f"gobay-{hashlib.sha256(os.path.realpath(data_dir).encode()).hexdigest()[:8]}-{docker_env}"
    log(f"go {host_info.get('go_version', '?')} at {host_info['goroot']}; {docker_env}: container {container}, "
        f"environment dir {docker_info['dir']}")

    # Raw go on the host: the host environment's variables and cache, in a plain clone.
    raw = RawGo(host_info, os.path.join(workdir, "raw"), os.path.join(workdir, "out", "raw", project), flags)
    os.makedirs(os.path.dirname(raw.out), exist_ok=True)
    # Bare docker exec: gobay's own checkout (the environment, checkouts included, is mounted at /go),
    # the docker environment's variables, -i as gobay passes it; the binary goes to a dir in the
    # environment's out dir.
    exec_out_host = os.path.join(docker_info["dir"], "out", "bench-executors", project)
    os.makedirs(os.path.dirname(exec_out_host), exist_ok=True)
    exec_out = "/go/out/bench-executors/" + project
    exec_argv = ["docker", "exec", "-i", "-w", "/go/work/" + project]
    for key, value in sorted(isolated_variables(docker_info).items()):
        exec_argv += ["-e", f"{key}={value}"]
    exec_argv += [container, "go", "build", *flags, "-o", exec_out, "."]
    # docker run --rm per build: a plain clone of the same commit at /src (a copy of gobay's checkout
    # would borrow its objects from the mirror, which this container does not mount), the docker
    # environment's dir at /go for the same warm caches, the toolchain at /usr/local/go.
    run_src = os.path.join(workdir, "run-src")
    run_argv = ["docker", "run", "--rm", "--label", run_label,
                "-v", f"{docker_info['dir']}:/go", "-v", f"{goroot}:/usr/local/go:ro", "-v", f"{run_src}:/src",
                "-w", "/src"]
    for var in ("GOROOT=/usr/local/go", "GOPATH=/go/gopath", "GOCACHE=/go/gocache", "GOMODCACHE=/go/gomodcache",
                "HOME=/go/home", "GOTOOLCHAIN=local", "GO111MODULE=on", "PATH=/usr/local/go/bin:/usr/bin:/bin"):
        run_argv += ["-e", var]
    run_argv += [image, "go", "build", *flags, "-o", "/src/out", "."]
    log(f"docker exec: {' '.join(map(shlex.quote, exec_argv))}")
    log(f"docker run:  {' '.join(map(shlex.quote, run_argv))}")

    def gobay_side(env_name):
        return lambda: timed([gobay_bin, "build", project, "--env", env_name])

    def exec_side():
        remove_file(exec_out_host)
        return timed(exec_argv)

    def run_side():
        remove_file(os.path.join(run_src, "out"))
        return timed(run_argv)

    sides = {
        "host": gobay_side(host_env),
        "sandbox": gobay_side(sandbox_env),
        "docker": gobay_side(docker_env),
        "docker exec": exec_side,
        "docker run": run_side,
        "raw go": lambda: time_raw(raw),
    }

    log("warming up: two builds of each variant (the first in each environment compiles the standard library)")
    commit = None
    for env_name in (host_env, sandbox_env, docker_env):
        for i in range(2):
            t0 = time.perf_counter()
            record = gobay_build_json(gobay_bin, project, env_name)
            log(f"warm-up: gobay build --env {env_name} #{record.get('id')} {record.get('status')} "
                f"in {ms(time.perf_counter() - t0)} ms")
            if commit is not None and record["commit"] != commit:
                die(f"gobay built {record['commit']} in {env_name}, {commit} before")
            commit = record["commit"]
    checkout_at(src, raw.checkout, commit)
    checkout_at(src, run_src, commit)
    state = run(["docker", "inspect", "--type", "container", "--format", "{{.State.Status}}", container]).strip()
    if state != "running":
        die(f"container {container} is {state!r} after the {docker_env} builds, expected running")
    for name in ("docker exec", "docker run", "raw go"):
        for _ in range(2):
            log(f"warm-up: {name} {ms(sides[name]())} ms")

    names = list(sides)
    samples = {name: [] for name in names}
    for i in range(runs):
        # Each round starts with the next variant, so none always runs first or after the same one.
        order = names[i % len(names):] + names[:i % len(names)]
        for name in order:
            samples[name].append(sides[name]())
        log(f"round {i + 1}/{runs}: " + ", ".join(f"{n} {ms(samples[n][-1])}" for n in names) + " (ms)")

    med = {name: statistics.median(samples[name]) for name in names}
    host = med["host"]

    def extra(name):
        return ms(med[name] - host)

    def verdict(ok):
        return "met" if ok else "NOT met"

    print(f"runs: {runs} rounds, the {len(names)} variants alternating; unchanged source, warm caches; "
          f"go flags: {' '.join(flags)}; commit {commit[:12]}")
    for name in names:
        s = samples[name]
        print(f"executors: {name:<11} median {ms(med[name])} ms, min {ms(min(s))} ms, max {ms(max(s))} ms")
    run_extra = extra("docker run")
    far = {n: extra(n) <= run_extra / 2 for n in ("sandbox", "docker")}
    docker_vs_exec = ms(med["docker"] - med["docker exec"])
    notes = {
        "host": "",
        "sandbox": f"(goal <= +20 ms: {verdict(extra('sandbox') <= 20)})",
        "docker": f"(goal <= +100 ms: {verdict(extra('docker') <= 100)}; bare docker exec {ms(med['docker exec'])} ms, "
                  f"{docker_vs_exec:+d} ms, goal <= +15 ms: {verdict(docker_vs_exec <= 15)})",
        "docker run": f"(a container per build; sandbox and docker far below, at most half its extra: "
                      f"{verdict(all(far.values()))})",
        "docker exec": "(bare, no gobay)",
        "raw go": "(bare, no gobay)",
    }
    for name in names:
        extra_text = "" if name == "host" else f"{extra(name):+d} ms"
        print(f"executors: {name:<11} median {ms(med[name]):>4} ms  {med[name] / host:4.2f}x  {extra_text:>8}  "
              f"{notes[name]}".rstrip())
    # The bare docker exec has no gobay in it; like for like, compare what each adds to its own baseline.
    exec_over_raw, gobay_over_raw = ms(med["docker exec"] - med["raw go"]), ms(host - med["raw go"])
    print(f"executors: like for like: the docker executor adds {extra('docker'):+d} ms to a host build, a bare docker "
          f"exec {exec_over_raw:+d} ms to raw go: {extra('docker') - exec_over_raw:+d} ms (the bare-exec goal above "
          f"also counts gobay's own {gobay_over_raw:+d} ms over raw go)")


# --- bench/webhooks ----------------------------------------------------------------

# wrk script: POSTs one body file as a GitLab push. Arguments after `--`: BODY_FILE TOKEN UUID DELAY_MS.
# UUID "-" sends no delivery id (each request is a new event); any other value goes out as
# X-Gitlab-Event-UUID on every request (one event redelivered). DELAY_MS > 0 waits that long on each
# connection before each request. done() prints one BENCH_RESULT line of JSON.
WRK_LUA = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Gitlab-Event"] = "Push Hook"
  wrk.headers["X-Gitlab-Token"] = args[2]
  if args[3] ~= "-" then
    wrk.headers["X-Gitlab-Event-UUID"] = args[3]
  end
  local ms = tonumber(args[4]) or 0
  if ms > 0 then
    delay = function() return ms end
  end
  non202 = 0
  statuses = {}
end

function response(status, headers, body)
  if status ~= 202 then
    non202 = non202 + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local bad, merged, parts = 0, {}, {}
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non202")
    for status, n in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  for status, n in pairs(merged) do
    table.insert(parts, string.format('"%s":%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"mean_us":%.1f,"non202":%d,"statuses":{%s},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, bad, table.concat(parts, ","),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""

WEBHOOK_SECRET = "bench-secret"  # bench/webhooks writes the same into gobay.yml
REPO_URL_KEYS = ("git_ssh_url", "git_http_url", "url", "ssh_url", "http_url", "web_url", "homepage")


def env_int(name, default):
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        die(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)


def gitlab_push_body(fixture, repo, branch, commit):
    """The GitLab push fixture aimed at a local repo: every repository URL, the ref and the commit."""
    with open(fixture) as f:
        payload = json.load(f)
    for section in ("project", "repository"):
        for key in REPO_URL_KEYS:
            if key in payload.get(section, {}):
                payload[section][key] = repo
    payload["ref"] = f"refs/heads/{branch}"
    payload["after"] = payload["checkout_sha"] = commit
    return json.dumps(payload, indent=2).encode()


class Client:
    """A keep-alive HTTP/1.1 connection to the server on 127.0.0.1."""

    def __init__(self, port, token=None):
        self.port, self.token = port, token
        self.conn = None

    def send(self, method, path, body=None, headers=None, auth=False):
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
            except (ConnectionError, http.client.HTTPException):
                # The server may close an idle keep-alive connection; retry once on a new one.
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise

    def json(self, method, path, body=None, headers=None, auth=False, expect=200):
        status, _, data = self.send(method, path, body, headers, auth)
        if status != expect:
            die(f"{method} {path}: expected {expect}, got {status}: {data[:500]!r}")
        return json.loads(data)

    def push(self, body, delivery=None):
        headers = {"Content-Type": "application/json", "X-Gitlab-Event": "Push Hook",
                   "X-Gitlab-Token": WEBHOOK_SECRET}
        if delivery:
            headers["X-Gitlab-Event-UUID"] = delivery
        return self.send("POST", "/hooks/gitlab", body, headers)


def wait_healthy(client, seconds=30):
    """Waits until the server behind `client` answers GET /healthz with 200."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if client.send("GET", "/healthz")[0] == 200:
                return
        except OSError:
            client.conn = None
        if time.monotonic() > deadline:
            die(f"GET /healthz did not answer 200 within {seconds} s")
        time.sleep(0.05)


def rss_kib(pid):
    """VmRSS of a process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    die(f"no VmRSS in /proc/{pid}/status")


def thread_cpu(pid):
    """CPU seconds (user + system) of each of a process's threads, summed by thread name."""
    tick = os.sysconf("SC_CLK_TCK")
    by_name = {}
    task = f"/proc/{pid}/task"
    for tid in os.listdir(task):
        try:
            with open(f"{task}/{tid}/stat") as f:
                stat = f.read()
        except FileNotFoundError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        by_name[name] = by_name.get(name, 0) + (int(fields[11]) + int(fields[12])) / tick
    return by_name


def cpu_delta(before, after):
    """Where the CPU went between two thread_cpu snapshots, busiest first, as text."""
    delta = {n: after.get(n, 0) - before.get(n, 0) for n in after}
    busy = sorted(((v, n) for n, v in delta.items() if v >= 0.05), reverse=True)
    return f"{sum(delta.values()):.1f} s: " + ", ".join(f"{n} {v:.1f} s" for v, n in busy)


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def metrics(client):
    """/metrics as {"name{labels}": value}."""
    status, _, data = client.send("GET", "/metrics", auth=True)
    if status != 200:
        die(f"GET /metrics answered {status}")
    values = {}
    for line in data.decode().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            values[key] = float(value)
    return values


def count_queued(client, project):
    """Queued builds of a project, counted through the API's pages of at most 500."""
    total, before = 0, None
    while True:
        path = f"/api/v1/builds?status=queued&limit=500&project={project}"
        if before is not None:
            path += f"&before={before}"
        page = client.json("GET", path, auth=True)
        if not page:
            return total
        bad = [b.get("status") for b in page if b.get("status") != "queued"]
        if bad:
            die(f"{path} listed builds that are not queued: {bad[:5]}")
        total += len(page)
        before = min(b["id"] for b in page)
        if len(page) < 500:
            return total


def expect_202(what, status, headers, data):
    if status != 202:
        die(f"{what}: expected 202, got {status}: {data[:500]!r}")
    return json.loads(data), headers


def wrk(lua, url, body_file, delivery, seconds, threads, conns, delay_ms, log_path):
    """One wrk run; returns the BENCH_RESULT dict plus req_s, p50_ms, p99_ms."""
    argv = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "5s", "-s", lua, url,
            "--", body_file, WEBHOOK_SECRET, delivery or "-", str(delay_ms)]
    out = run(argv)
    with open(log_path, "a") as f:
        f.write(f"$ {' '.join(map(shlex.quote, argv))}\n{out}\n")
    line = next((l for l in out.splitlines() if l.startswith("BENCH_RESULT ")), None)
    if line is None:
        die(f"wrk printed no BENCH_RESULT line:\n{out[-2000:]}")
    r = json.loads(line[len("BENCH_RESULT "):])
    r["req_s"] = r["requests"] / (r["duration_us"] / 1e6)
    r["p50_ms"], r["p99_ms"] = r["p50_us"] / 1000, r["p99_us"] / 1000
    r["socket_errors"] = sum(v for k, v in r["errors"].items() if k != "status")
    return r


def describe_run(r):
    extra = f"; statuses {r['statuses']}" if r["statuses"] else ""
    extra += f"; socket errors {r['errors']}" if r["socket_errors"] else ""
    return (f"throughput {r['req_s']:.0f} req/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
            f"max {r['max_us'] / 1000:.1f} ms  (non-202: {r['non202']}{extra})")


def cmd_webhooks(pid, port, repo, commit, fixture, workdir):
    """Drives a running `gobay serve` (pid, port): bodies, sanity checks, memory, wrk scenarios, summary."""
    port = int(port)
    token = os.environ.get("BENCH_TOKEN") or die("BENCH_TOKEN is not set")
    seconds = env_int("BENCH_SECONDS", 10)
    warmup = env_int("BENCH_WARMUP", 3)
    threads = env_int("BENCH_THREADS", 2)
    conns = env_int("BENCH_CONNECTIONS", 16)
    rate = env_int("BENCH_RATE", 1000)
    rate_conns = env_int("BENCH_RATE_CONNECTIONS", 40)
    nqueued = env_int("BENCH_QUEUED", 1000)
    queue_branch = os.environ.get("BENCH_QUEUE_BRANCH", "queue-branch")
    wrk_log = os.path.join(workdir, "wrk.log")
    url = f"http://127.0.0.1:{port}/hooks/gitlab"
    client = Client(port, token)

    wait_healthy(client)

    # Idle: started, answered /healthz, nothing else yet.
    time.sleep(1)
    rss = {"idle": rss_kib(pid)}
    log(f"server pid {pid} on 127.0.0.1:{port}; RSS idle {mib(rss['idle'])}")

    bodies = {}
    for name, branch in (("unbuilt", "unbuilt-branch"), ("main", "main"), ("queue", queue_branch)):
        bodies[name] = os.path.join(workdir, f"push-{name}.json")
        with open(bodies[name], "wb") as f:
            f.write(gitlab_push_body(fixture, repo, branch, commit))
    with open(os.path.join(workdir, "webhooks.lua"), "w") as f:
        f.write(WRK_LUA)
    lua = os.path.join(workdir, "webhooks.lua")

    def body(name):
        with open(bodies[name], "rb") as f:
            return f.read()

    # 1,000 waiting builds: distinct deliveries to a project that does not coalesce; the quiet period
    # keeps every one waiting.
    log(f"queueing {nqueued} builds: {nqueued} GitLab pushes to {queue_branch} with distinct X-Gitlab-Event-UUIDs")
    t0 = time.perf_counter()
    queue_body = body("queue")
    for i in range(nqueued):
        answer, _ = expect_202(f"push {i + 1} to {queue_branch}", *client.push(queue_body, str(uuid.uuid4())))
        if len(answer.get("queued", [])) != 1:
            die(f"push {i + 1} to {queue_branch} queued {answer.get('queued')!r}, expected one build: {answer!r}")
    elapsed = time.perf_counter() - t0
    queued_api = count_queued(client, "svc-queue")
    depth = metrics(client).get("gobay_queue_depth")
    log(f"{nqueued} pushes in {elapsed:.2f} s ({nqueued / elapsed:.0f} req/s, one connection); "
        f"API lists {queued_api} queued for svc-queue; /metrics gobay_queue_depth {depth:.0f}")
    if queued_api != nqueued or depth != nqueued:
        die(f"expected {nqueued} queued builds, API says {queued_api}, /metrics says {depth}")
    time.sleep(1)
    rss["queued"] = rss_kib(pid)
    log(f"RSS with {nqueued} queued builds {mib(rss['queued'])}")

    # What each scenario's body gets when sent once.
    answer, _ = expect_202("unbuilt-branch push", *client.push(body("unbuilt")))
    if answer.get("queued") or "no project builds branch unbuilt-branch" not in (answer.get("reason") or ""):
        die(f"unbuilt-branch push: expected no build and a reason, got {answer!r}")
    log(f"unbuilt-branch push answers 202: {answer['reason']}")
    answer, _ = expect_202("main push", *client.push(body("main")))
    if [q.get("project") for q in answer.get("queued", [])] != ["svc"]:
        die(f"main push: expected one build of svc, got {answer!r}")
    log(f"main push answers 202: queued #{answer['queued'][0]['id']}")
    delivery = str(uuid.uuid4())
    first, _ = expect_202("first delivery", *client.push(body("main"), delivery))
    again, headers = expect_202("redelivery", *client.push(body("main"), delivery))
    if headers.get("x-gobay-redelivery") != "true" or again != first:
        die(f"redelivery of {delivery}: expected the stored answer with X-Gobay-Redelivery, got {again!r} {headers!r}")
    log(f"a redelivery of {delivery} answers 202 with the stored answer (queued #{first['queued'][0]['id']})")

    scenarios = [
        ("unbuilt branch", "unbuilt", None),
        ("queued+coalesced", "main", None),
        ("redelivery", "main", delivery),
    ]
    results = {}
    cpu_before, load_started = thread_cpu(pid), time.monotonic()
    for label, name, dlv in scenarios:
        log(f"{label}: warm-up {warmup} s, then {seconds} s, {threads} threads, {conns} connections")
        wrk(lua, url, bodies[name], dlv, warmup, threads, conns, 0, wrk_log)
        results[label] = wrk(lua, url, bodies[name], dlv, seconds, threads, conns, 0, wrk_log)
        log(f"{label}: {describe_run(results[label])}")

    # About `rate` req/s: wrk has no fixed-rate mode (Debian has no wrk2), so each of rate_conns
    # connections waits a delay before each request. Calibrate the delay on short runs: the rate one
    # connection reaches is 1000 / (delay + time per request) a second.
    per_request_ms = 1.0
    delay_ms = max(1, math.floor(rate_conns * 1000 / rate - per_request_ms))
    tried = {}
    for _ in range(4):
        r = wrk(lua, url, bodies["main"], None, warmup, threads, rate_conns, delay_ms, wrk_log)
        tried[delay_ms] = r["req_s"]
        log(f"calibrating ~{rate} req/s: {rate_conns} connections, delay {delay_ms} ms -> {r['req_s']:.0f} req/s")
        per_request_ms = rate_conns * 1000 / r["req_s"] - delay_ms
        nxt = max(1, math.floor(rate_conns * 1000 / rate - per_request_ms))
        if nxt in tried:
            break
        delay_ms = nxt
    # The longest delay that still reached the rate, else the shortest tried (the most the server gave).
    reached = [d for d, rs in tried.items() if rs >= rate]
    delay_ms = max(reached) if reached else min(tried)
    rated = wrk(lua, url, bodies["main"], None, seconds, threads, rate_conns, delay_ms, wrk_log)
    log(f"~{rate} req/s ({rate_conns} connections, {delay_ms} ms delay): {describe_run(rated)}")
    cpu_load = cpu_delta(cpu_before, thread_cpu(pid))
    log(f"server CPU during the {time.monotonic() - load_started:.0f} s of load {cpu_load}")

    # The queue after the load: one waiting svc build (coalesced), the svc-queue builds untouched, nothing ran.
    svc_queued = count_queued(client, "svc")
    queue_queued = count_queued(client, "svc-queue")
    m = metrics(client)
    ran = {k: v for k, v in m.items() if k.startswith("gobay_builds{") and v
           and not any(f'status="{s}"' in k for s in ("queued", "superseded"))}
    deliveries = {}
    for k, v in m.items():
        found = re.search(r'result="([^"]*)"', k)
        if k.startswith("gobay_webhook_deliveries_total{") and found:
            deliveries[found.group(1)] = deliveries.get(found.group(1), 0) + int(v)
    superseded = sum(v for k, v in m.items() if k.startswith("gobay_builds{") and 'status="superseded"' in k)
    log(f"after the load: svc queued {svc_queued}, svc-queue queued {queue_queued}, superseded {superseded:.0f}, "
        f"builds running {m.get('gobay_builds_running', 0):.0f}, other statuses {ran or 'none'}; deliveries {deliveries}")
    db = os.path.join(workdir, "data", "gobay.sqlite")
    db_size = sum(os.path.getsize(db + ext) for ext in ("", "-wal", "-shm") if os.path.exists(db + ext))
    log(f"SQLite {db_size / 1e6:.1f} MB (with WAL)")
    rss["after"] = rss_kib(pid)
    peak = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1])

    problems = []
    if svc_queued != 1:
        problems.append(f"coalescing left {svc_queued} queued builds of svc (expected 1)")
    if queue_queued != nqueued:
        problems.append(f"svc-queue has {queue_queued} queued builds (expected {nqueued})")
    if ran or m.get("gobay_builds_running", 0):
        problems.append(f"builds ran during the bench: {ran}")
    for label, r in [*results.items(), (f"~{rate} req/s", rated)]:
        if r["non202"] or r["socket_errors"]:
            problems.append(f"{label}: {r['non202']} non-202 answers {r['statuses']}, socket errors {r['errors']}")

    print(f"webhooks: {threads} threads, {conns} connections, {seconds} s per scenario after {warmup} s warm-up; "
          f"wrk {wrk_version()}")
    for label, r in results.items():
        print(f"webhooks: {label:<16} {describe_run(r)}")
    reachable = rated["req_s"] >= 0.95 * rate
    note = "" if reachable else f"; {rate} req/s not reached: the server saturated"
    print(f"webhooks: {f'~{rate} req/s':<16} achieved {rated['req_s']:.0f} req/s  p50 {rated['p50_ms']:.2f} ms  "
          f"p99 {rated['p99_ms']:.2f} ms  max {rated['max_us'] / 1000:.1f} ms  (non-202: {rated['non202']}; "
          f"queued+coalesced body, {rate_conns} connections, {delay_ms} ms delay each{note})")
    print(f"webhooks: RSS idle {mib(rss['idle'])}, with {nqueued} queued builds {mib(rss['queued'])}, "
          f"after load {mib(rss['after'])} (peak {mib(peak) if peak else '?'})")
    goals = [
        (f"p99 <= 10 ms at ~{rate} req/s", rated["p99_ms"] <= 10 and reachable,
         f"{rated['p99_ms']:.2f} ms at {rated['req_s']:.0f} req/s"),
        ("RSS <= 60 MiB idle", rss["idle"] <= 60 * 1024, mib(rss["idle"])),
        (f"RSS <= 150 MiB with {nqueued} queued builds", rss["queued"] <= 150 * 1024, mib(rss["queued"])),
    ]
    for what, ok, got in goals:
        print(f"webhooks: goal {what}: {'met' if ok else 'NOT met'} ({got})")
    print(f"webhooks: server CPU during the load {cpu_load}")
    if problems:
        for p in problems:
            log(f"error: {p}")
        sys.exit(1)


def wrk_version():
    p = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    first = (p.stdout + p.stderr).strip().splitlines()
    return first[0].split()[1] if first and len(first[0].split()) > 1 else "?"


# --- bench/prune -----------------------------------------------------------------


def cmd_prune_fill(db_path, projects, builds):
    """Fills gobay's database with PROJECTS x BUILDS ended builds (2 steps and 1 artifact each)."""
    import sqlite3
    projects, builds = int(projects), int(builds)
    db = sqlite3.connect(db_path)
    columns = {row[1]: row for row in db.execute("PRAGMA table_info(build)")}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 3600))
    values = {"environment": "go122", "go_version": "1.22.10", "commit_sha": "0" * 40, "created_at": stamp,
              "started_at": stamp, "finished_at": stamp, "trigger": "webhook", "retried": 0, "owner": ""}
    names = ["id", "project", "ref", "status"] + [c for c in values if c in columns]
    sql = f"INSERT INTO build ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    t0 = time.perf_counter()
    next_id = 1
    db.execute("BEGIN")
    for p in range(projects):
        rows, steps, artifacts = [], [], []
        for b in range(builds):
            status = "failed" if b % 7 == 3 else "succeeded"
            ref = "release" if b % 10 == 0 else "main"
            rows.append([next_id, f"svc-{p:04d}", ref, status] + [values[c] for c in names[4:]])
            steps += [(next_id, "checkout", "succeeded", stamp, stamp), (next_id, "build", status, stamp, stamp)]
            artifacts.append((next_id, "svc", f"svc-{next_id}", "0" * 64, 1024, "linux", "amd64"))
            next_id += 1
        db.executemany(sql, rows)
        db.executemany("INSERT INTO step (build_id, name, status, started_at, finished_at) VALUES (?, ?, ?, ?, ?)", steps)
        db.executemany("INSERT INTO artifact (build_id, name, path, sha256, size, goos, goarch) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       artifacts)
    db.commit()
    db.close()
    log(f"{next_id - 1} builds, {2 * (next_id - 1)} steps, {next_id - 1} artifacts written in "
        f"{time.perf_counter() - t0:.1f} s")


RAW_PRUNE_PLAN = """
    SELECT id FROM (
        SELECT id, status,
               ROW_NUMBER() OVER (PARTITION BY project ORDER BY id DESC) AS seen,
               ROW_NUMBER() OVER (PARTITION BY project, ref, status = 'succeeded' ORDER BY id DESC) AS nth
        FROM build WHERE status NOT IN ('queued', 'running'))
    WHERE seen > ? AND NOT (status = 'succeeded' AND nth = 1)
"""


def raw_prune(db_path, keep, dry_run):
    """The same keep_builds policy as plain SQL in one transaction; returns (seconds, builds removed)."""
    import sqlite3
    t0 = time.perf_counter()
    db = sqlite3.connect(db_path)
    db.execute("BEGIN IMMEDIATE")
    db.execute("CREATE TEMP TABLE doomed (id INTEGER PRIMARY KEY)")
    db.execute("INSERT INTO doomed " + RAW_PRUNE_PLAN, (keep,))
    count = db.execute("SELECT count(*) FROM doomed").fetchone()[0]
    if not dry_run:
        for table, column in (("step", "build_id"), ("artifact", "build_id"), ("build", "id")):
            db.execute(f"DELETE FROM {table} WHERE {column} IN (SELECT id FROM doomed)")
    db.commit()
    db.close()
    return time.perf_counter() - t0, count


def cmd_prune_run(gobay_bin, db_path, raw_path, projects, builds, keep):
    keep = int(keep)
    total = int(projects) * int(builds)

    def gobay(args):
        t0 = time.perf_counter()
        p = subprocess.run([gobay_bin, "prune"] + args, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        if p.returncode != 0:
            die(f"gobay prune {' '.join(args)} exited {p.returncode}\n{p.stderr[-4000:]}")
        last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
        return elapsed, int(last.split()[0]) if last[:1].isdigit() else -1

    dry, dry_count = gobay(["--dry-run"])
    raw_dry, raw_dry_count = raw_prune(raw_path, keep, True)
    real, count = gobay([])
    raw_real, raw_count = raw_prune(raw_path, keep, False)
    if not (dry_count == count == raw_dry_count == raw_count):
        die(f"gobay and raw SQL disagree: gobay plans {dry_count}, removes {count}; raw plans {raw_dry_count}, "
            f"removes {raw_count}")
    print(f"prune: {total} builds, keep_builds {keep}, {count} removed")
    print(f"prune: plan (--dry-run) gobay {dry:.2f} s, raw SQL {raw_dry:.2f} s, ratio {dry / raw_dry:.1f}x")
    print(f"prune: remove gobay {real:.2f} s, raw SQL {raw_real:.2f} s, ratio {real / raw_real:.1f}x")


# --- bench/startup ---------------------------------------------------------------


def cmd_startup(runs, *pairs):
    """Times each (label, command line) pair RUNS times, round-robin; ratios are to `go version`."""
    runs = int(runs)
    commands = [(pairs[i], shlex.split(pairs[i + 1])) for i in range(0, len(pairs), 2)]
    times = {label: [] for label, _ in commands}
    for argv in (argv for _, argv in commands):
        timed(argv)  # warm the page cache
    for r in range(runs):
        for label, argv in commands[r % len(commands):] + commands[:r % len(commands)]:
            times[label].append(timed(argv))
    medians = {label: statistics.median(values) for label, values in times.items()}
    base = medians.get("go version")
    for label, _ in commands:
        ratio = f", {medians[label] / base:.2f}x go version" if base else ""
        print(f"startup: {label:<24} median {medians[label] * 1000:6.1f} ms{ratio}")



# --- bench/libfanout -------------------------------------------------------------
# A shared GOPATH library updated in many environments at once (gobay lib update), next to a
# hand script's `git pull --ff-only` in one clone per environment; and a library push through
# `gobay serve` until its dependents' rebuilds have started.

LIB_IMPORT_PATH = "ex.com/team/common"


def library_file(pkg, f, stamp):
    """One library file; its text changes with stamp, so every file changes in each commit."""
    return (f"package {pkg}\n\n"
            f"// Version{f:03d} is the library's version; every file changes with it.\n"
            f"const Version{f:03d} = {json.dumps(stamp)}\n\n"
            f"// Describe{f:03d} names this file and the library version it belongs to.\n"
            f'func Describe{f:03d}() string {{ return "{pkg}/f{f:03d}.go " + Version{f:03d} }}\n')


def commit_library(root, dirs, files, stamp):
    """Rewrites every file of the library with stamp, commits, and returns the commit id."""
    for d in range(int(dirs)):
        for f in range(int(files)):
            write(root, f"pkg{d:02d}/f{f:03d}.go", library_file(f"pkg{d:02d}", f, stamp))
    run(["git", "-C", root, "add", "-A"])
    run(["git", *GIT_IDENTITY, "-C", root, "commit", "-q", "-m", f"library {stamp}"])
    return run(["git", "-C", root, "rev-parse", "HEAD"]).strip()


def cmd_lib_gen(root, dirs, files):
    """A library repo (branch master): DIRS packages pkgNN of FILES files fNNN.go each."""
    run(["git", "init", "-q", "-b", "master", root])
    commit_library(root, dirs, files, "initial")


def cmd_dependent_gen(root, name, pkg):
    """A GOPATH-mode `package main` repo (branch master) that prints what library package pkg describes."""
    run(["git", "init", "-q", "-b", "master", root])
    write(root, "main.go",
          f'package main\n\nimport (\n\t"fmt"\n\n\t"{LIB_IMPORT_PATH}/{pkg}"\n)\n\n'
          f'func main() {{ fmt.Println("{name}", {pkg}.Describe000()) }}\n')
    run(["git", "-C", root, "add", "-A"])
    run(["git", *GIT_IDENTITY, "-C", root, "commit", "-q", "-m", f"{name}"])


def library_status(gobay_bin, library):
    """`gobay lib status LIBRARY --json` as {environment: row}."""
    rows = parse_json_output(run([gobay_bin, "lib", "status", library, "--json"]), "gobay lib status --json")
    if not isinstance(rows, list):
        die(f"gobay lib status --json: expected a list of rows, got {rows!r}")
    return {r.get("environment"): r for r in rows if r.get("library") == library}


def check_library_placed(gobay_bin, data_dir, envs, commit, stamp, dirs, files):
    """Dies unless every environment of envs holds commit, by gobay's word and by its files."""
    rows = library_status(gobay_bin, "common")
    wrong = {e: (rows.get(e) or {}).get("commit") for e in envs if (rows.get(e) or {}).get("commit") != commit}
    if wrong:
        die(f"after the update to {commit[:12]}, gobay lib status shows {wrong}")
    # The first and the last file of the tree, read where a build reads them.
    for e in envs:
        base = os.path.join(data_dir, "envs", e, "gopath", "src", LIB_IMPORT_PATH)
        for d, f in ((0, 0), (dirs - 1, files - 1)):
            path = os.path.join(base, f"pkg{d:02d}", f"f{f:03d}.go")
            try:
                with open(path) as fh:
                    text = fh.read()
            except OSError as error:
                die(f"{e}: cannot read {path}: {error}")
            if json.dumps(stamp) not in text:
                die(f"{e}: {path} does not hold version {stamp} after the update to {commit[:12]}")


def cmd_libfanout(gobay_bin, lib_repo, data_dir, raw_dir, rounds, dirs, files):
    """Part A: gobay lib update in 1, 4 and 8 environments next to a sequential git pull per clone."""
    rounds, dirs, files = int(rounds), int(dirs), int(files)
    counts = (1, 4, 8)
    envs = [f"e{i}" for i in range(1, max(counts) + 1)]
    clones = {e: os.path.join(raw_dir, e) for e in envs}

    def gobay_side(n):
        return timed([gobay_bin, "lib", "update", "common", *[a for e in envs[:n] for a in ("--env", e)]])

    def raw_side(n):
        t0 = time.perf_counter()
        for e in envs[:n]:
            run(["git", "-C", clones[e], "pull", "-q", "--ff-only"])
        return time.perf_counter() - t0

    samples = {("gobay", n): [] for n in counts} | {("raw", n): [] for n in counts}
    for r in range(rounds):
        order = counts[r % len(counts):] + counts[:r % len(counts)]
        for n in order:
            stamp = f"r{r}-n{n}"
            commit = commit_library(lib_repo, dirs, files, stamp)
            # Each round starts with the other side, so neither always runs on the warmer page cache.
            for side in (("gobay", "raw") if r % 2 == 0 else ("raw", "gobay")):
                if side == "gobay":
                    samples[("gobay", n)].append(gobay_side(n))
                    check_library_placed(gobay_bin, data_dir, envs[:n], commit, stamp, dirs, files)
                else:
                    samples[("raw", n)].append(raw_side(n))
                    for e in envs[:n]:
                        head = run(["git", "-C", clones[e], "rev-parse", "HEAD"]).strip()
                        if head != commit:
                            die(f"raw clone {e} is at {head[:12]} after git pull, expected {commit[:12]}")
        log(f"round {r + 1}/{rounds}: " + ", ".join(
            f"N={n} gobay {ms(samples[('gobay', n)][-1])} raw {ms(samples[('raw', n)][-1])}" for n in counts) + " (ms)")

    med = {k: statistics.median(v) for k, v in samples.items()}

    def row(side, n):
        s = samples[(side, n)]
        return f"N={n} median {ms(med[(side, n)]):>5} ms (min {ms(min(s))}, max {ms(max(s))})"

    print(f"libfanout: fan-out: a {dirs * files}-file library ({dirs} packages x {files} files), every file changed "
          f"in each commit; {rounds} rounds of N = 1, 4, 8 environments in rotating order")
    print("libfanout: gobay lib update --env x N: " + ";  ".join(row("gobay", n) for n in counts))
    print("libfanout: raw git pull --ff-only, N clones one after another: " + ";  ".join(row("raw", n) for n in counts))
    ratio = med[("gobay", 8)] / med[("gobay", 1)]
    print(f"libfanout: gobay time(8) / time(1) = {ratio:.2f} (goal <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'}); "
          f"raw time(8) / time(1) = {med[('raw', 8)] / med[('raw', 1)]:.2f}")
    print("libfanout: gobay / raw: " + ", ".join(
        f"N={n} {med[('gobay', n)] / med[('raw', n)]:.2f}x ({ms(med[('gobay', n)] - med[('raw', n)]):+d} ms)"
        for n in counts))


def rfc3339_epoch(text):
    """Seconds since the epoch of an RFC 3339 time such as 2026-11-27T02:30:43.890Z."""
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def cmd_lib_seed(gobay_bin, *projects):
    """Builds each dependent once, so the history knows it imports the library."""
    for project in projects:
        t0 = time.perf_counter()
        record = Gobay(gobay_bin).build_json(project)
        if record.get("status") != "succeeded":
            die(f"gobay build {project}: {record.get('status')}: {record.get('error')}")
        if "common" not in (record.get("libraries") or {}):
            die(f"gobay build {project} --json records no library common: {record.get('libraries')!r}")
        log(f"seed build #{record['id']} {project} in {record.get('environment')}: {record['status']} "
            f"in {ms(time.perf_counter() - t0)} ms (common {record['libraries']['common'][:12]})")


def cmd_libpush(gobay_bin, port, lib_repo, dirs, files, fixture, pushes, *projects):
    """Part B: pushes to the library through a running `gobay serve`; times each push until the last
    dependent's rebuild has started (and finished)."""
    port, dirs, files, pushes = int(port), int(dirs), int(files), int(pushes)
    token = os.environ.get("BENCH_TOKEN") or die("BENCH_TOKEN is not set")
    timeout = 300
    client = Client(port, token)
    wait_healthy(client)
    envs = sorted(library_status(gobay_bin, "common"))
    results = []
    for i in range(pushes):
        commit = commit_library(lib_repo, dirs, files, f"push-{i}")
        body = gitlab_push_body(fixture, lib_repo, "master", commit)
        t0 = time.time()
        answer, _ = expect_202(f"push {i + 1} to the library", *client.push(body, str(uuid.uuid4())))
        t202 = time.time()
        ids = {q.get("id"): q.get("project") for q in answer.get("queued", [])}
        if sorted(ids.values()) != sorted(projects):
            die(f"push {i + 1}: expected one build of each of the {len(projects)} dependents, got {answer!r}")
        if answer.get("libraries") != [{"name": "common", "commit": commit}]:
            die(f"push {i + 1}: expected libraries [common {commit[:12]}] in the answer, got {answer.get('libraries')!r}")
        records, started = {}, {}
        while len(records) < len(ids):
            if time.time() - t0 > timeout:
                die(f"push {i + 1}: after {timeout} s, {len(started)} of {len(ids)} builds started, "
                    f"{len(records)} ended")
            for build_id in ids:
                if build_id in records:
                    continue
                record = client.json("GET", f"/api/v1/builds/{build_id}", auth=True)
                if record.get("started_at"):
                    started[build_id] = rfc3339_epoch(record["started_at"])
                if record.get("finished_at"):
                    records[build_id] = record
            time.sleep(0.2)
        bad = {f"#{b} {r.get('project')}": (r.get("status"), r.get("trigger"), r.get("error"))
               for b, r in records.items() if r.get("status") != "succeeded" or r.get("trigger") != "library"}
        if bad:
            die(f"push {i + 1}: builds that did not succeed with trigger library: {bad}")
        finished = max(rfc3339_epoch(r["finished_at"]) for r in records.values())
        compiled = sum(1 for r in records.values() if (r.get("libraries") or {}).get("common") == commit)
        # The server updates every environment in the background; wait for it before the next push.
        while True:
            rows = library_status(gobay_bin, "common")
            if all((rows.get(e) or {}).get("commit") == commit for e in envs):
                break
            if time.time() - t0 > timeout:
                held = {e: ((rows.get(e) or {}).get("commit") or "")[:12] for e in envs}
                die(f"push {i + 1}: after {timeout} s the environments hold {held}, expected {commit[:12]}")
            time.sleep(0.2)
        placed = max(rfc3339_epoch(rows[e]["updated_at"]) for e in envs)
        result = {"202": t202 - t0, "started": max(started.values()) - t0, "finished": finished - t0,
                  "placed": placed - t0, "compiled": compiled}
        results.append(result)
        log(f"push {i + 1}/{pushes} ({commit[:12]}): 202 in {ms(result['202'])} ms; last of {len(ids)} builds started "
            f"+{result['started']:.2f} s, last finished +{result['finished']:.2f} s; {len(envs)} environments "
            f"updated +{result['placed']:.2f} s; {compiled} of {len(ids)} compiled against the pushed commit")

    def summary(key, scale, unit, digits):
        values = [r[key] * scale for r in results]
        return f"median {statistics.median(values):.{digits}f} {unit}, max {max(values):.{digits}f} {unit}"

    print(f"libfanout: push: {len(projects)} GOPATH dependents over {len(envs)} environments (concurrency 5 each, "
          f"max_builds 20, quiet_period 0), a {dirs * files}-file library, {pushes} pushes (GitLab push hook, "
          f"global secret)")
    print(f"libfanout: push: 202 answer {summary('202', 1000, 'ms', 1)}")
    print(f"libfanout: push: push -> last dependent started {summary('started', 1, 's', 2)}")
    print(f"libfanout: push: push -> last dependent finished {summary('finished', 1, 's', 2)}")
    compiled = ", ".join(f"{r['compiled']}/{len(projects)}" for r in results)
    print(f"libfanout: push: push -> every environment updated {summary('placed', 1, 's', 2)}; builds that compiled "
          f"against the pushed commit: {compiled}")


# --- bench/deploy ----------------------------------------------------------------
# One ~10 MB Go binary deployed over SSH with `gobay deploy` to two targets, next to the hand-written
# script it replaces (scp, ssh ... supervisorctl restart, curl on the health URL, one target after
# another); and gobay's deploy time to 1, 4 and 8 targets at once. Each target is a real sshd and a
# real supervisord on loopback, set up as Sources/GobayTesting/DeployTarget.swift sets them up.

# Tests/Fixtures/deploy-service.go: /version and /health on 127.0.0.1:$PORT; version.go sets the variables.
def deploy_service_source():
    """The service's Go source, shared with the Swift tests (GoSources.deployService())."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "deploy-service.go")
    with open(path, encoding="utf-8") as f:
        return f.read()


# The payload that makes the binary about BENCH_SIZE_MB: the linker keeps an embedded file only
# when something reads it.
DEPLOY_BLOB_GO = """package main

import _ "embed"

//go:embed blob.txt
var blob string

func init() {
\tif len(blob) == 0 || blob[len(blob)/2] == 0 {
\t\tpanic("blob.txt is empty")
\t}
}
"""

DEPLOY_PROGRAM = "api"  # the supervisor program, and the binary's name (the project's output)
DEPLOY_ENV_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def deploy_version_file(version):
    """DeployWorld.versionFile(version): the release's version, health 200, no crash."""
    return f'package main\n\nfunc init() {{\n\tversion = "{version}"\n\thealth = "200"\n\tcrash = "no"\n}}\n'


def deploy_blob(size):
    """About `size` bytes of base64 of random data, in lines of 76."""
    import base64
    return base64.encodebytes(os.urandom(max(1, size * 3 // 4))).decode()


def commit_all(root, message):
    run(["git", "-C", root, "add", "-A"])
    run(["git", *GIT_IDENTITY, "-C", root, "commit", "-q", "-m", message])
    return run(["git", "-C", root, "rev-parse", "HEAD"]).strip()


def deploy_build(gobay_bin, version):
    """`gobay build api --json`; returns {id, version, commit, path, sha256, size} of its linux binary."""
    record = Gobay(gobay_bin).build_json(DEPLOY_PROGRAM)
    if record.get("status") != "succeeded":
        die(f"gobay build {DEPLOY_PROGRAM}: {record.get('status')}: {record.get('error')}")
    binary = next((a for a in record.get("artifacts") or [] if a.get("name") == DEPLOY_PROGRAM), None)
    if not binary or not os.path.isfile(binary.get("path", "")):
        die(f"gobay build {DEPLOY_PROGRAM} --json: no binary {DEPLOY_PROGRAM} in {record.get('artifacts')!r}")
    return {"id": record["id"], "version": version, "commit": record["commit"], "path": binary["path"],
            "sha256": binary["sha256"], "size": os.path.getsize(binary["path"])}


def cmd_deploy_builds(gobay_bin, repo, size_mb, out):
    """The service's repo (module ex.com/team/api, branch master) and two builds of it, versions bench-a and
    bench-b, each binary about SIZE_MB MB; writes them to OUT as JSON."""
    target = int(size_mb) * 1000 * 1000
    run(["git", "init", "-q", "-b", "master", repo])
    write(repo, "go.mod", "module ex.com/team/api\n\ngo 1.22\n")
    write(repo, "main.go", deploy_service_source())
    write(repo, "blob.go", DEPLOY_BLOB_GO)
    write(repo, "version.go", deploy_version_file("bench-size"))
    # A first build measures the binary without most of the payload (and compiles the standard library).
    write(repo, "blob.txt", deploy_blob(1000))
    commit_all(repo, "service, small payload")
    t0 = time.perf_counter()
    probe = deploy_build(gobay_bin, "bench-size")
    base = probe["size"]
    log(f"build #{probe['id']} without the payload: {base} bytes in {ms(time.perf_counter() - t0)} ms")
    if base >= target:
        die(f"the service alone is {base} bytes, more than BENCH_SIZE_MB={size_mb}")
    write(repo, "blob.txt", deploy_blob(target - base))
    builds = {}
    for key, version in (("a", "bench-a"), ("b", "bench-b")):
        write(repo, "version.go", deploy_version_file(version))
        commit_all(repo, version)
        t0 = time.perf_counter()
        builds[key] = deploy_build(gobay_bin, version)
        log(f"build #{builds[key]['id']} ({version}): {builds[key]['size']} bytes in {ms(time.perf_counter() - t0)} ms")
    with open(out, "w") as f:
        json.dump(builds, f, indent=2)


def free_loopback_port():
    """A port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0)."""
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_key(path, comment, env):
    """An ed25519 key pair at path and path.pub; returns "ssh-ed25519 AAAA..."."""
    run(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], env=env)
    with open(path + ".pub") as f:
        fields = f.read().split()
    if len(fields) < 2:
        die(f"ssh-keygen made no public key at {path}.pub")
    return f"{fields[0]} {fields[1]}"


def sshd_version():
    p = subprocess.run(["/usr/sbin/sshd", "-V"], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", p.stderr + p.stdout)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def sshd_config_text(tdir, port, marker):
    """DeployTarget.sshdConfigText: key-only root login on loopback, every path inside tdir."""
    lines = [
        "ListenAddress 127.0.0.1", f"Port {port}", f"HostKey {tdir}/ssh_host_ed25519_key",
        f"AuthorizedKeysFile {tdir}/authorized_keys", f"PidFile {tdir}/sshd.pid", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PubkeyAuthentication yes", "PermitRootLogin prohibit-password",
        "UsePAM no", "StrictModes no", "UseDNS no", "PrintMotd no", "PrintLastLog no", "MaxStartups 100",
        "MaxSessions 100", "Subsystem sftp internal-sftp",
        # Sessions get a fresh environment; the marker lets the stop find what they left running.
        # SHLVL=1: bash started by sshd skips ~/.bashrc (it does so when SHLVL is 2 or more once it
        # counts itself). This machine's root ~/.bashrc runs `pyenv init`, 100 ms of CPU for every
        # command; a deploy user's bashrc (Debian's /etc/skel one) returns at once when not
        # interactive. Both gobay and the raw script see the same target.
        f"SetEnv {marker} SHLVL=1",
    ]
    if sshd_version() >= (9, 8):
        lines.append("PerSourcePenalties no")
    return "\n".join(lines) + "\n"


def supervisor_config_text(tdir, socket_path, command, port):
    """DeployTarget.supervisorConfigText: a supervisord of its own, one program not yet started."""
    p = DEPLOY_PROGRAM
    return (f"[unix_http_server]\nfile={socket_path}\nchmod=0700\n\n"
            f"[supervisord]\nnodaemon=true\nuser=root\npidfile={tdir}/supervisord.pid\n"
            f"logfile={tdir}/supervisord.log\nchildlogdir={tdir}/supervisor\n\n"
            "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
            f"[supervisorctl]\nserverurl=unix://{socket_path}\n\n"
            f"[program:{p}]\ncommand={command}\nenvironment=PORT=\"{port}\"\nautostart=false\nautorestart=true\n"
            "startsecs=1\nstartretries=2\nstopwaitsecs=5\nstopasgroup=true\nkillasgroup=true\n"
            f"stdout_logfile={tdir}/{p}.out.log\nstderr_logfile={tdir}/{p}.err.log\n")


def start_logged(argv, env, prefix, leaders, what, ready, timeout=20):
    """Starts argv in a session (and process group) of its own, output in PREFIX.out and PREFIX.err;
    records its pid in the leaders file; waits until ready(text of both) returns non-None."""
    with open(prefix + ".out", "wb") as out, open(prefix + ".err", "wb") as err:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)
    with open(leaders, "a") as f:
        f.write(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while True:
        text = ""
        for ext in (".out", ".err"):
            with open(prefix + ext, errors="replace") as f:
                text += f.read()
        found = ready(text)
        if found is not None:
            return proc, found
        if proc.poll() is not None:
            return proc, None
        if time.monotonic() > deadline:
            die(f"{what} did not start in {timeout} s:\n{text[-2000:]}")
        time.sleep(0.05)


def start_target(tdir, name, marker, leaders):
    """DeployTarget.init: keys, configs, sshd and supervisord of one target; returns its description."""
    path = os.path.join(tdir, "srv", DEPLOY_PROGRAM)
    os.makedirs(os.path.join(path, "releases"), exist_ok=True)
    os.makedirs(os.path.join(tdir, "supervisor"), exist_ok=True)
    socket_path = os.path.join(tdir, "supervisor.sock")
    if len(socket_path.encode()) >= 100:
        die(f"{socket_path} is too long for a unix socket; use a shorter TMPDIR")
    client_env = {"PATH": DEPLOY_ENV_PATH, "HOME": tdir, "LANG": "C.UTF-8"}
    key, value = marker.split("=", 1)
    env = client_env | {key: value}
    host_key = make_key(os.path.join(tdir, "ssh_host_ed25519_key"), f"host-{name}", client_env)
    identity = os.path.join(tdir, "id_ed25519")
    client_key = make_key(identity, f"gobay-bench-{name}", client_env)
    write(tdir, "authorized_keys", client_key + "\n")
    http_port = free_loopback_port()
    conf = os.path.join(tdir, "supervisord.conf")
    write(tdir, "supervisord.conf",
          supervisor_config_text(tdir, socket_path, os.path.join(path, "current", DEPLOY_PROGRAM), http_port))

    def listening(text):
        found = re.search(r"Server listening on 127\.0\.0\.1 port (\d+)", text)
        return int(found.group(1)) if found else None

    ssh_port = None
    for _ in range(5):
        port = free_loopback_port()
        if port == http_port:
            continue
        write(tdir, "sshd_config", sshd_config_text(tdir, port, marker))
        _, ssh_port = start_logged(["/usr/sbin/sshd", "-D", "-e", "-f", os.path.join(tdir, "sshd_config")], env,
                                   os.path.join(tdir, "sshd"), leaders, f"sshd of {name}", listening)
        if ssh_port is not None:
            break
        with open(os.path.join(tdir, "sshd.err"), errors="replace") as f:
            text = f.read()
        if "Address already in use" not in text:
            die(f"sshd of {name} exited at start:\n{text[-2000:]}")
    if ssh_port is None:
        die(f"sshd of {name} found no free port in 5 tries")
    known_hosts = os.path.join(tdir, "known_hosts")
    write(tdir, "known_hosts", f"[127.0.0.1]:{ssh_port} {host_key}\n")
    # supervisord logs this once its socket listens.
    _, started = start_logged(["/usr/bin/supervisord", "-n", "-c", conf], env, os.path.join(tdir, "supervisord"),
                              leaders, f"supervisord of {name}",
                              lambda text: True if "supervisord started with pid" in text else None)
    if started is None:
        with open(os.path.join(tdir, "supervisord.err"), errors="replace") as f:
            die(f"supervisord of {name} exited at start:\n{f.read()[-2000:]}")
    return {"name": name, "dir": tdir, "ssh_port": ssh_port, "http_port": http_port, "identity": identity,
            "known_hosts": known_hosts, "path": path, "supervisor_config": conf}


def cmd_deploy_targets_start(workdir, count):
    """Starts COUNT targets web-1 ... web-COUNT in WORKDIR/targets; writes WORKDIR/targets/targets.json."""
    base = os.path.join(workdir, "targets")
    os.makedirs(base, exist_ok=True)
    marker = f"GOBAY_BENCH_DEPLOY={uuid.uuid4()}"
    # The marker first: the stop finds by it whatever a start that failed halfway left running.
    write(base, "marker", marker + "\n")
    if not os.path.isdir("/run/sshd"):
        # sshd refuses to start without its privilege separation dir; Debian makes it only with its service.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    targets = []
    for i in range(1, int(count) + 1):
        t0 = time.perf_counter()
        targets.append(start_target(os.path.join(base, f"web-{i}"), f"web-{i}", marker,
                                    os.path.join(base, "leaders")))
        log(f"target web-{i}: sshd on 127.0.0.1:{targets[-1]['ssh_port']}, program on "
            f"127.0.0.1:{targets[-1]['http_port']} ({ms(time.perf_counter() - t0)} ms)")
    with open(os.path.join(base, "targets.json"), "w") as f:
        json.dump(targets, f, indent=2)


def target_processes(marker, base):
    """Pids of living processes of the targets: the marker (NAME=VALUE) in their environment, or the
    targets dir in their command line. sshd rewrites its process title over its environment, so its
    listener shows the marker no more; its title still names its config in base."""
    wanted, where = marker.encode(), (base.rstrip("/") + "/").encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                environ = f.read()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if not cmdline:
            continue  # a zombie (or a kernel thread)
        if wanted in environ.split(b"\0") or where in cmdline:
            found.append(int(name))
    return found


def cmd_deploy_targets_stop(workdir):
    """Kills every target's sshd and supervisord (their process groups), then whatever else is theirs
    (ssh sessions and the supervised programs, which run in groups of their own); checks none is left."""
    import signal
    base = os.path.join(workdir, "targets")
    try:
        with open(os.path.join(base, "marker")) as f:
            marker = f.read().strip()
    except FileNotFoundError:
        return
    try:
        with open(os.path.join(base, "leaders")) as f:
            leaders = [int(line) for line in f if line.strip()]
    except FileNotFoundError:
        leaders = []
    living = set(target_processes(marker, base))
    for pid in leaders:
        # Only a leader that is still one of ours: a pid that died may name another process now.
        if pid in living:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10
    while True:
        left = target_processes(marker, base)
        if not left:
            return
        if time.monotonic() > deadline:
            die(f"processes of the deploy targets still running after SIGKILL: {left}")
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def deploy_yaml(data_dir, repo, goroot, targets, strategy, keep=5):
    """A gobay.yml with project api (environment modern, Go 1.22) deploying to targets."""
    q = json.dumps
    lines = [f"data_dir: {q(data_dir)}", "environments:", f"  modern: {{ go: \"1.22\", goroot: {q(goroot)} }}",
             "projects:", f"  {DEPLOY_PROGRAM}:", f"    repo: {q(repo)}", "    branch: master",
             "    environment: modern", "    deploy:", f"      strategy: {strategy}", f"      keep: {keep}",
             "      targets:"]
    for t in targets:
        lines += [f"        - name: {t['name']}", "          host: 127.0.0.1", f"          port: {t['ssh_port']}",
                  "          user: root", f"          identity_file: {q(t['identity'])}",
                  f"          known_hosts: {q(t['known_hosts'])}", f"          path: {q(t['path'])}",
                  f"          restart: {{ supervisor: {DEPLOY_PROGRAM}, config: {q(t['supervisor_config'])} }}",
                  f"          health: {{ http: \"http://127.0.0.1:{t['http_port']}/health\", timeout: 20s }}"]
    return "\n".join(lines) + "\n"


def cmd_deploy_config(workdir, repo, goroot):
    """WORKDIR/gobay.yml (web-1 and web-2, parallel), serial.yml (the same two, serial) and fanout.yml
    (all targets, parallel), one data dir."""
    with open(os.path.join(workdir, "targets", "targets.json")) as f:
        targets = json.load(f)
    data = os.path.join(workdir, "data")
    for name, chosen, strategy in (("gobay.yml", targets[:2], "parallel"), ("serial.yml", targets[:2], "serial"),
                                   ("fanout.yml", targets, "parallel")):
        path = os.path.join(workdir, name)
        with open(path, "w") as f:
            f.write(deploy_yaml(data, repo, goroot, chosen, strategy))
        os.chmod(path, 0o600)


class BenchTarget:
    """One started target, seen from the bench."""

    def __init__(self, d):
        self.__dict__.update(d)
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.current_link = os.path.join(self.path, "current")
        self.env = {"PATH": DEPLOY_ENV_PATH, "HOME": self.dir, "LANG": "C.UTF-8"}

    def ssh_options(self):
        """DeployTarget.sshOptions: the key only, strict host key checking, no user or system config."""
        return ["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-i", self.identity]

    def get(self, path, timeout=5):
        """(status, body) of a GET, or (0, why) when nothing answers."""
        import urllib.error
        import urllib.request
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
                return resp.status, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, ""
        except OSError as error:
            return 0, str(error)

    def program_pid(self):
        """The program's pid by supervisorctl status, or None when it is not RUNNING."""
        p = subprocess.run(["/usr/bin/supervisorctl", "-c", self.supervisor_config, "status", DEPLOY_PROGRAM],
                           env=self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        found = re.search(r"RUNNING\s+pid (\d+)", p.stdout)
        return int(found.group(1)) if found else None

    def current(self):
        try:
            return os.readlink(self.current_link)
        except OSError:
            return None


def force_upload(targets, build, other):
    """Makes gobay upload build again: it skips the upload when the release is there with the same
    sha256. Its release goes; a `current` pointing at it first points at the other build's release
    (or at a parked name; the program keeps running until gobay restarts it)."""
    import shutil
    release = f"releases/{build['id']}"
    for t in targets:
        if t.current() == release:
            fallback = f"releases/{other['id']}"
            if not os.path.isdir(os.path.join(t.path, fallback)):
                fallback = "releases/parked"
            temp = os.path.join(t.path, ".bench-current")
            if os.path.lexists(temp):
                os.remove(temp)
            os.symlink(fallback, temp)
            os.replace(temp, t.current_link)
        shutil.rmtree(os.path.join(t.path, release), ignore_errors=True)


STEP_LINE = re.compile(r"\[([^\]]+)\] (\w+): done in (\d+) ms")


def machine_cpu_seconds():
    """CPU time used on this machine so far, all processes (user, nice, system, irq, softirq)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    ticks = sum(int(fields[i]) for i in (1, 2, 3, 6, 7))
    return ticks / os.sysconf("SC_CLK_TCK")


def gobay_deploy(gobay_bin, config, build, targets, select):
    """Times `gobay deploy --config CONFIG ID [--target ...] --json`; dies unless every target succeeded.
    Returns (seconds, {step: [ms per target]})."""
    argv = [gobay_bin, "deploy", "--config", config, str(build["id"])]
    if select:
        argv += [a for t in targets for a in ("--target", t.name)]
    argv.append("--json")
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    all_before = machine_cpu_seconds()
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    all_cpu = machine_cpu_seconds() - all_before
    # gobay and what it waited for (its ssh and scp processes); the rest is the targets' sshd,
    # supervisord and programs, which share this machine's cores.
    gobay_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        die(f"{' '.join(map(shlex.quote, argv))} exited {p.returncode}\n{p.stdout[-2000:]}{p.stderr[-4000:]}")
    record = parse_json_output(p.stdout, "gobay deploy --json")
    statuses = {r.get("target"): r.get("status") for r in record.get("targets") or []}
    if record.get("status") != "succeeded" or statuses != {t.name: "succeeded" for t in targets}:
        die(f"gobay deploy of build #{build['id']}: {record.get('status')} {statuses} {record.get('error')}\n"
            f"{p.stderr[-4000:]}")
    steps = {"cpu gobay": [gobay_cpu * 1000], "cpu targets": [max(0.0, all_cpu - gobay_cpu) * 1000]}
    for target, step, took in STEP_LINE.findall(p.stderr):
        steps.setdefault(step, []).append(int(took))
    if "upload" not in steps or "uploaded" not in p.stderr:
        die(f"gobay deploy of build #{build['id']} uploaded nothing (the release was there):\n{p.stderr[-3000:]}")
    return elapsed, steps


def raw_deploy(targets, build):
    """The hand-written script, one target after another: scp to a temp name, one ssh that moves it
    into place, switches current and restarts, then curl on the health URL until it answers 2xx (20 s
    at most, 0.1 s apart). Each scp and ssh opens a connection of its own. Returns (seconds, {part: [ms
    per target]})."""
    steps = {"scp": [], "ssh": [], "curl": []}
    t0 = time.perf_counter()
    for t in targets:
        mark = time.perf_counter()
        release = os.path.join(t.path, "releases", "raw")
        temp = os.path.join(release, DEPLOY_PROGRAM + ".tmp")
        run(["/usr/bin/scp", "-q", *t.ssh_options(), "-P", str(t.ssh_port), build["path"], f"root@127.0.0.1:{temp}"],
            env=t.env)
        steps["scp"].append(ms(time.perf_counter() - mark))
        mark = time.perf_counter()
        q = shlex.quote
        link_temp = os.path.join(t.path, "current.tmp")
        remote = (f"mv -f {q(temp)} {q(os.path.join(release, DEPLOY_PROGRAM))}"
                  f" && ln -sfn releases/raw {q(link_temp)} && mv -T {q(link_temp)} {q(t.current_link)}"
                  f" && supervisorctl -c {q(t.supervisor_config)} restart {q(DEPLOY_PROGRAM)}")
        run(["/usr/bin/ssh", *t.ssh_options(), "-p", str(t.ssh_port), "root@127.0.0.1", "--", remote], env=t.env)
        steps["ssh"].append(ms(time.perf_counter() - mark))
        mark = time.perf_counter()
        deadline = time.monotonic() + 20
        while True:
            p = subprocess.run(["curl", "-fsS", "-o", "/dev/null", "--max-time", "5", t.url + "/health"],
                               env=t.env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
            if p.returncode == 0:
                break
            if time.monotonic() > deadline:
                die(f"raw script: {t.name}: {t.url}/health did not answer 2xx in 20 s: {p.stderr.strip()}")
            time.sleep(0.1)
        steps["curl"].append(ms(time.perf_counter() - mark))
    return time.perf_counter() - t0, steps


class DeployBench:
    """The sides of both parts, with the checks after each deployment."""

    def __init__(self, gobay_bin, workdir):
        self.gobay = gobay_bin
        self.workdir = workdir
        with open(os.path.join(workdir, "targets", "targets.json")) as f:
            self.targets = [BenchTarget(d) for d in json.load(f)]
        with open(os.path.join(workdir, "builds.json")) as f:
            builds = json.load(f)
        self.builds = [builds["a"], builds["b"]]
        self.running = {}  # target name -> the version it answered last

    def next_build(self, targets):
        """The build the first target does not run, so each deployment changes the version."""
        first = self.running.get(targets[0].name)
        return self.builds[1] if first == self.builds[0]["version"] else self.builds[0]

    def other(self, build):
        return self.builds[1] if build is self.builds[0] else self.builds[0]

    def check(self, targets, build, pids, side):
        """Dies unless each target's program was restarted and answers the build's version."""
        for t in targets:
            status, body = t.get("/version")
            if status != 200 or body != build["version"]:
                die(f"{side}: {t.name} answers /version with {status} {body!r}, expected {build['version']!r}")
            pid = t.program_pid()
            if pid is None or pid == pids.get(t.name):
                die(f"{side}: {t.name}'s program was not restarted (pid {pids.get(t.name)} before, {pid} after)")
            self.running[t.name] = build["version"]

    def deploy(self, side, targets, config=None, select=False):
        """One deployment of the next build by side ("gobay" or "raw"); returns (seconds, steps)."""
        build = self.next_build(targets)
        pids = {t.name: t.program_pid() for t in targets}
        steps = {}
        if side == "gobay":
            force_upload(targets, build, self.other(build))
            elapsed, steps = gobay_deploy(self.gobay, config, build, targets, select)
        else:
            elapsed, steps = raw_deploy(targets, build)
        self.check(targets, build, pids, side)
        return elapsed, steps


def spread(samples):
    return f"median {ms(statistics.median(samples))} ms (min {ms(min(samples))}, max {ms(max(samples))})"


def step_summary(steps):
    """Median ms of each gobay step over all targets and rounds, in the order of TargetDeploy."""
    order = ["prepare", "upload", "verify", "place", "switch", "restart", "health", "prune", "scp", "ssh", "curl"]
    return ", ".join(f"{s} {round(statistics.median(steps[s]))}" for s in order if s in steps)


def cpu_summary(steps):
    """Median CPU ms of one deployment: gobay with its ssh and scp, and the targets' side."""
    if "cpu gobay" not in steps:
        return ""
    return (f"; CPU per deployment: gobay and its ssh {round(statistics.median(steps['cpu gobay']))} ms, "
            f"targets (sshd, commands, supervisord, programs) {round(statistics.median(steps['cpu targets']))} ms")


def cmd_deploy_run(gobay_bin, workdir, runs, rounds, parts):
    """Part A (two targets: gobay parallel, gobay serial, the raw script; BENCH_RUNS rounds, rotating) and
    part B (gobay parallel to 1, 4 and 8 targets; BENCH_ROUNDS rounds, rotating); prints the summary."""
    runs, rounds = int(runs), int(rounds)
    bench = DeployBench(gobay_bin, workdir)
    a, b = bench.builds
    size = a["size"]
    print(f"deploy: binary {DEPLOY_PROGRAM} {size} bytes ({size / 1e6:.1f} MB; build #{a['id']} {a['version']}, "
          f"#{b['id']} {b['version']}, {b['size']} bytes), deployed alternately so every deployment uploads and "
          f"restarts; gobay {gobay_bin}")
    two = bench.targets[:2]
    configs = {"gobay parallel": os.path.join(workdir, "gobay.yml"),
               "gobay serial": os.path.join(workdir, "serial.yml")}
    for t in two:
        # The hand-written script's release dir, made once when the host was set up.
        os.makedirs(os.path.join(t.path, "releases", "raw"), exist_ok=True)
    failed_goals = []

    if parts in ("all", "two"):
        log("part A warm-up: gobay deploy to web-1 and web-2 (starts the programs), the raw script once")
        bench.deploy("gobay", two, configs["gobay parallel"])
        bench.deploy("raw", two)
        sides = ["gobay parallel", "gobay serial", "raw script"]
        samples = {s: [] for s in sides}
        steps = {s: {} for s in sides}
        for r in range(runs):
            for side in sides[r % len(sides):] + sides[:r % len(sides)]:
                if side == "raw script":
                    elapsed, got = bench.deploy("raw", two)
                else:
                    elapsed, got = bench.deploy("gobay", two, configs[side])
                samples[side].append(elapsed)
                for step, values in got.items():
                    steps[side].setdefault(step, []).extend(values)
            log(f"part A round {r + 1}/{runs}: " + ", ".join(f"{s} {ms(samples[s][-1])}" for s in sides) + " (ms)")
        med = {s: statistics.median(v) for s, v in samples.items()}
        print(f"deploy: two targets, {runs} rounds, the three sides rotating; raw script = scp, ssh (mv, ln -sfn, "
              f"mv -T, supervisorctl restart), curl /health, one target after another, a connection per command")
        for s in sides:
            print(f"deploy: two targets: {s:<14} {spread(samples[s])}")
        for s in ("gobay parallel", "gobay serial"):
            ratio = med[s] / med["raw script"]
            ok = ratio <= 1.0
            if not ok:
                failed_goals.append(f"two targets {s}")
            print(f"deploy: two targets: {s} / raw script = {ratio:.2f}x ({ms(med[s] - med['raw script']):+d} ms; "
                  f"goal <= 1.0: {'met' if ok else 'NOT met'})")
        for s in sides:
            print(f"deploy: two targets: {s} steps, median ms per target: {step_summary(steps[s])}{cpu_summary(steps[s])}")

    if parts in ("all", "fanout"):
        counts = (1, 4, 8)
        fanout = os.path.join(workdir, "fanout.yml")
        log(f"part B warm-up: gobay deploy to all {len(bench.targets)} targets (starts the programs)")
        bench.deploy("gobay", bench.targets, fanout, select=True)
        samples = {n: [] for n in counts}
        steps = {n: {} for n in counts}
        for r in range(rounds):
            for n in counts[r % len(counts):] + counts[:r % len(counts)]:
                elapsed, got = bench.deploy("gobay", bench.targets[:n], fanout, select=True)
                samples[n].append(elapsed)
                for step, values in got.items():
                    steps[n].setdefault(step, []).extend(values)
            log(f"part B round {r + 1}/{rounds}: " + ", ".join(f"N={n} {ms(samples[n][-1])}" for n in counts)
                + " (ms)")
        med = {n: statistics.median(v) for n, v in samples.items()}
        print(f"deploy: parallel to N targets (strategy parallel, --target web-1 ... web-N), {rounds} rounds, "
              f"N rotating")
        for n in counts:
            print(f"deploy: parallel N={n}: {spread(samples[n])}; steps, median ms per target: {step_summary(steps[n])}"
                  f"{cpu_summary(steps[n])}")
        ratio = med[8] / med[1]
        ok = ratio <= 1.5
        if not ok:
            failed_goals.append("time(8) / time(1)")
        print(f"deploy: parallel time(8) / time(1) = {ratio:.2f} (goal <= 1.5: {'met' if ok else 'NOT met'}); "
              f"time(4) / time(1) = {med[4] / med[1]:.2f}")
    if failed_goals:
        log(f"goals not met: {', '.join(failed_goals)} (reported, not an error)")


COMMANDS = {"gen": cmd_gen, "overhead": cmd_overhead, "concurrent": cmd_concurrent, "webhooks": cmd_webhooks,
            "executors": cmd_executors, "prune-fill": cmd_prune_fill, "prune-run": cmd_prune_run,
            "startup": cmd_startup, "lib-gen": cmd_lib_gen, "dependent-gen": cmd_dependent_gen,
            "libfanout": cmd_libfanout, "lib-seed": cmd_lib_seed, "libpush": cmd_libpush,
            "deploy-builds": cmd_deploy_builds, "deploy-targets-start": cmd_deploy_targets_start,
            "deploy-targets-stop": cmd_deploy_targets_stop, "deploy-config": cmd_deploy_config,
            "deploy-run": cmd_deploy_run}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        die(f"usage: benchlib.py {{{'|'.join(COMMANDS)}}} ARGS...")
    COMMANDS[sys.argv[1]](*sys.argv[2:])
