// Loads the wasm UI (wasm-bindgen's --target web output); kept out of index.html so the CSP
// needs no inline script.
import init from "./ui.js";
init();
