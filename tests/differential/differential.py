#!/usr/bin/env python3
"""Differential runs of Arazzo workflows: capgen's compiled workflow vs Redocly CLI `respect`.

Driven by scripts/differential.sh. Each case (tests/differential/cases/*.yaml) names an Arazzo
document, a workflow, its inputs and the mock's answers; every case runs twice against a fresh
mock upstream (mock_upstream.py): once as the `run` subcommand of a crate capgen generates,
once under `respect`. The two recordings of requests, the workflow's success and its outputs
are normalised (`normalise_request`, README "Differential runs") and compared; a difference fails the run unless
expected-differences.yaml lists it with the reason.
"""
import argparse
import glob
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Headers neither workflow reading controls: each HTTP client sets them its own way.
TRANSPORT_HEADERS = {
    "host", "user-agent", "accept-encoding", "accept-language", "connection",
    "content-length", "sec-fetch-mode", "transfer-encoding",
}
# Redocly checks beyond the Arazzo success criteria (response code listed in the OpenAPI
# document, response schema, content type): Arazzo decides success by `successCriteria` alone
# (1.0.1, Step Object: "A list of assertions to determine the success of the step"), so both
# sides are compared on that.
SEVERITY = {"STATUS_CODE_CHECK": "off", "SCHEMA_CHECK": "off", "CONTENT_TYPE_CHECK": "off"}


def log(msg):
    print(f"==> {msg}", file=sys.stderr, flush=True)


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_cases():
    cases = []
    for path in sorted(glob.glob(os.path.join(HERE, "cases", "*.yaml"))):
        case = load_yaml(path)
        case["id"] = os.path.splitext(os.path.basename(path))[0]
        case["file"] = os.path.relpath(path, ROOT)
        case["arazzo_abs"] = os.path.join(ROOT, case["arazzo"])
        case["source_files"] = case_sources(case)
        cases.append(case)
    return cases


def case_sources(case):
    """Source name -> absolute OpenAPI file: the case's `sources`, else the document's URL."""
    doc = load_yaml(case["arazzo_abs"])
    base = os.path.dirname(case["arazzo_abs"])
    given = case.get("sources") or {}
    result = {}
    for source in doc.get("sourceDescriptions") or []:
        if source.get("type", "openapi") != "openapi":
            continue
        name = source["name"]
        if name in given:
            result[name] = os.path.join(ROOT, given[name])
        else:
            result[name] = os.path.normpath(os.path.join(base, source["url"]))
    return result


def redocly_document(case, work):
    """The document Redocly reads: the original, or a copy whose mapped sources are local files."""
    if not case.get("sources"):
        return case["arazzo_abs"]
    doc = load_yaml(case["arazzo_abs"])
    for source in doc.get("sourceDescriptions") or []:
        if source["name"] in case["source_files"]:
            source["url"] = case["source_files"][source["name"]]
    path = os.path.join(work, case["id"] + ".redocly.arazzo.yaml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    return path


class Mock:
    """One mock upstream process, recording into `record`."""

    def __init__(self, case, work, side):
        self.record = os.path.join(work, f"{case['id']}.{side}.requests.jsonl")
        port_file = os.path.join(work, f"{case['id']}.{side}.port")
        if os.path.exists(port_file):
            os.remove(port_file)
        cmd = [sys.executable, os.path.join(HERE, "mock_upstream.py"), "--record", self.record,
               "--port-file", port_file]
        for name, path in case["source_files"].items():
            cmd += ["--source", f"{name}={path}"]
        fixture = os.path.join(ROOT, case["file"])
        cmd += ["--fixture", fixture]
        self.proc = subprocess.Popen(cmd)
        deadline = time.time() + 30
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"mock upstream for {case['id']} did not start")
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read())

    def url(self, source):
        return f"http://127.0.0.1:{self.port}/{source}"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with open(self.record, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]


