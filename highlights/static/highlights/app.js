/* Highlights front end: hover previews, clip looping, game timeline seeking, the reel editor.
   Plain JavaScript; htmx swaps search results and polls the jobs table; Sortable drags reel items. */
"use strict";

function csrfToken() {
  const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

async function api(url, method, body) {
  const res = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(JSON.stringify(data));
  return data;
}

/* Search grid: hovering a thumbnail plays the clip's time range, muted. */
function hoverPreviews(root) {
  root.querySelectorAll(".thumb[data-preview]").forEach((thumb) => {
    if (thumb.dataset.bound) return;
    thumb.dataset.bound = "1";
    let video = null;
    thumb.addEventListener("mouseenter", () => {
      video = document.createElement("video");
      Object.assign(video, { muted: true, autoplay: true, playsInline: true, src: thumb.dataset.preview });
      video.className = "preview";
      thumb.appendChild(video);
    });
    thumb.addEventListener("mouseleave", () => {
      if (video) video.remove();
      video = null;
    });
  });
}

/* Clip page: play the clip's range and loop it. */
function clipPlayer() {
  const video = document.querySelector("video#player[data-start]");
  if (!video) return;
  const start = parseFloat(video.dataset.start), end = parseFloat(video.dataset.end);
  video.addEventListener("timeupdate", () => {
    if (video.currentTime >= end) video.currentTime = start;
  });
  video.play().catch(() => {});
}

/* Game page: click the curve, a clip band, a scoring event, a score-strip state or a play's shot to seek; the playhead follows. */
function gameTimeline() {
  const svg = document.getElementById("timeline"), video = document.getElementById("player");
  if (!svg || !video) return;
  const duration = parseFloat(svg.dataset.duration), head = document.getElementById("playhead");
  const width = svg.viewBox.baseVal.width;
  svg.addEventListener("click", (ev) => {
    const marker = ev.target.closest("[data-seek]");
    const box = svg.getBoundingClientRect();
    const t = marker ? parseFloat(marker.dataset.seek) : ((ev.clientX - box.left) / box.width) * duration;
    video.currentTime = Math.max(0, Math.min(t, duration));
    video.play().catch(() => {});
  });
  document.querySelectorAll(".timeline .strip").forEach((strip) => {  /* the score strip, the play strip */
    strip.addEventListener("click", (ev) => {
      const band = ev.target.closest("[data-seek]");
      if (!band) return;
      video.currentTime = Math.max(0, Math.min(parseFloat(band.dataset.seek), duration));
      video.play().catch(() => {});
    });
  });
  video.addEventListener("timeupdate", () => {
    const x = (video.currentTime / duration) * width;
    head.setAttribute("x1", x);
    head.setAttribute("x2", x);
  });
}

/* Reel editor: drag to reorder, trim in/out (seconds), title; save through the API; render and poll progress. */
function reelEditor() {
  const root = document.getElementById("reel-editor");
  if (!root) return;
  const list = document.getElementById("items");
  const editable = root.dataset.editable === "1";
  list.querySelectorAll(".item input[data-ms]").forEach((input) => {
    input.value = (parseInt(input.dataset.ms, 10) / 1000).toFixed(1);
  });
  const total = () => {
    let sum = 0;
    list.querySelectorAll(".item").forEach((li) => {
      sum += Math.max(0, parseFloat(li.querySelector(".trim-out").value) - parseFloat(li.querySelector(".trim-in").value));
    });
    document.getElementById("total").textContent = sum.toFixed(1);
  };
  total();
  if (!editable) return;
  let dirty = false;
  const markDirty = () => { dirty = true; total(); };
  Sortable.create(list, { handle: ".handle", animation: 120, onEnd: markDirty });
  list.addEventListener("input", markDirty);
  list.addEventListener("click", (ev) => {
    if (ev.target.classList.contains("remove")) { ev.target.closest(".item").remove(); markDirty(); }
  });
  const title = document.getElementById("reel-title");
  title.addEventListener("input", () => { dirty = true; });

  const bar = document.getElementById("progress"), text = document.getElementById("progress-text");
  const errorLine = document.getElementById("render-error");
  const show = (s) => {
    bar.dataset.status = s.status;
    bar.querySelector("span").style.width = s.progress + "%";
    text.textContent = s.status + (s.status === "rendering" || s.status === "queued" ? " " + s.progress + "%" : "");
    errorLine.textContent = s.status === "failed" ? s.error : "";
    if (s.video_url) {
      const video = document.getElementById("reel-video");
      video.hidden = false;
      if (!video.src.endsWith(s.video_url + "?v=" + s.rendered_version)) video.src = s.video_url + "?v=" + s.rendered_version;
      document.getElementById("links").hidden = false;
    }
  };
  const save = async () => {
    const items = [...list.querySelectorAll(".item")].map((li) => ({
      clip: parseInt(li.dataset.clip, 10),
      trim_in_ms: Math.round(parseFloat(li.querySelector(".trim-in").value) * 1000),
      trim_out_ms: Math.round(parseFloat(li.querySelector(".trim-out").value) * 1000),
    }));
    const reel = await api(root.dataset.api, "PATCH", { title: title.value, items });
    dirty = false;
    show(reel);
    return reel;
  };
  const poll = async () => {
    const s = await api(root.dataset.status, "GET");
    show(s);
    if (s.status === "queued" || s.status === "rendering") setTimeout(poll, 500);
  };
  document.getElementById("save").addEventListener("click", () => save().catch((e) => { errorLine.textContent = e.message; }));
  document.getElementById("render").addEventListener("click", async () => {
    try {
      if (dirty) await save();
      show(await api(root.dataset.render, "POST"));
      poll();
    } catch (e) { errorLine.textContent = e.message; }
  });
  const published = document.getElementById("published");
  if (published) published.addEventListener("change", () => api(root.dataset.api, "PATCH", { published: published.checked }));
  if (bar.dataset.status === "queued" || bar.dataset.status === "rendering") poll();
}

document.addEventListener("DOMContentLoaded", () => {
  hoverPreviews(document);
  clipPlayer();
  gameTimeline();
  reelEditor();
  document.body.addEventListener("htmx:afterSwap", (ev) => hoverPreviews(ev.target));
});
