"""The ``compress`` flag (Node's ``compress(false)``): kept through every step of a broadcast's
recipients, carried on the cluster's wire as Node's adapters write it (``flags.compress``)."""

from gsio.cluster.messages import wire_flags
from gsio.server.recipients import EVERYONE, Recipients


def test_the_flag_survives_every_step():
    plain = EVERYONE.flagged(compress=False)
    assert EVERYONE.compress and not plain.compress
    assert not plain.to("a").except_("b").flagged(volatile=True, timeout=1.0).compress
    assert plain.flagged(compress=True).compress
    assert plain.flags == {"compress": False}
    assert EVERYONE.flags == {}


def test_the_flag_on_the_wire():
    assert wire_flags(EVERYONE.flagged(compress=False, volatile=True).flags) == {
        "volatile": True,
        "compress": False,
    }
    assert not Recipients(flags={"compress": False}).compress
    assert Recipients(flags={"compress": True}).compress
    assert Recipients(flags={"volatile": True}).compress  # absent: compressed, as in Node
