"""Running several servers as one: the Redis adapter, its wire format, and the emitter.

Importing this package needs ``msgpack`` and ``redis`` (``pip install gsio[redis]``).
"""
