"""Count how many of the bad inputs in tests/hardening_cases.py break the error contract of the sparsesim that
is importable (run it with PYTHONPATH pointing at another checkout to measure that one).

The contract (README "Exit codes"): a bad input gives exit code 2 (3 for an external tool), exactly one
`error:` line on stderr, nothing on stdout... no traceback, and writes nothing. A case "breaks" it when any of
that fails; accepting a bad input (exit 0) counts as a break too. The message fragment is not checked here
(tests/test_hardening_inputs.py does). Each case runs in a forked child with a 60 s timeout and a 4 GiB
address-space limit, so an alias bomb or a hang counts as a break instead of stopping the count.

    .venv/bin/python scripts/contract_check.py            # this checkout
    PYTHONPATH=/path/to/other/checkout .venv/bin/python scripts/contract_check.py
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import resource
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(1, str(ROOT / "tests"))

from hardening_cases import CASES, Case  # noqa: E402
from test_hardening_inputs import prepare, snapshot  # noqa: E402

from sparsesim import cli  # noqa: E402

TIMEOUT_S = 60
MEMORY_BYTES = 4 << 30


def _child(case: Case, tmp: str, conn) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    tmp_path = Path(tmp)
    cwd = prepare(case, tmp_path)
    os.chdir(cwd)
    before = snapshot(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    argv = [a.replace("{tmp}", tmp) for a in case.argv]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # noqa: BLE001 - anything escaping main breaks the contract
        code, err = -1, io.StringIO(f"{type(exc).__name__}: {exc}")
    written = snapshot(tmp_path) != before
    conn.send((code, out.getvalue(), err.getvalue(), written))


def verdict(case: Case) -> str:
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory() as tmp:
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(case, tmp, child))
        proc.start()
        if not parent.poll(TIMEOUT_S):
            proc.kill()
            proc.join()
            return "hang or crash"
        try:
            code, out, err, written = parent.recv()
        except EOFError:
            return "hang or crash"
        proc.join()
    lines = err.strip().splitlines()
    if code == 0:
        return "accepted (exit 0)"
    if written:
        return "wrote files"
    if code not in (2, 3) or code != case.code:
        return f"exit {code}"
    if len(lines) != 1 or not lines[0].startswith("error: ") or "Traceback" in err or out:
        return "not one error line"
    return "ok"


def main() -> int:
    import sparsesim

    print(f"sparsesim from {Path(sparsesim.__file__).parent}", flush=True)
    heavy_modules = ("torch", "sparsesim.models", "sparsesim.pipeline", "sparsesim.sweep")
    for heavy in heavy_modules:
        with contextlib.suppress(ImportError):  # once here, not in every forked child
            __import__(heavy)
    counts: Counter[str] = Counter()
    for case in CASES:
        v = verdict(case)
        counts[v] += 1
        if v != "ok":
            print(f"  {case.id}: {v}", flush=True)
    broke = sum(n for v, n in counts.items() if v != "ok")
    print(f"{len(CASES)} bad inputs: {broke} broke the contract ({dict(counts)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
