"""A warm process that runs ``python -m preview`` many times over: what the test suite's variant previews use.

Each preview spends most of its start importing the SDKs (``pulumi_aws`` alone is seconds of it, the same every
time), and Pulumi's runtime is process-global. So the server imports the SDKs once and forks a child per run:
each child is a fresh ``python -m preview`` (its own runtime, config, environment, working directory and project
modules, imported anew so a test's environment reaches ``preview/mocks.py`` as it would a new process) that only
skips the SDK imports. The child's exit code, stdout and stderr are the command's, unchanged.

Which modules are warm is learned, not listed: after a run the child reports the third-party and standard-library
modules it imported, and the server imports them before the next fork. The project's own modules are never
imported in the server, so none of their state outlives a run.

Protocol (one JSON object per line): the client writes ``{"argv", "cwd", "env", "stdout", "stderr"}`` (paths the
child's output goes to); the server answers ``{"pid"}`` when the child starts and ``{"exit_code"}`` when it ends.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import os
import pathlib
import select
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from typing import IO, Any, NoReturn

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Where a module may come from and still be shared by every run: the interpreter's and the venv's libraries.
SHARED_PREFIXES = tuple(
    {
        str(pathlib.Path(sysconfig.get_path(key)).resolve()) + os.sep
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
    }
)


def shared(module: Any) -> bool:
    file = getattr(module, "__file__", None)
    return bool(file) and str(pathlib.Path(file).resolve()).startswith(SHARED_PREFIXES)


def _report_modules(path: str, warm: set[str]) -> None:
    names = [name for name, module in list(sys.modules.items()) if name not in warm and shared(module)]
    pathlib.Path(path).write_text("\n".join(names))


def _warm(path: pathlib.Path) -> None:
    if not path.exists():
        return
    for name in path.read_text().splitlines():
        # A module that fails to import here just stays cold: the child imports it as a fresh process would.
        with contextlib.suppress(Exception):
            import_as_reached(name)
    path.unlink()


def import_as_reached(name: str) -> None:
    """Import ``name`` as the program reached it: through its package, which comes first.

    pulumi_aws's packages are lazy (``pulumi._utils.lazy_import``): the package's body runs when something first
    reads a name from it, and that body imports its submodules and rebinds names like ``ecr.get_image`` (a
    function, in a submodule of the same name). Importing a submodule while its package is still lazy sets the
    submodule as that name, and the lazy load puts it back over the function afterwards; so the package's body
    runs first (a read of a name that is not one of the introspection attributes the lazy module answers without
    loading), and a submodule that body imported is left alone.
    """
    if name in sys.modules:
        return
    parent = name.rpartition(".")[0]
    if parent:
        import_as_reached(parent)
        getattr(sys.modules[parent], "preview_worker_load", None)  # runs a lazy package's body
        if name in sys.modules:
            return
    importlib.import_module(name)


def _run_child(request: dict[str, Any], modules_file: str) -> int:
    """In the forked child: become ``python -m preview <argv>`` and return its exit code."""
    warm = set(sys.modules)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    stdin = os.open(os.devnull, os.O_RDONLY)
    if stdin != 0:
        os.dup2(stdin, 0)
        os.close(stdin)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's stdin, as a fresh interpreter has it
    for fd, target in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, fd)
        os.close(out)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.setpgrp()  # its own process group: a timeout kills the run and the policy pack it started
    sys.path[0] = request["cwd"]
    try:
        # What `python -m preview` runs, less its exit (preview.__main__.exit_now): the report below comes first.
        cli = importlib.import_module("preview.__main__")
        sys.argv = [cli.__file__ or "preview", *request["argv"]]
        code: Any = cli.main(request["argv"])
    except SystemExit as exit_:
        code = exit_.code
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    _report_modules(modules_file, warm)
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _exit(code: int) -> NoReturn:
    """End the child as ``python -m preview`` ends (preview.__main__.exit_now), exit handlers run first."""
    atexit._run_exitfuncs()  # pyright: ignore[reportPrivateUsage] - the interpreter's own exit step, no public name
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def serve(requests: IO[str], replies: IO[str]) -> None:
    """The server loop: a child per request, until the client closes its end."""
    modules_file = pathlib.Path(tempfile.mkstemp(prefix="preview-worker-modules-")[1])
    modules_file.unlink()
    for line in requests:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            requests.close()
            replies.close()
            _exit(_run_child(request, str(modules_file)))
        replies.write(json.dumps({"pid": pid}) + "\n")
        replies.flush()
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"exit_code": os.waitstatus_to_exitcode(status)}) + "\n")
        replies.flush()
        _warm(modules_file)
        # Out of the collector's sight: each child then shares the server's pages instead of copying them all.
        gc.freeze()


def main() -> int:
    # The protocol owns the original stdout; anything else printed in the server goes to stderr.
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    serve(sys.stdin, replies)
    return 0


class Worker:
    """Client: one server process, one preview at a time; ``run`` is ``subprocess.run`` of ``python -m preview``."""

    def __init__(self, python: str = sys.executable, cwd: pathlib.Path = ROOT):
        self.process = subprocess.Popen(
            [python, "-m", "preview.worker"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._pending = b""

    def run(
        self, argv: list[str], *, cwd: pathlib.Path = ROOT, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        assert self.process.stdin is not None and self.process.stdout is not None  # both PIPE above
        with tempfile.TemporaryDirectory(prefix="preview-run-") as tmp:
            out, err = pathlib.Path(tmp) / "stdout", pathlib.Path(tmp) / "stderr"
            request = {
                "argv": argv,
                "cwd": str(cwd),
                "env": dict(os.environ if env is None else env),
                "stdout": str(out),
                "stderr": str(err),
            }
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            # The fork itself waits for the server (warming up after the previous run): not the run's time.
            pid = self._reply(max(timeout, 300))["pid"]
            deadline = time.monotonic() + timeout
            try:
                code = self._reply(deadline - time.monotonic())["exit_code"]
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                self._reply(30)
                raise subprocess.TimeoutExpired(["python", "-m", *argv], timeout) from None
            # Decoded as subprocess.run(text=True) decodes: the locale's encoding, universal newlines.
            return subprocess.CompletedProcess(["python", "-m", *argv], code, out.read_text(), err.read_text())

    def _reply(self, timeout: float) -> dict[str, Any]:
        """The next reply line, read from the raw pipe (a buffered reader would hide a second line from select)."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise subprocess.TimeoutExpired("preview.worker", timeout)
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"preview worker exited ({self.process.wait()})")
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


if __name__ == "__main__":
    sys.exit(main())
