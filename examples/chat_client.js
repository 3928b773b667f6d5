// A terminal client for examples/chat.py:  node examples/chat_client.js NAME ROOM [URL]
// Needs socket.io-client, from examples/package.json: run `npm ci --prefix examples` once.
const { io } = require('socket.io-client');
const [name = 'guest', room = 'lobby', url = 'http://127.0.0.1:5000'] = process.argv.slice(2);
const socket = io(url, { auth: { name } });
socket.on('connect_error', (err) => console.log('refused:', err.message, err.data || ''));
socket.on('connect', async () => {
  console.log('in rooms', await socket.emitWithAck('join', room));
  process.stdin.on('data', (line) => socket.emit('say', room, String(line).trim()));
});
socket.on('joined', (m) => console.log(`* ${m.name} joined ${m.room}`));
socket.on('said', (m) => console.log(`${m.name}@${m.room}: ${m.text}`));
