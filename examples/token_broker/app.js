"use strict";
// A voice call with the Realtime API over WebRTC, in one of two flows:
//  - "key": this page asks its server for a short-lived key and posts its SDP offer to
//    {realtime_url}/calls itself, with the key as Bearer token;
//  - "server": this page posts its offer to its server's /call, which opens the call with the
//    server's own key: no key ever reaches the page.
// Events arrive on the "oai-events" data channel; the call ends when that channel closes.
// In the server flow the server also answers the model's tool calls on its own connection to
// the call (a sideband); they show in the event log like every other event.
// Hang up closes the peer connection, which ends the call; a call the server opened is also
// ended there, with the token the server gave this page for it (a call id alone ends nothing).

const state = {
  settings: null, pc: null, channel: null, callId: null, callToken: null, deadline: 0,
  timer: null, meter: null, failed: false,
};
const $ = (id) => document.getElementById(id);
// Moments of the current call (performance.now() ms), for whoever wants to time the page.
window.callTimes = {};

function setState(name, message = "", kind = "") {
  $("state").textContent = name;
  $("state").dataset.state = name;
  $("status").textContent = message;
  $("status").className = kind;
  const busy = name === "getting a key" || name === "connecting" || name === "connected";
  $("call").disabled = busy;
  $("hangup").disabled = !busy;
  $("send-update").disabled = name !== "connected";
  $("respond").disabled = name !== "connected";
}

async function loadSettings() {
  const response = await fetch("/config", { cache: "no-store" });
  state.settings = await response.json();
  $("model").textContent = state.settings.model;
  for (const voice of state.settings.voices) {
    $("voice").add(new Option(voice, voice, false, voice === state.settings.default_voice));
  }
  setState("idle", "Choose a voice and a flow, then start a call.");
}

function chosenFlow() {
  return document.querySelector("input[name=flow]:checked").value;
}

// -- the broker --------------------------------------------------------------------------------

async function brokerRefusal(response) {
  const payload = await response.json().catch(() => ({}));
  const error = payload.error || {};
  let text = error.message || `The server answered HTTP ${response.status}.`;
  if (error.request_id) {
    text += ` (request id ${error.request_id})`;
  }
  return new Error(text);
}

async function getKey() {
  const response = await fetch("/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ voice: $("voice").value }),
    cache: "no-store",
  });
  if (!response.ok) {
    throw await brokerRefusal(response);
  }
  const secret = await response.json();
  $("key").textContent = maskKey(secret.value);
  state.deadline = secret.expires_at * 1000;
  clearInterval(state.timer);
  tick();
  state.timer = setInterval(tick, 250);
  return secret.value;
}

function maskKey(key) {
  return key.length > 16 ? `${key.slice(0, 3)}••••••••${key.slice(-4)}` : "••••";
}

function tick() {
  const left = Math.max(0, Math.ceil((state.deadline - Date.now()) / 1000));
  $("countdown").dataset.seconds = String(left);
  $("countdown").textContent = left > 0 ? `${left} s` : "expired";
  if (left === 0) {
    clearInterval(state.timer);
  }
}

// -- the call ----------------------------------------------------------------------------------

async function startCall() {
  resetCall();
  window.callTimes = { start: performance.now() };
  const flow = chosenFlow();
  try {
    let key = null;
    if (flow === "key") {
      setState("getting a key", "Asking this page's server for a key…");
      key = await getKey();
    }
    setState("connecting", "Connecting…");
    // No STUN or TURN server: the Realtime API's answer carries candidates the browser can reach.
    const pc = new RTCPeerConnection({ iceServers: [] });
    state.pc = pc;
    pc.ontrack = (event) => { $("remote").srcObject = event.streams[0]; };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") {
        fail("The connection failed: no network path to the Realtime API.");
      }
    };
    const microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
    for (const track of microphone.getTracks()) {
      pc.addTrack(track, microphone);
    }
    const channel = pc.createDataChannel("oai-events");
    state.channel = channel;
    channel.onopen = () => connected(pc);
    channel.onmessage = (message) => onEvent(JSON.parse(message.data));
    channel.onclose = () => ended(pc);
    await pc.setLocalDescription(await pc.createOffer());
    const answer = flow === "key" ? await offerWithKey(pc, key) : await offerThroughServer(pc);
    $("call-id").textContent = state.callId || "unknown";
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
  } catch (error) {
    fail(`Could not connect: ${error.message}`);
  }
}

async function offerWithKey(pc, key) {
  const response = await fetch(`${state.settings.realtime_url}/calls`, {
    method: "POST",
    body: pc.localDescription.sdp,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/sdp" },
  });
  if (!response.ok) {
    const payload = await response.json().catch(() => ({}));
    const detail = (payload.error && payload.error.message) || "no reason given";
    const advice = response.status === 401 ? " Get a new key and try again." : "";
    throw new Error(`the Realtime API refused the call (HTTP ${response.status}): ${detail}${advice}`);
  }
  // Location: /v1/realtime/calls/rtc_...; readable only if the API exposes it to pages.
  const location = response.headers.get("Location");
  state.callId = location ? location.split("/").pop() : null;
  return response.text();
}

