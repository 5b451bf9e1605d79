// <tiktok-uploader>: the TikTok autoposter's uploader as a custom element for any site.
//
//   <script type="module" src="https://poster.example.com/tiktok-uploader.js"></script>
//   <tiktok-uploader proxy="https://poster.example.com" mode="inbox" ticket="v1.…"></tiktok-uploader>
//
// Attributes: proxy (the autoposter's origin; default: the script's), mode ("direct" | "inbox"),
// caption (editable by the creator), embed-key or ticket (see docs/EMBED.md).
// Events (bubbling, composed): tiktok-upload:start, tiktok-upload:progress {sent, total},
// tiktok-upload:complete {publish_id, status, post_ids}, tiktok-upload:error {code, message}.
// Methods: start(), cancel(), reset().
import init, { mount_uploader } from "./app.js";

const here = new URL(".", import.meta.url);
const ready = init({ module_or_path: new URL("app_bg.wasm", here) });

class TikTokUploader extends HTMLElement {
  async connectedCallback() {
    if (this.shadowRoot) return;
    const root = this.attachShadow({ mode: "open" });
    // Our styles live in the shadow root: the host page's CSS cannot reach in, ours cannot leak out.
    const style = document.createElement("link");
    style.rel = "stylesheet";
    style.href = new URL("style.css", here).href;
    const mount = document.createElement("div");
    mount.className = "tiktok-uploader";
    root.append(style, mount);
    if (!this.hasAttribute("proxy")) this.setAttribute("proxy", here.origin);
    await ready;
    this._handle = mount_uploader(this, mount);
  }

  disconnectedCallback() {
    this._handle?.free();
    this._handle = undefined;
    this.shadowRoot?.replaceChildren();
  }

  /** Arms Post: the person still presses it to send the video (TikTok requires their consent). */
  start() { this._handle?.start(); }
  /** Cancels the upload under way. */
  cancel() { this._handle?.cancel(); }
  /** Clears the form for another video. */
  reset() { this._handle?.reset(); }
}

if (!customElements.get("tiktok-uploader")) customElements.define("tiktok-uploader", TikTokUploader);
