// app.js — the demo page: lobby, chat (Socket.IO default namespace: join,
// publish), and the video call (call.js over /signal).
import { Call, MAX_PEOPLE } from './call.js';

const $ = (id) => document.getElementById(id);
const state = { name: '', room: '', socket: null, call: null, stream: null, tiles: new Map() };

// ---- banner -----------------------------------------------------------
function banner(text, kind = 'error') {
  $('bannerText').textContent = text;
  $('banner').className = 'banner' + (kind === 'info' ? ' info' : '');
  $('banner').hidden = false;
}
$('bannerClose').onclick = () => { $('banner').hidden = true; };

// ---- lobby ------------------------------------------------------------
const params = new URLSearchParams(location.search);
$('room').value = params.get('room') || '';
$('name').value = localStorage.getItem('switchboard.name') || '';
(($('name').value ? $('room') : $('name'))).focus();

$('joinForm').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('name').value.trim();
  const room = $('room').value.trim();
  if (!name || !room) { $('lobbyError').textContent = 'Please enter a name and a room.'; return; }
  $('lobbyError').textContent = '';
  $('joinBtn').disabled = true;
  $('joinBtn').textContent = 'Joining…';
  try {
    await enterRoom(name, room, $('withMedia').checked);
  } catch (err) {
    console.error('join failed:', err);
    $('lobbyError').textContent = (err && err.message) || 'Something went wrong while joining. Please try again.';
  } finally {
    $('joinBtn').disabled = false;
    $('joinBtn').textContent = 'Join room';
  }
});

async function enterRoom(name, room, withMedia) {
  if (typeof window.io !== 'function') throw new Error('The chat client did not load. Check your connection and reload the page.');
  localStorage.setItem('switchboard.name', name);
  state.name = name;
  state.room = room;

  if (withMedia) state.stream = await getMedia();
  await joinChat(room);

  history.replaceState(null, '', `?room=${encodeURIComponent(room)}`);
  $('lobby').hidden = true;
  $('roomView').hidden = false;
  $('roomInfo').hidden = false;
  $('roomName').textContent = room;
  addTile('self', `${name} (you)`, true);
  if (state.stream) attach('self', state.stream); else setVideoOff('self', true);
  updateControls();
  startCall();
  $('chatInput').focus();
}

async function getMedia() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    banner('This browser cannot use a camera here (a secure https:// page is needed). You can still chat and watch.', 'info');
    return null;
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } });
  } catch (err) {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: false, video: true });
    } catch {
      const why = err && err.name === 'NotAllowedError' ? 'Camera and microphone are blocked for this site.' : 'No camera or microphone could be opened.';
      banner(`${why} You joined without them; others can still see and hear each other, and you can chat.`, 'info');
      return null;
    }
  }
}

// ---- chat -------------------------------------------------------------
function joinChat(room) {
  return new Promise((resolve, reject) => {
    const socket = window.io({ transports: ['websocket', 'polling'], reconnectionAttempts: 10 });
    state.socket = socket;
    let first = true;
    const join = () => socket.timeout(5000).emit('join', room, (err, ack) => {
      if (err || !ack || !ack.ok) {
        if (first) { first = false; socket.close(); reject(new Error('Could not join the chat. Please try again.')); }
        return;
      }
      if (first) { first = false; resolve(); }
    });
    socket.on('connect', join); // also rejoins after a reconnect
    socket.on('connect_error', () => {
      if (first) { first = false; socket.close(); reject(new Error('Cannot reach the server. Is it running?')); }
    });
    socket.on('disconnect', (reason) => {
      if (reason !== 'io client disconnect') banner('Chat connection lost. Reconnecting…', 'info');
    });
    socket.io.on('reconnect', () => { $('banner').hidden = true; });
    socket.on('chat', (msg) => {
      if (msg && typeof msg.text === 'string') addMessage(String(msg.name || 'Someone'), msg.text, false);
    });
  });
}

$('chatForm').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('chatInput').value.trim();
  if (!text || !state.socket) return;
  $('chatInput').value = '';
  addMessage(state.name, text, true);
  state.socket.timeout(5000).emit('publish', { room: state.room, event: 'chat', data: { name: state.name, text } }, (err) => {
    if (err) banner('Your last message may not have been delivered.');
  });
});

function addMessage(who, text, mine) {
  const li = document.createElement('li');
  if (mine) li.className = 'mine';
  const w = document.createElement('span');
  w.className = 'who';
  w.textContent = mine ? 'You' : who;
  li.append(w, document.createTextNode(text));
  li.dataset.from = who;
  li.dataset.text = text;
  $('messages').append(li);
  li.scrollIntoView({ block: 'end' });
}

function systemMessage(text) {
  const li = document.createElement('li');
  li.className = 'system';
  li.textContent = text;
  $('messages').append(li);
  li.scrollIntoView({ block: 'end' });
}

// ---- call -------------------------------------------------------------
// A dropped call connection (server restart, network change) is retried
// with backoff; others see us leave and rejoin, and we offer to them again.
let retries = 0;
let retryTimer = null;