def large_stack():
    """64 MiB of main-thread stack for the generated binary: the debug build of a crate with
    hundreds of operations (the full run's) overflows the default 8 MiB before dispatching
    (a capgen issue, reported; the CI cases' crate runs within 8 MiB)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    want = 64 << 20
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_STACK,
                           (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))


def capgen_input(value):
    return value if isinstance(value, str) else json.dumps(value)


def run_capgen(case, binary, namespaces, work):
    mock = Mock(case, work, "capgen")
    try:
        cmd = [binary, "run", case["workflow"]]
        # Every namespace of the crate needs a base URI (the binary configures all its clients);
        # those of other documents point at the mock too, which answers 404 there.
        for name in sorted(namespaces):
            cmd += ["--base-uri", f"{name}={mock.url(name)}"]
        for key, value in (case.get("inputs") or {}).items():
            cmd += ["--input", f"{key}={capgen_input(value)}"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "RUST_LOG": "off"}, preexec_fn=large_stack)
    finally:
        requests = mock.stop()
    outputs = None
    if proc.returncode == 0:
        outputs = json.loads(proc.stdout)
    # A workflow capgen did not generate (warning `workflow-not-generated`) is unknown to `run`.
    generated = '"code":"unknown_operation"' not in proc.stdout + proc.stderr
    return {"success": proc.returncode == 0, "outputs": outputs, "requests": requests,
            "generated": generated, "log": proc.stdout + proc.stderr}


def run_redocly(case, node, cli, work):
    doc = redocly_document(case, work)
    mock = Mock(case, work, "redocly")
    report = os.path.join(work, f"{case['id']}.redocly.report.json")
    outputs_file = os.path.join(work, f"{case['id']}.redocly.outputs.json")
    for path in (report, outputs_file):
        if os.path.exists(path):
            os.remove(path)
    try:
        cmd = [node, os.path.join(HERE, "respect-outputs.mjs"), cli, "respect",
               os.path.basename(doc), "--workflow", case["workflow"],
               "--input", json.dumps(case.get("inputs") or {}),
               "--severity", json.dumps(SEVERITY), "--json-output", report]
        for name in case["source_files"]:
            cmd += ["--server", f"{name}={mock.url(name)}"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                              cwd=os.path.dirname(doc),
                              env={**os.environ, "RESPECT_OUTPUTS_FILE": outputs_file,
                                   "NO_COLOR": "1", "REDOCLY_TELEMETRY": "off",
                                   "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"})
    finally:
        requests = mock.stop()
    success, outputs, steps, ran = False, None, [], False
    if os.path.exists(report):
        data = load_yaml(report)
        for result in (data.get("files") or {}).values():
            for workflow in result.get("executedWorkflows") or []:
                if workflow.get("workflowId") == case["workflow"]:
                    ran = True
                    success = workflow.get("status") != "error"
                    steps = [s.get("stepId") for s in workflow.get("executedSteps") or []]
    if os.path.exists(outputs_file):
        recorded = load_yaml(outputs_file)
        if not recorded.get("patched"):
            raise RuntimeError("respect-outputs.mjs found no workflow outputs to record "
                               "(Redocly CLI version changed?)")
        for entry in recorded.get("workflows") or []:
            if entry["workflowId"] == case["workflow"]:
                outputs = entry["outputs"]
    return {"success": success, "outputs": outputs if success else None, "requests": requests,
            "steps": steps, "ran": ran, "log": proc.stdout + proc.stderr}


def redocly_problem(log):
    """The lines of Redocly's output that say why it did not run the workflow."""
    keep = [line.strip() for line in log.splitlines()
            if line.strip() and not any(ch in line for ch in "║╔╚─│┌└├")]
    return " / ".join(keep[-6:]) or "(no output; exit status 1)"


def normalise_request(entry):
    """What a workflow decides about a request; see NORMALISATIONS in the README section."""
    headers = {}
    for key, value in entry["headers"].items():
        if key in TRANSPORT_HEADERS:
            continue
        if key == "content-type":
            value = value.split(";")[0].strip()
        headers[key] = value
    # Redocly sends `Accept` from the operation's response media types, capgen's client its own:
    # neither comes from the workflow unless a step sets it, which both then send.
    headers.pop("accept", None)
    return {
        "step": f"{entry['source']}.{entry['operationId']}",
        "method": entry["method"],
        "path": entry["path"],
        # The order of query parameters is not fixed by Arazzo or OpenAPI.
        "query": sorted(map(list, entry["query"])),
        "headers": headers,
        "body": entry["body"],
    }