async function offerThroughServer(pc) {
  const response = await fetch(`/call?voice=${encodeURIComponent($("voice").value)}`, {
    method: "POST",
    body: pc.localDescription.sdp,
    headers: { "Content-Type": "application/sdp" },
  });
  if (!response.ok) {
    throw await brokerRefusal(response);
  }
  state.callId = response.headers.get("X-Call-Id");
  state.callToken = response.headers.get("X-Call-Token");
  $("tools").textContent = response.headers.get("X-Call-Tools") || "none";
  return response.text();
}

function connected(pc) {
  if (state.pc !== pc) {
    return;
  }
  window.callTimes.connected = performance.now();
  setState("connected", "Connected: speak to the assistant.", "ok");
  state.meter = setInterval(() => showLevel(pc), 200);
}

function ended(pc) {
  if (state.pc !== pc) {
    return;
  }
  window.callTimes.ended = performance.now();
  closePeer();
  if (!state.failed) {
    setState("ended", "The call has ended.");
  }
}

function fail(message) {
  state.failed = true;
  closePeer();
  setState("error", message, "error");
}

async function hangUp() {
  const pc = state.pc;
  window.callTimes.hangup = performance.now();
  setState("ending", "Hanging up…");
  if (state.callId && state.callToken) {
    // The server ends the call it opened at OpenAI; the data channel then closes by itself.
    const response = await fetch("/hangup", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ call_id: state.callId, call_token: state.callToken }),
    }).catch(() => null);
    $("hangup-result").textContent = response ? `HTTP ${response.status}` : "unreachable";
  } else {
    // This page opened the call itself: closing its connection ends it.
    $("hangup-result").textContent = "connection closed";
  }
  if (state.pc === pc && pc) {
    ended(pc);
  }
}

function closePeer() {
  clearInterval(state.meter);
  clearInterval(state.timer);
  if (state.pc) {
    for (const sender of state.pc.getSenders()) {
      if (sender.track) {
        sender.track.stop();
      }
    }
    state.pc.close();
  }
  state.pc = null;
  state.channel = null;
}

function resetCall() {
  closePeer();
  state.failed = false;
  state.callId = null;
  state.callToken = null;
  for (const id of ["session-model", "session-voice", "call-id", "key", "countdown", "tools", "hangup-result"]) {
    $(id).textContent = "–";
  }
  $("events").replaceChildren();
  $("level").value = 0;
  $("packets").textContent = "0";
  $("packets").dataset.packets = "0";
}

// -- what arrives ------------------------------------------------------------------------------

function onEvent(event) {
  const item = document.createElement("li");
  item.dataset.type = event.type;
  item.textContent = event.type + describe(event);
  $("events").append(item);
  while ($("events").children.length > 100) {
    $("events").firstChild.remove();
  }
  $("events").scrollTop = $("events").scrollHeight;
  if (event.type === "session.created" || event.type === "session.updated") {
    const session = event.session || {};
    $("session-model").textContent = session.model || "–";
    const voice = session.audio && session.audio.output && session.audio.output.voice;
    $("session-voice").textContent = voice || "–";
  }
}

function describe(event) {
  if (event.type === "error") {
    return `: ${(event.error && event.error.message) || "no message"}`;
  }
  // The model calls a tool; the server answers it on its own connection to the call.
  if (event.type === "response.function_call_arguments.done") {
    return `: ${event.name}(${event.arguments})`;
  }
  const item = event.item || {};
  if (event.type === "conversation.item.done" && item.type === "function_call_output") {
    return `: ${item.output}`;
  }
  if (typeof event.transcript === "string" || typeof event.text === "string") {
    return `: ${event.transcript || event.text}`;
  }
  if (typeof event.delta === "string") {
    return `: ${event.delta}`;
  }
  return "";
}

function send(event) {
  if (state.channel && state.channel.readyState === "open") {
    state.channel.send(JSON.stringify(event));
  }
}

async function showLevel(pc) {
  let packets = 0;
  let level = 0;
  (await pc.getStats()).forEach((report) => {
    if (report.type === "inbound-rtp" && report.kind === "audio") {
      packets += report.packetsReceived || 0;
      level = Math.max(level, report.audioLevel || 0);
    }
  });
  if (state.pc === pc) {
    $("level").value = level;
    $("packets").textContent = String(packets);
    $("packets").dataset.packets = String(packets);
  }
}

$("call").addEventListener("click", startCall);
$("hangup").addEventListener("click", hangUp);
$("send-update").addEventListener("click", () => send({
  type: "session.update",
  session: { type: "realtime", instructions: "Answer in one short sentence." },
}));
$("respond").addEventListener("click", () => send({ type: "response.create" }));
loadSettings().catch((error) => setState("error", `Could not load settings: ${error.message}`, "error"));
