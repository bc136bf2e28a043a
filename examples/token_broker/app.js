"use strict";
// Fetches an ephemeral key from this page's server and, on request, opens a WebRTC call to the
// Realtime API with it. The key lives in memory only; the page shows a masked form.

const state = { key: null, model: null, realtimeUrl: null, deadline: 0, timer: null, pc: null };
const $ = (id) => document.getElementById(id);

function showStatus(text, kind = "") {
  $("status").textContent = text;
  $("status").className = kind;
}

function maskKey(key) {
  return key.length > 16 ? `${key.slice(0, 3)}••••••••${key.slice(-4)}` : "••••";
}

async function loadSettings() {
  const response = await fetch("/config", { cache: "no-store" });
  const settings = await response.json();
  state.realtimeUrl = settings.realtime_url;
  $("model").textContent = settings.model;
  for (const voice of settings.voices) {
    const option = new Option(voice, voice, false, voice === settings.default_voice);
    $("voice").add(option);
  }
}

async function getKey() {
  $("get-key").disabled = true;
  showStatus("Asking the server for a key…");
  let holdSeconds = 0;
  try {
    const response = await fetch("/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ voice: $("voice").value }),
      cache: "no-store",
    });
    const payload = await response.json().catch(() => ({}));
    if (response.ok) {
      useKey(payload);
    } else {
      holdSeconds = showRefusal(response, payload);
    }
  } catch (error) {
    showStatus(`Could not reach the server: ${error.message}`, "error");
  } finally {
    // After "try again in N s", keep the button off for those N seconds.
    setTimeout(() => { $("get-key").disabled = false; }, holdSeconds * 1000);
  }
}

function showRefusal(response, payload) {
  const error = payload.error || {};
  let text = error.message || `The server answered HTTP ${response.status}.`;
  if (error.request_id) {
    text += ` (request id ${error.request_id})`;
  }
  showStatus(text, "error");
  const wait = Number(error.retry_after || response.headers.get("Retry-After") || 0);
  return Number.isFinite(wait) && wait > 0 ? wait : 0;
}

function useKey(payload) {
  state.key = payload.client_secret.value;
  state.model = payload.model;
  state.deadline = performance.now() + payload.expires_in * 1000;
  $("model").textContent = payload.model;
  $("voice-used").textContent = payload.voice;
  $("key").textContent = maskKey(state.key);
  $("request-id").textContent = payload.request_id || "–";
  $("connect").disabled = state.pc !== null;
  showStatus("Key ready: connect before it expires.", "ok");
  clearInterval(state.timer);
  tick();
  state.timer = setInterval(tick, 250);
}

function tick() {
  const left = Math.max(0, Math.ceil((state.deadline - performance.now()) / 1000));
  const countdown = $("countdown");
  countdown.dataset.seconds = String(left);
  countdown.textContent = left > 0 ? `${left} s` : "expired";
  countdown.className = left > 0 ? "" : "expired";
  if (left === 0) {
    clearInterval(state.timer);
    state.key = null;
    $("connect").disabled = state.pc === null;
  }
}

// The only part that needs the internet: WebRTC to the Realtime API, authorised by the key.
async function connect() {
  if (state.pc) {
    hangUp();
    showStatus("Call ended.");
    return;
  }
  const key = state.key;
  if (!key) {
    return;
  }
  $("connect").disabled = true;
  showStatus("Connecting…");
  const pc = new RTCPeerConnection();
  state.pc = pc;
  try {
    const speaker = new Audio();
    speaker.autoplay = true;
    pc.ontrack = (event) => { speaker.srcObject = event.streams[0]; };
    const microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
    for (const track of microphone.getTracks()) {
      pc.addTrack(track, microphone);
    }
    const events = pc.createDataChannel("oai-events");
    events.addEventListener("message", (message) => logEvent(JSON.parse(message.data)));
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const url = `${state.realtimeUrl}?model=${encodeURIComponent(state.model)}`;
    const answer = await fetch(url, {
      method: "POST",
      body: offer.sdp,
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/sdp" },
    });
    if (!answer.ok) {
      throw new Error(`the Realtime API answered HTTP ${answer.status}`);
    }
    await pc.setRemoteDescription({ type: "answer", sdp: await answer.text() });
    state.key = null;  // a key opens one call
    $("connect").textContent = "Hang up";
    showStatus("Connected: speak to the assistant.", "ok");
  } catch (error) {
    hangUp();
    showStatus(`Could not connect: ${error.message}`, "error");
  } finally {
    $("connect").disabled = false;
  }
}

function hangUp() {
  if (state.pc) {
    for (const sender of state.pc.getSenders()) {
      if (sender.track) {
        sender.track.stop();
      }
    }
    state.pc.close();
    state.pc = null;
  }
  $("connect").textContent = "Connect (microphone)";
  $("connect").disabled = state.key === null;
}

function logEvent(event) {
  const item = document.createElement("li");
  item.textContent = event.type;
  $("events").prepend(item);
  while ($("events").children.length > 20) {
    $("events").lastChild.remove();
  }
}

$("get-key").addEventListener("click", getKey);
$("connect").addEventListener("click", connect);
loadSettings().catch((error) => showStatus(`Could not load settings: ${error.message}`, "error"));