def diff(where, a, b, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            diff(f"{where}.{key}", a.get(key, "<absent>"), b.get(key, "<absent>"), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(f"{where}[{i}]", x, y, out)
    elif a != b:
        out.append({"where": where, "capgen": a, "redocly": b})


def compare(capgen, redocly):
    out = []
    if not capgen.get("generated", True):
        out.append({"where": "capgen-not-generated", "capgen": capgen["log"][:200],
                    "redocly": "ran" if redocly["ran"] else "did not run"})
    if not redocly["ran"]:
        out.append({"where": "redocly-did-not-run", "capgen": "ran" if capgen["requests"] else "-",
                    "redocly": redocly_problem(redocly["log"])})
        return out
    a = [normalise_request(r) for r in capgen["requests"]]
    b = [normalise_request(r) for r in redocly["requests"]]
    seq_a, seq_b = [r["step"] for r in a], [r["step"] for r in b]
    if seq_a != seq_b:
        out.append({"where": "steps", "capgen": seq_a, "redocly": seq_b})
    for i, (x, y) in enumerate(zip(a, b)):
        if x["step"] == y["step"]:
            diff(f"requests[{i}]", x, y, out)
    if capgen["success"] != redocly["success"]:
        out.append({"where": "success", "capgen": capgen["success"], "redocly": redocly["success"]})
    elif capgen["success"]:
        diff("outputs", capgen["outputs"], redocly["outputs"], out)
    return out


def workspace_profiles():
    """The `[profile.*]` tables of the repository's Cargo.toml, as written there."""
    out, keep = [], False
    with open(os.path.join(ROOT, "Cargo.toml"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("["):
                keep = line.startswith("[profile")
            if keep:
                out.append(line)
    return "\n" + "".join(out) if out else ""


def expected_for(expected, case_id, difference):
    for entry in expected:
        if entry["case"] == case_id and difference["where"].startswith(entry["where"]):
            return entry
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="case ids (default: every case, or --ci)")
    parser.add_argument("--ci", action="store_true", help="only the cases marked `ci: true`")
    parser.add_argument("--capgen", required=True, help="the capgen CLI binary")
    parser.add_argument("--node", required=True)
    parser.add_argument("--redocly-cli", required=True, help="@redocly/cli/bin/cli.js")
    parser.add_argument("--work", required=True, help="scratch directory (kept)")
    parser.add_argument("--crate-dir", required=True, help="where the generated crate goes")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()

    cases = load_cases()
    if args.cases:
        known = {c["id"] for c in cases}
        unknown = [c for c in args.cases if c not in known]
        if unknown:
            sys.exit(f"unknown case(s): {', '.join(unknown)}")
        cases = [c for c in cases if c["id"] in args.cases]
    elif args.ci:
        cases = [c for c in cases if c.get("ci")]
    if args.list:
        for case in cases:
            ci = "\tci" if case.get("ci") else ""
            print(f"{case['id']}\t{case['workflow']}\t{case['arazzo']}{ci}")
        return 0
    os.makedirs(args.work, exist_ok=True)
    expected = load_yaml(os.path.join(HERE, "expected-differences.yaml")) or []
    started = time.time()

    # capgen: one crate for every document it accepts (one build for all cases).
    docs, sources = [], {}
    for case in cases:
        if case["arazzo_abs"] not in docs:
            docs.append(case["arazzo_abs"])
        for name, path in (case.get("sources") or {}).items():
            sources[name] = os.path.join(ROOT, path)
    source_args = [x for name, path in sorted(sources.items()) for x in ("--source", f"{name}={path}")]
    rejected = {}
    for doc in docs:
        proc = subprocess.run([args.capgen, "check", doc, *source_args], capture_output=True, text=True)
        if proc.returncode != 0:
            rejected[doc] = proc.stdout + proc.stderr
    accepted = [d for d in docs if d not in rejected]
    namespaces = {n for c in cases if c["arazzo_abs"] in accepted for n in c["source_files"]}
    binary = None
    if accepted:
        log(f"generating one crate from {len(accepted)} Arazzo document(s) into {args.crate_dir}")
        cmd = [args.capgen, "generate", *[x for d in accepted for x in ("--arazzo", d)], *source_args,
               "--out", args.crate_dir, "--crate-name", "differential-workflows",
               "--runtime-path", os.path.join(ROOT, "runtime")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout + proc.stderr, file=sys.stderr)
            sys.exit("capgen generate failed on the documents together (each alone passes `capgen check`)")
        # The workspace's lock file, so the crate builds with the dependency versions (and the
        # compiled dependencies in CARGO_TARGET_DIR) the workspace uses.
        shutil.copy(os.path.join(ROOT, "Cargo.lock"), os.path.join(args.crate_dir, "Cargo.lock"))
        # Its own workspace (the crate may live under this repository's target directory), with
        # the workspace's profiles, so dependencies compiled by the workspace's build are reused.
        with open(os.path.join(args.crate_dir, "Cargo.toml"), "a", encoding="utf-8") as f:
            f.write("\n[workspace]\n" + workspace_profiles())
        log("building the generated crate")
        subprocess.run(["cargo", "build", "--quiet", "--manifest-path",
                        os.path.join(args.crate_dir, "Cargo.toml")], check=True)
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(args.crate_dir, "target")
        binary = os.path.join(target, "debug", "differential-workflows")
    built = time.time()

    results, unexplained, explained, seen = [], 0, 0, set()
    for case in cases:
        if case["arazzo_abs"] in rejected:
            # capgen rejects the document: a difference only when Redocly runs the workflow.
            redocly = run_redocly(case, args.node, args.redocly_cli, args.work)
            capgen = {"success": False}
            differences = []
            if redocly["ran"]:
                errors = [l for l in rejected[case["arazzo_abs"]].splitlines() if l.startswith("error")]
                differences = [{"where": "capgen-rejects", "capgen": errors[:5], "redocly": "ran"}]
        else:
            capgen = run_capgen(case, binary, namespaces, args.work)
            redocly = run_redocly(case, args.node, args.redocly_cli, args.work)
            differences = compare(capgen, redocly)
            with open(os.path.join(args.work, case["id"] + ".json"), "w") as f:
                json.dump({"capgen": capgen, "redocly": redocly, "differences": differences}, f, indent=1)
        lines = []
        for d in differences:
            entry = expected_for(expected, case["id"], d)
            if entry:
                seen.add((entry["case"], entry["where"]))
                explained += 1
                lines.append(f"    expected  {d['where']}: {entry['reason'].strip().splitlines()[0]}")
            else:
                unexplained += 1
                lines.append(f"    DIFFERENT {d['where']}: capgen {json.dumps(d['capgen'])[:300]}"
                             f" | redocly {json.dumps(d['redocly'])[:300]}")
        if any("DIFFERENT" in line for line in lines):
            status = "DIFFERENT"
        else:
            status = "ok" + (" (expected differences)" if lines else "")
            if not differences and case["arazzo_abs"] in rejected:
                status += " (both reject the document)"
            elif not differences:
                status += " (both succeed)" if capgen["success"] else " (both fail)"
        print(f"{case['id']:<48} {status}")
        for line in lines:
            print(line)
        results.append(case["id"])
    stale = [e for e in expected if e["case"] in {c["id"] for c in cases}
             and (e["case"], e["where"]) not in seen]
    for entry in stale:
        unexplained += 1
        print(f"STALE expected difference (no longer occurs): {entry['case']} {entry['where']}")
    print(f"\n{len(results)} workflow(s), {explained} expected difference(s), "
          f"{unexplained} unexplained; build {built - started:.0f}s, runs {time.time() - built:.0f}s "
          f"(details in {args.work})")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
