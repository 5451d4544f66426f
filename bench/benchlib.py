"""Helpers for bench/overhead and bench/concurrent: project generation, gobay JSON, timing.

Every subprocess is an argv list; nothing here goes through a shell.
Run as `python3 bench/benchlib.py COMMAND ARGS...`; the bash scripts are the entry points.
"""

import json
import os
import shlex
import statistics
import subprocess
import sys
import time

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


def cmd_gen(root, module, go_directive, npkg, nfiles):
    """A git repo (branch master) with a Go module program that prints runtime.Version()."""
    npkg, nfiles = int(npkg), int(nfiles)
    run(["git", "init", "-q", "-b", "master", root])
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


COMMANDS = {"gen": cmd_gen, "overhead": cmd_overhead, "concurrent": cmd_concurrent}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        die(f"usage: benchlib.py {{{'|'.join(COMMANDS)}}} ARGS...")
    COMMANDS[sys.argv[1]](*sys.argv[2:])
