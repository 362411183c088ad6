// The watch page's player controls, the ones people know from other players: a big play
// button when the browser would not start the video by itself, play/pause, mute and a volume
// slider (in step with each other: the slider at 0 is muted, unmuting brings the last level
// back), "Live" once frames arrive, picture-in-picture where the browser has it, and full
// screen (the whole stage, so the controls come along; on an iPhone the video's own full
// screen). Keys while the player has focus: space/k play-pause, m mute, f full screen.
//
// watch.js owns the stream; it tells the player whether media is attached (setActive) and
// whether frames are arriving (setLive).

import { setAttr } from "./i18n.js";

const IDLE_MS = 3000; // controls fade in full screen after this long without a touch or move

export function setupPlayer({ stage, video }) {
  const el = (id) => document.getElementById(id);
  const playPause = el("play-pause");
  const mute = el("mute");
  const volume = el("volume");
  const fullscreen = el("fullscreen");
  const pip = el("pip");
  const bigPlay = el("play-big");
  const unmute = el("unmute");
  const liveBadge = el("live-badge");

  let active = false; // a stream is attached and should be playing
  let live = false; // frames are arriving
  let lastVolume = 1;
  let idleTimer = null;

  // iPhones ignore video.volume (the buttons on the side set it): no slider there.
  const volumeSettable = (() => {
    const before = video.volume;
    try {
      video.volume = before === 0.5 ? 0.4 : 0.5;
      const ok = video.volume !== before;
      video.volume = before;
      return ok;
    } catch {
      return false;
    }
  })();
  volume.hidden = !volumeSettable;

  const fullscreenElement = () => document.fullscreenElement || document.webkitFullscreenElement || null;
  const canFullscreen = () =>
    Boolean(
      (document.fullscreenEnabled && stage.requestFullscreen) ||
        (document.webkitFullscreenEnabled && stage.webkitRequestFullscreen) ||
        video.webkitEnterFullscreen,
    );
  const canPip = () =>
    Boolean(document.pictureInPictureEnabled && !video.disablePictureInPicture) ||
    (typeof video.webkitSupportsPresentationMode === "function" && video.webkitSupportsPresentationMode("picture-in-picture"));
  const inPip = () =>
    document.pictureInPictureElement === video || video.webkitPresentationMode === "picture-in-picture";

  function sync() {
    const paused = video.paused;
    stage.classList.toggle("is-paused", paused);
    setAttr(playPause, "aria-label", paused ? "player.play" : "player.pause");

    const muted = video.muted || video.volume === 0;
    stage.classList.toggle("is-muted", muted);
    mute.setAttribute("aria-pressed", String(muted));
    setAttr(mute, "aria-label", muted ? "player.unmute" : "player.mute");
    const level = muted ? 0 : video.volume;
    if (Number(volume.value) !== level) volume.value = String(level);
    volume.setAttribute("aria-valuetext", `${Math.round(level * 100)} %`);
    volume.style.setProperty("--fill", `${Math.round(level * 100)}%`);

    const fs = Boolean(fullscreenElement());
    stage.classList.toggle("is-fullscreen", fs);
    setAttr(fullscreen, "aria-label", fs ? "player.exit_fullscreen" : "player.fullscreen");
    fullscreen.hidden = !canFullscreen();

    pip.hidden = !canPip() || !active;
    setAttr(pip, "aria-label", inPip() ? "player.exit_pip" : "player.pip");

    bigPlay.hidden = !(active && paused);
    unmute.hidden = !(live && !paused && video.muted);
    liveBadge.hidden = !live;
    playPause.disabled = !active;
  }

  function play() {
    return video.play().catch(() => {
      // Refused (autoplay rules, power saving): the big play button stays up.
    }).finally(sync);
  }

  function setMuted(muted) {
    if (muted) {
      video.muted = true;
    } else {
      if (video.volume === 0) video.volume = lastVolume || 1;
      video.muted = false;
      if (video.paused && active) play();
    }
    sync(); // now, not at the volumechange event: the buttons never lag the sound
  }

  async function toggleFullscreen() {
    try {
      if (fullscreenElement()) {
        if (screen.orientation && screen.orientation.unlock) screen.orientation.unlock();
        await (document.exitFullscreen ? document.exitFullscreen() : document.webkitExitFullscreen());
      } else if (document.fullscreenEnabled && stage.requestFullscreen) {
        await stage.requestFullscreen({ navigationUI: "hide" });
        // Phones: turn to landscape as video apps do (only allowed in full screen; may be refused).
        if (screen.orientation && screen.orientation.lock) screen.orientation.lock("landscape").catch(() => {});
      } else if (document.webkitFullscreenEnabled && stage.webkitRequestFullscreen) {
        stage.webkitRequestFullscreen();
      } else if (video.webkitEnterFullscreen) {
        video.webkitEnterFullscreen(); // iPhone: the system player's full screen
      }
    } catch {
      // Refused (no user gesture, not allowed): stay as we are.
    }
    sync();
  }

  async function togglePip() {
    try {
      if (inPip()) {
        if (document.exitPictureInPicture && document.pictureInPictureElement) await document.exitPictureInPicture();
        else video.webkitSetPresentationMode("inline");
      } else if (document.pictureInPictureEnabled) {
        await video.requestPictureInPicture();
      } else {
        video.webkitSetPresentationMode("picture-in-picture");
      }
    } catch {
      // Not now (e.g. no frame yet): nothing to say.
    }
    sync();
  }

  function wake() {
    stage.classList.remove("idle");
    clearTimeout(idleTimer);
    if (!fullscreenElement()) return;
    idleTimer = setTimeout(() => {
      if (!video.paused && !stage.contains(document.activeElement)) stage.classList.add("idle");
    }, IDLE_MS);
  }

  playPause.addEventListener("click", () => (video.paused ? play() : video.pause()));
  bigPlay.addEventListener("click", () => play());
  mute.addEventListener("click", () => setMuted(!(video.muted || video.volume === 0)));
  unmute.addEventListener("click", () => setMuted(false));
  volume.addEventListener("input", () => {
    const level = Number(volume.value);
    if (level > 0) {
      video.volume = level;
      lastVolume = level;
      if (video.muted) setMuted(false);
    } else {
      video.muted = true;
    }
    sync();
  });
  fullscreen.addEventListener("click", toggleFullscreen);
  pip.addEventListener("click", togglePip);
  video.addEventListener("dblclick", toggleFullscreen);
  stage.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement || event.altKey || event.ctrlKey || event.metaKey) return;
    const key = event.key.toLowerCase();
    if (key === "f") toggleFullscreen();
    else if (key === "m") setMuted(!(video.muted || video.volume === 0));
    else if ((key === " " || key === "k") && !(event.target instanceof HTMLButtonElement)) {
      if (active) video.paused ? play() : video.pause();
    } else return;
    event.preventDefault();
  });
  for (const type of ["pointermove", "pointerdown", "keydown", "focusin"]) stage.addEventListener(type, wake);
  for (const type of ["play", "pause", "playing", "volumechange", "enterpictureinpicture", "leavepictureinpicture"]) {
    video.addEventListener(type, () => {
      if (type === "volumechange" && !video.muted && video.volume > 0) lastVolume = video.volume;
      sync();
    });
  }
  video.addEventListener("webkitpresentationmodechanged", sync);
  document.addEventListener("fullscreenchange", () => {
    wake();
    sync();
  });
  document.addEventListener("webkitfullscreenchange", sync);
  sync();

  return {
    // A stream is attached (true) or not; when it is, a paused video shows the big play button.
    setActive(value) {
      active = Boolean(value);
      if (!active && inPip() && document.exitPictureInPicture) document.exitPictureInPicture().catch(() => {});
      sync();
    },
    setLive(value) {
      live = Boolean(value);
      sync();
    },
    play,
    sync,
  };
}