function startCall() {
  const call = new Call({
    room: state.room, name: state.name, stream: state.stream,
    handlers: {
      onJoined: (id, peers) => {
        if (retries > 0) { $('banner').hidden = true; systemMessage('Reconnected to the call'); }
        retries = 0;
        if (peers.length === 0) systemMessage('You are the first one here. Share the invite link!');
      },
      onPeer: (id, name) => {
        addTile(id, name || 'Guest', false);
        systemMessage(`${name || 'A guest'} joined the call`);
      },
      onStream: (id, stream) => attach(id, stream),
      onPeerState: (id, s) => setTileState(id, s === 'connected' ? '' : s === 'failed' ? 'connection failed' : s),
      onPeerLeft: (id, name) => {
        removeTile(id);
        systemMessage(`${name || 'A guest'} left the call`);
      },
      onError: (text, fatal) => banner(fatal ? `${text}` : text),
      onClosed: (unexpected) => {
        if (!unexpected || state.call !== call) return;
        if (retries >= 6) {
          banner('The call connection is lost. Leave and join again to retry; chat keeps working.');
          return;
        }
        const delay = Math.min(1000 * 2 ** retries, 15000);
        retries++;
        banner(`The call connection dropped. Reconnecting in ${Math.round(delay / 1000)} s…`, 'info');
        retryTimer = setTimeout(() => { if (state.call === call) startCall(); }, delay);
      },
    },
  });
  state.call = call;
  call.start();
}

function addTile(id, label, self) {
  if (state.tiles.has(id)) return;
  const tile = document.createElement('div');
  tile.className = 'tile video-off' + (self ? ' self' : '');
  tile.dataset.peer = id;
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = self; // never play yourself back
  const avatar = document.createElement('div');
  avatar.className = 'avatar';
  avatar.textContent = (label.trim()[0] || '?').toUpperCase();
  const name = document.createElement('div');
  name.className = 'name';
  name.textContent = label;
  const st = document.createElement('div');
  st.className = 'state';
  st.hidden = self;
  st.textContent = self ? '' : 'connecting…';
  tile.append(video, avatar, name, st);
  $('tiles').append(tile);
  state.tiles.set(id, tile);
  layout();
}

function attach(id, stream) {
  const tile = state.tiles.get(id);
  if (!tile) return;
  const video = tile.querySelector('video');
  if (video.srcObject !== stream) video.srcObject = stream;
  video.play().catch(() => {});
  const on = () => setVideoOff(id, !stream.getVideoTracks().some((t) => t.enabled && t.readyState === 'live'));
  on();
  video.onloadeddata = on;
}

function setVideoOff(id, off) {
  const tile = state.tiles.get(id);
  if (tile) tile.classList.toggle('video-off', off);
}

function setTileState(id, text) {
  const tile = state.tiles.get(id);
  if (!tile) return;
  const st = tile.querySelector('.state');
  st.textContent = text;
  st.hidden = !text;
}

function removeTile(id) {
  const tile = state.tiles.get(id);
  if (!tile) return;
  tile.remove();
  state.tiles.delete(id);
  layout();
}

function layout() {
  $('tiles').dataset.count = String(Math.min(state.tiles.size, MAX_PEOPLE));
  $('memberCount').textContent = `${state.tiles.size} in call`;
}

// ---- controls ---------------------------------------------------------
function updateControls() {
  const audio = state.stream ? state.stream.getAudioTracks() : [];
  const video = state.stream ? state.stream.getVideoTracks() : [];
  $('micBtn').disabled = audio.length === 0;
  $('camBtn').disabled = video.length === 0;
  const muted = audio.length > 0 && !audio[0].enabled;
  const camOff = video.length > 0 && !video[0].enabled;
  $('micBtn').textContent = muted ? 'Unmute' : 'Mute';
  $('micBtn').setAttribute('aria-pressed', String(muted));
  $('camBtn').textContent = camOff ? 'Start video' : 'Stop video';
  $('camBtn').setAttribute('aria-pressed', String(camOff));
  setVideoOff('self', video.length === 0 || camOff);
}

$('micBtn').onclick = () => {
  for (const t of state.stream ? state.stream.getAudioTracks() : []) t.enabled = !t.enabled;
  updateControls();
};
$('camBtn').onclick = () => {
  for (const t of state.stream ? state.stream.getVideoTracks() : []) t.enabled = !t.enabled;
  updateControls();
};

$('copyLink').onclick = async () => {
  const url = `${location.origin}${location.pathname}?room=${encodeURIComponent(state.room)}`;
  try {
    await navigator.clipboard.writeText(url);
    banner('Invite link copied.', 'info');
  } catch {
    banner(`Share this link: ${url}`, 'info');
  }
};

$('leaveBtn').onclick = () => {
  clearTimeout(retryTimer);
  retries = 0;
  const call = state.call;
  state.call = null;
  if (call) call.leave();
  if (state.socket) state.socket.close();
  if (state.stream) for (const t of state.stream.getTracks()) t.stop();
  for (const id of [...state.tiles.keys()]) removeTile(id);
  Object.assign(state, { socket: null, call: null, stream: null });
  $('messages').replaceChildren();
  $('roomView').hidden = true;
  $('roomInfo').hidden = true;
  $('banner').hidden = true;
  $('lobby').hidden = false;
  $('joinBtn').focus();
};

window.addEventListener('beforeunload', () => {
  if (state.call) state.call.leave();
});

// Tests (and curious people) can tell the page is wired up.
document.documentElement.dataset.ready = 'true';
