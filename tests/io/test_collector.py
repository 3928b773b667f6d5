"""The garbage collector's freezing policy (gsio.io.collector), with the real collector: each
case runs in a fresh interpreter, since the policy is process-wide."""

import json
import subprocess
import sys
import textwrap

PRELUDE = """
import gc, json, time, weakref
from gsio.io.collector import COLLECTOR, collect_all

class Session:  # a closed connection's objects: a cycle only the collector frees
    def __init__(self):
        self.me = self
        self.data = [self]

def full_pass():
    gc.collect()  # (a full pass: the callbacks are told generation 2)
"""


def run(body: str) -> dict:
    script = PRELUDE + textwrap.dedent(body)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_full_pass_freezes_what_survived_and_later_passes_leave_it_out():
    result = run(
        """
        COLLECTOR.opened()
        keep = [Session() for _ in range(5000)]
        full_pass()
        frozen = gc.get_freeze_count()
        in_gen2 = len(gc.get_objects(generation=2))
        young = [Session() for _ in range(100)]
        full_pass()
        print(json.dumps({"frozen": frozen, "in_gen2": in_gen2, "passes": COLLECTOR.passes,
                          "after": gc.get_freeze_count()}))
        """
    )
    assert result["frozen"] >= 10000  # the sessions and their lists
    assert result["in_gen2"] < 100  # (nothing left to walk)
    assert result["passes"] == 2 and result["after"] >= result["frozen"] + 200


def test_closed_sessions_thaw_their_cycles_once_a_quarter_of_them_closed():
    result = run(
        """
        COLLECTOR.floor = 10
        sessions = []
        for _ in range(400):
            COLLECTOR.opened()
            sessions.append(Session())
        full_pass()
        gone = []
        refs = [weakref.ref(s, lambda r: gone.append(1)) for s in sessions]
        del sessions, refs[:0]
        # 100 close (a quarter): their cycles wait in frozen memory, unseen by full passes.
        for _ in range(100):
            COLLECTOR.closed()
        full_pass()
        waiting = len(gone)
        thaws = COLLECTOR.thaws
        COLLECTOR.closed()  # one more: a thaw, and the next full pass frees them all
        full_pass()
        print(json.dumps({"waiting": waiting, "thaws_before": thaws, "thaws": COLLECTOR.thaws,
                          "freed": len(gone), "live": COLLECTOR.live}))
        """
    )
    assert result["waiting"] == 0 and result["thaws_before"] == 0
    assert result["thaws"] == 1 and result["freed"] == 400 and result["live"] == 299


def test_a_full_pass_long_after_the_last_thaw_thaws_instead_of_freezing():
    result = run(
        """
        COLLECTOR.opened()
        held = [Session() for _ in range(100)]
        full_pass()
        gone = []
        refs = [weakref.ref(s, lambda r: gone.append(1)) for s in held]
        del held
        COLLECTOR.thaw_after = 0.0  # (an application's cycles: no session closed)
        time.sleep(0.01)
        full_pass()  # thaws
        COLLECTOR.thaw_after = 300.0
        full_pass()  # walks everything: frees them
        print(json.dumps({"freed": len(gone), "thaws": COLLECTOR.thaws}))
        """
    )
    assert result == {"freed": 100, "thaws": 1}


def test_collect_all_frees_frozen_cycles_and_disable_leaves_the_collector_alone():
    result = run(
        """
        COLLECTOR.opened()
        held = [Session() for _ in range(100)]
        full_pass()
        gone = []
        refs = [weakref.ref(s, lambda r: gone.append(1)) for s in held]
        del held
        full_pass()
        before = len(gone)
        collect_all()
        freed = len(gone)
        counted = gc.get_freeze_count()  # (nothing frozen again: get_objects() sees it all)
        COLLECTOR.disable()
        other = [Session() for _ in range(100)]
        full_pass()
        print(json.dumps({"before": before, "freed": freed, "counted": counted,
                          "frozen": gc.get_freeze_count(),
                          "installed": COLLECTOR.installed,
                          "ours": any(cb == COLLECTOR._on_gc for cb in gc.callbacks)}))
        """
    )
    assert result == {
        "before": 0,
        "freed": 100,
        "counted": 0,
        "frozen": 0,
        "installed": False,
        "ours": False,
    }


def test_an_engine_with_gc_freeze_false_never_installs_it():
    result = run(
        """
        import gsio
        gsio.Server(async_mode="threading", gc_freeze=False)
        COLLECTOR.opened()
        full_pass()
        print(json.dumps({"frozen": gc.get_freeze_count(), "installed": COLLECTOR.installed}))
        """
    )
    assert result == {"frozen": 0, "installed": False}


def test_a_trim_is_due_once_half_the_sessions_closed_and_once_all_are_gone():
    result = run(
        """
        calls = []
        COLLECTOR.trimmer, COLLECTOR._trimmer_found = calls.append, True
        COLLECTOR.floor = 10
        for _ in range(100):
            COLLECTOR.opened()
        due = [COLLECTOR.closed() for _ in range(49)]
        first = COLLECTOR.closed()  # half: due (once, until trimmed)
        again = COLLECTOR.closed()
        COLLECTOR.trim()
        # The most is 49 now: due again at 24 (25 closed), at 12, at 2, then at 0.
        for _ in range(49):
            due.append(COLLECTOR.closed())
            if due[-1]:
                COLLECTOR.trim()
        print(json.dumps({"before": any(due[:49]), "first": first, "again": again,
                          "later": due[49:].count(True), "calls": calls, "live": COLLECTOR.live,
                          "trims": COLLECTOR.trims}))
        """
    )
    assert result == {
        "before": False,
        "first": True,
        "again": False,
        "later": 4,
        "calls": [0] * 5,
        "live": 0,
        "trims": 5,
    }
