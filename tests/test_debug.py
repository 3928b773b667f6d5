"""DEBUG=gsio* scopes, as the npm debug package reads them, and the output they turn on."""

import os
import subprocess
import sys

import pytest

from gsio.debug import SCOPES, scopes_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("", []),
        ("express:*", []),
        ("gsio*", list(SCOPES)),
        ("gsio:*", list(SCOPES)),
        ("gsio:engine", ["gsio:engine"]),
        ("gsio:engine,gsio:socket", ["gsio:engine", "gsio:socket"]),
        ("gsio:engine gsio:socket", ["gsio:engine", "gsio:socket"]),
        ("gsio*,-gsio:access", [s for s in SCOPES if s != "gsio:access"]),
        ("gsio*,-gsio:packet", [s for s in SCOPES if s != "gsio:packet"]),
        ("socket.io*,gsio:adapter", ["gsio:adapter"]),
        ("*", list(SCOPES)),
    ],
)
def test_scopes_for(spec, expected):
    assert scopes_for(spec) == expected


def _run(debug, imports="gsio"):
    code = (
        f"import logging, {imports}\n"
        "logging.getLogger('gsio.engine').debug('engine says hi')\n"
        "logging.getLogger('gsio.socket').debug('socket says hi')\n"
    )
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("DEBUG", None)
    if debug is not None:
        env["DEBUG"] = debug
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_debug_env_turns_on_the_named_scopes_only():
    err = _run("gsio:engine")
    assert "gsio:engine engine says hi" in err
    assert "socket says hi" not in err


def test_no_debug_env_no_output_and_no_handlers():
    assert _run(None) == ""


def test_debug_env_works_when_only_the_server_is_imported():
    # gsio/__init__.py resolves its names lazily; DEBUG is still read whatever gsio module is used.
    err = _run("gsio*", imports="gsio.server")
    assert "gsio:engine engine says hi" in err
    assert "gsio:socket socket says hi" in err


def test_the_pure_core_does_not_load_the_debug_module_without_debug_env():
    code = "import sys, gsio.protocol.engineio\nprint('gsio.debug' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("DEBUG", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout == "False\n", done.stderr
