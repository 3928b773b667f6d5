"""Say something in a chat room of the cluster from a plain script (no server), through Redis:

    python examples/cluster/notify.py lobby "the build is green"

(``REDIS_URL`` in the environment points it at another Redis.)
"""

import os
import sys

import gsio

room, text = sys.argv[1], " ".join(sys.argv[2:])
emitter = gsio.Emitter(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
emitter.to(room).emit("said", {"room": room, "name": "notify.py", "text": text})
