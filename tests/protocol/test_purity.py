"""The protocol core is pure: it imports no I/O layer and reads no clock (DESIGN.md, "The layers").

Three proofs:

1. At run time, in a fresh interpreter: importing the core modules pulls in none of gevent,
   greenlet, socket, selectors, threading, wsgiref, werkzeug, simple_websocket, geventwebsocket.
2. At run time, the ordinary way: a plain ``import gsio.protocol.<module>`` (which runs
   gsio/__init__.py first) loads no gsio module outside the core but ``gsio`` and
   ``gsio.exceptions``.
3. In the source (ast): the core imports nothing outside the standard library, gsio.exceptions,
   gsio.protocol and the core itself, no standard I/O module, and calls no clock.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys

import pytest

GSIO_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "gsio"
)

# The pure core, as module names: every module of the gsio.protocol package.
PURE_MODULES = sorted(
    "gsio.protocol." + name[:-3]
    for name in os.listdir(os.path.join(GSIO_DIR, "protocol"))
    if name.endswith(".py") and name != "__init__.py"
)

FORBIDDEN_AT_RUNTIME = [
    "gevent",
    "greenlet",
    "socket",
    "_socket",
    "selectors",
    "threading",
    "wsgiref",
    "werkzeug",
    "simple_websocket",
    "geventwebsocket",
]

# Run in the child interpreter. Importing "gsio.protocol.engineio" the ordinary way would first run
# gsio/__init__.py, which imports the whole server (engine, WSGI, gevent): that would prove
# nothing. So the child registers a bare module object as the package "gsio", whose __path__ is
# the real gsio directory and which runs no code. The import system then finds and executes the
# real submodules (and subpackages such as gsio/protocol/__init__.py) from that directory, exactly
# as usual -- only gsio/__init__.py itself is skipped. The child also runs with -S (no site:
# a .pth file in site-packages may import threading at start-up) and -I (no PYTHONPATH, no
# user site), so that it starts from a clean sys.modules; it checks that before importing.
CHILD = r"""
import importlib, json, sys, types

gsio_dir, modules, forbidden = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])

def loaded(names):
    return sorted(m for m in sys.modules if m.split(".")[0] in names)

before = loaded(forbidden)
stub = types.ModuleType("gsio")
stub.__path__ = [gsio_dir]
sys.modules["gsio"] = stub
for name in modules:
    importlib.import_module(name)
