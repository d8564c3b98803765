// Loads the wasm UI (wasm-bindgen's --target web output); kept out of index.html so the CSP
// needs no inline script. Load failures are kept for the end-to-end tests to report.
window.__clinituneErrors = [];
const keep = (what) => window.__clinituneErrors.push(String(what));
window.addEventListener("error", (e) => keep(e.message));
window.addEventListener("unhandledrejection", (e) => keep(e.reason));
document.addEventListener("securitypolicyviolation", (e) => keep(`CSP blocked ${e.blockedURI} (${e.violatedDirective})`));
import("./ui.js").then((m) => m.default()).catch(keep);
