/* Influence Ledger click-id snippet: keeps the click id from the landing page until the order.
   First-party only: a cookie and localStorage on the shop's own domain, no requests elsewhere.
   window.influenceLedger.clickId() gives the id (or null); it never throws. */
(function (w, d) {
  "use strict";
  var PARAM = __PARAM__, DAYS = __DAYS__, KEY = "il_click", ID = /^[A-Za-z0-9_-]{29,200}$/;
  var script = d.currentScript;

  function fromUrl() {
    try {
      var v = new URLSearchParams(w.location.search).get(PARAM);
      return v && ID.test(v) ? v : null;
    } catch (e) { return null; }
  }
  function readCookie() {
    try {
      var m = d.cookie.match(new RegExp("(?:^|;\\s*)" + KEY + "=([^;]*)"));
      var v = m ? decodeURIComponent(m[1]) : null;
      return v && ID.test(v) ? v : null;
    } catch (e) { return null; }
  }
  function writeCookie(id) {
    try {
      d.cookie = KEY + "=" + encodeURIComponent(id) + "; Max-Age=" + DAYS * 86400 + "; Path=/; SameSite=Lax" +
        (w.location.protocol === "https:" ? "; Secure" : "");
    } catch (e) { /* cookies refused */ }
  }
  function readStore() {
    try {
      var o = JSON.parse(w.localStorage.getItem(KEY) || "null");
      if (o && o.exp > Date.now() && ID.test(o.id)) return o.id;
      if (o) w.localStorage.removeItem(KEY);
    } catch (e) { /* storage refused */ }
    return null;
  }
  function writeStore(id) {
    try { w.localStorage.setItem(KEY, JSON.stringify({ id: id, exp: Date.now() + DAYS * 864e5 })); } catch (e) { /* refused */ }
  }

  var landed = fromUrl();
  if (landed) { writeCookie(landed); writeStore(landed); }

  function clickId() {
    try { return landed || readCookie() || readStore() || null; } catch (e) { return null; }
  }

  // Shopify: the id as a cart attribute, which the order carries in note_attributes.
  function toShopifyCart(id) {
    try {
      var root = (w.Shopify.routes && w.Shopify.routes.root) || "/", attributes = {};
      attributes[PARAM] = id;
      w.fetch(root + "cart/update.js", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ attributes: attributes })
      }).catch(function () {});
    } catch (e) { /* no fetch, or no cart */ }
  }

  // Opt-in (data-stripe-links on the script tag): Stripe Payment Links carry the id as client_reference_id.
  function decorateStripeLinks(id) {
    try {
      var links = d.querySelectorAll('a[href^="https://buy.stripe.com/"]');
      for (var i = 0; i < links.length; i++) {
        var url = new URL(links[i].href);
        url.searchParams.set("client_reference_id", id);
        links[i].href = url.toString();
      }
    } catch (e) { /* leave the links as they are */ }
  }

  var id = clickId();
  if (id && w.Shopify && typeof w.fetch === "function") toShopifyCart(id);
  if (id && script && script.hasAttribute("data-stripe-links")) {
    if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", function () { decorateStripeLinks(id); });
    else decorateStripeLinks(id);
  }

  w.influenceLedger = { clickId: clickId, param: PARAM, days: DAYS };
})(window, document);