print(json.dumps({
    "before": before,
    "after": loaded(forbidden),
    "gsio": sorted(m for m in sys.modules if m == "gsio" or m.startswith("gsio.")),
    "stub_intact": sys.modules["gsio"] is stub and not hasattr(stub, "__version__"),
}))
"""


def import_in_fresh_interpreter(modules: list[str]) -> dict:
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            CHILD,
            GSIO_DIR,
            json.dumps(modules),
            json.dumps(FORBIDDEN_AT_RUNTIME),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_pure_core_imports_no_io_layer():
    report = import_in_fresh_interpreter(PURE_MODULES)
    assert report["before"] == [], "the child interpreter did not start clean"
    assert report["after"] == []
    assert report["stub_intact"] is True  # gsio/__init__.py never ran
    # only the core and what it may import were loaded
    allowed = set(PURE_MODULES) | {"gsio", "gsio.exceptions", "gsio.protocol"}
    assert set(report["gsio"]) <= allowed
    assert set(PURE_MODULES) <= set(report["gsio"])


def test_the_runtime_check_can_fail():
    # The harness itself: an I/O module imported beside the core is caught. If this passed
    # vacuously, the test above would prove nothing.
    report = import_in_fresh_interpreter(["gsio.protocol.engineio", "selectors"])
    assert report["before"] == []
    assert "selectors" in report["after"]
    assert report["gsio"] == ["gsio", "gsio.exceptions", "gsio.protocol", "gsio.protocol.engineio"]


PLAIN_CHILD = r"""
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
importlib.import_module(sys.argv[2])
print(json.dumps({
    "file": sys.modules["gsio"].__file__,
    "gsio": sorted(m for m in sys.modules if m == "gsio" or m.startswith("gsio.")),
    "forbidden": sorted(m for m in sys.modules if m.split(".")[0] in json.loads(sys.argv[3])),
}))
"""


def plain_import_in_fresh_interpreter(module: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}  # DEBUG=gsio* loads gsio.debug
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",  # no site: a .pth file may import threading at start-up
            "-c",
            PLAIN_CHILD,
            os.path.dirname(GSIO_DIR),
            module,
            json.dumps(FORBIDDEN_AT_RUNTIME),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _core_or_allowed(name: str) -> bool:
    return name in ("gsio", "gsio.exceptions", "gsio.protocol") or name.startswith("gsio.protocol.")


@pytest.mark.parametrize("module", ["gsio.protocol", *PURE_MODULES])
def test_a_plain_import_of_the_core_loads_only_the_core(module):
    report = plain_import_in_fresh_interpreter(module)
    assert report["file"] == os.path.join(GSIO_DIR, "__init__.py")
    assert [name for name in report["gsio"] if not _core_or_allowed(name)] == []
    assert module in report["gsio"]
    assert report["forbidden"] == []


def test_the_plain_import_check_can_fail():
    # gsio.server.namespace is not core: the same check sees what it loads.
    report = plain_import_in_fresh_interpreter("gsio.server.namespace")
    assert [name for name in report["gsio"] if not _core_or_allowed(name)] != []


# -- the source ---------------------------------------------------------------------------------

ALLOWED_GSIO_IMPORTS = ("gsio.exceptions", "gsio.protocol", *PURE_MODULES)

# Packages outside the standard library that compute only (no I/O, no clock), which a core
# module may use: msgpack, for the msgpack parser (imported when its codec is made, so that the
# fresh interpreter above, which has no site-packages, imports the module without it).
PURE_THIRD_PARTY = {"msgpack"}

# Standard modules that are I/O, concurrency or a clock: the core has no use for them.
FORBIDDEN_STDLIB = {
    "socket",
    "ssl",
    "select",
    "selectors",
    "threading",
    "_thread",
    "asyncio",
    "subprocess",
    "multiprocessing",
    "concurrent",
    "queue",
    "wsgiref",
    "http",
    "urllib",
    "time",
    "datetime",
    "sched",
    "signal",
}

# Pure modules of forbidden packages (urllib.parse splits strings; urllib.request does I/O).
PURE_STDLIB = {"urllib.parse"}

# Calls that read a clock or sleep, by their last two dotted names (time.time, datetime.now, ...).
CLOCK_CALLS = {
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "monotonic_ns"),
    ("time", "perf_counter"),
    ("time", "perf_counter_ns"),
    ("time", "process_time"),
    ("time", "sleep"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
}


def _is_stdlib(top: str) -> bool:
    names = getattr(sys, "stdlib_module_names", None)  # Python 3.10+
    if names is not None:
        return top in names
    spec = importlib.util.find_spec(top)  # Python 3.9: where does it come from?
    if spec is None:
        return False
    if spec.origin in ("built-in", "frozen"):
        return True
    stdlib = os.path.dirname(os.__file__)
    origin = spec.origin or ""
    return origin.startswith(stdlib) and "site-packages" not in origin


def _module_path(name: str) -> str:
    return os.path.join(os.path.dirname(GSIO_DIR), *name.split(".")) + ".py"


def _resolve(node: ast.ImportFrom, module: str) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")[: -node.level]
    return ".".join(package + ([node.module] if node.module else []))


def imports_of(module: str, tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, module)
            if base == "__future__":
                continue
            if base == "gsio" or node.module is None:
                # "from gsio import x" / "from . import x": x may be a submodule; and anything
                # taken from the package "gsio" itself runs gsio/__init__.py (the whole server)
                names.extend(f"{base}.{alias.name}" for alias in node.names)
            else:
                names.append(base)
    return names


def import_problems(module: str, tree: ast.AST) -> list[str]:
    problems = []
    for name in imports_of(module, tree):
        top = name.split(".")[0]
        if top == "gsio":
            if not any(name == ok or name.startswith(ok + ".") for ok in ALLOWED_GSIO_IMPORTS):
                problems.append(f"imports {name}")
        elif top in PURE_THIRD_PARTY:
            continue
        elif not _is_stdlib(top):
            problems.append(f"imports {name} (not in the standard library)")
        elif top in FORBIDDEN_STDLIB and name not in PURE_STDLIB:
            problems.append(f"imports {name} (I/O, concurrency or clock)")
    return problems


def _dotted(node: ast.AST) -> list[str]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


def clock_problems(tree: ast.AST) -> list[str]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if tuple(name[-2:]) in CLOCK_CALLS:
                problems.append(f"line {node.lineno}: calls {'.'.join(name)}()")
        elif isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            for alias in node.names:
                if (node.module, alias.name) in CLOCK_CALLS or alias.name in ("datetime", "date"):
                    problems.append(f"line {node.lineno}: from {node.module} import {alias.name}")
    return problems


def parse(module: str) -> ast.AST:
    path = _module_path(module)
    with open(path, encoding="utf-8") as f:
        return ast.parse(f.read(), filename=path)


@pytest.mark.parametrize("module", [*PURE_MODULES, "gsio.exceptions"])
def test_source_imports_only_stdlib_and_the_core(module):
    assert import_problems(module, parse(module)) == []


@pytest.mark.parametrize("module", [*PURE_MODULES, "gsio.exceptions"])
def test_source_reads_no_clock(module):
    assert clock_problems(parse(module)) == []


@pytest.mark.parametrize(
    "source, problems",
    [
        ("import json, enum\nfrom typing import Any\nfrom __future__ import annotations", []),
        ("from gsio.exceptions import ProtocolError", []),
        ("from gsio.protocol.engineio import Packet", []),
        ("from .packet import Packet", []),
        ("import gevent", ["imports gevent (not in the standard library)"]),
        (
            "from simple_websocket import Server",
            ["imports simple_websocket (not in the standard library)"],
        ),
        ("import socket", ["imports socket (I/O, concurrency or clock)"]),
        ("import threading", ["imports threading (I/O, concurrency or clock)"]),
        ("from gsio.io import concurrency", ["imports gsio.io"]),
        ("from gsio.engine import Engine", ["imports gsio.engine"]),
        ("from gsio import ProtocolError", ["imports gsio.ProtocolError"]),
        ("import gsio", ["imports gsio"]),
        ("from .. import polling", ["imports gsio.polling"]),
    ],
)
def test_import_scan_can_fail(source, problems):
    assert import_problems("gsio.protocol.session", ast.parse(source)) == problems


@pytest.mark.parametrize(
    "source, problems",
    [
        ("x = now + 1\nsession.on_timer(now)", []),
        ("time.monotonic()", ["line 1: calls time.monotonic()"]),
        ("t = time.time()", ["line 1: calls time.time()"]),
        ("datetime.now()", ["line 1: calls datetime.now()"]),
        ("datetime.datetime.utcnow()", ["line 1: calls datetime.datetime.utcnow()"]),
        ("from time import monotonic", ["line 1: from time import monotonic"]),
    ],
)
def test_clock_scan_can_fail(source, problems):
    assert clock_problems(ast.parse(source)) == problems
