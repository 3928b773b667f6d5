"""Echo server with the blocking API: one greenlet per connection, looping on conn.receive().

Run:  python examples/echo.py   (then connect a socket.io-client to http://127.0.0.1:5000)
"""

from gevent import monkey

monkey.patch_all()

import gsio  # noqa: E402

sio = gsio.Server()


@sio.handler
def echo(conn):
    conn.emit("hello", conn.id)
    for msg in conn:  # ends when the client disconnects
        if msg.event == "quit":
            return  # returning disconnects the client
        conn.emit(msg.event, *msg.args)  # echo the event back...
        msg.reply(*msg.args)  # ...and acknowledge it, if the client asked


if __name__ == "__main__":
    print("echo server on http://127.0.0.1:5000")
    sio.serve("127.0.0.1", 5000)
