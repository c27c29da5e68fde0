/*
 * Small DOM helpers shared by the console's modules. Text is always set with
 * textContent: nothing from the API is ever parsed as HTML.
 */
import { t } from "./i18n.js";

export function $(id) {
  return document.getElementById(id);
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function trim(text) {
  return String(text == null ? "" : text).replace(/^\s+|\s+$/g, "");
}

/** A button (type=button) with a translated label; ``onClick`` runs on click. */
export function button(label, className, onClick) {
  const node = el("button", className || null, label);
  node.type = "button";
  if (onClick) node.addEventListener("click", onClick);
  return node;
}

/** Put ``text`` on the clipboard; resolves true when it worked. */
export function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text).then(() => true, () => fallbackCopy(text));
  }
  return Promise.resolve(fallbackCopy(text));
}

function fallbackCopy(text) {
  const area = el("textarea", "visually-hidden");
  area.value = text;
  area.setAttribute("readonly", "");
  document.body.appendChild(area);
  area.select();
  let done = false;
  try {
    done = document.execCommand("copy");
  } catch (err) {
    done = false;
  }
  document.body.removeChild(area);
  return done;
}

/**
 * A small "Copy" button for ``value`` (``what`` names it for screen readers:
 * "Copy the transaction hash"). It says "Copied" for a moment after a click.
 */
export function copyButton(value, what) {
  const node = button(t("Copy"), "copy-button");
  node.setAttribute("data-testid", "copy");
  node.setAttribute("data-copy", value);
  node.setAttribute("aria-label", t("Copy {what}", { what: what }));
  node.title = t("Copy {what}", { what: what });
  node.addEventListener("click", () => {
    copyText(value).then((ok) => {
      node.textContent = ok ? t("Copied") : t("Copy failed");
      node.setAttribute("data-state", ok ? "copied" : "failed");
      window.setTimeout(() => {
        node.textContent = t("Copy");
        node.removeAttribute("data-state");
      }, 1500);
    });
  });
  return node;
}
